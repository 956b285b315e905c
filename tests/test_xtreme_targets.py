"""XTREME-R targets through the pipeline (tiny preset, hub rows fed by hand in each dataset's real row shape):
English training, zero-shot scores per language, QA spans, MLQA normalisation, reuse, results rows, errors."""

import json
import shutil

import pytest
import torch
from conftest import TINY

import xitcore.tasks.qa as kqa
import xitcore.tasks.registry as kreg
from xitcore.config import config_identity, load_condition
from xitcore.errors import ConfigError, DataError
from xitcore.pipeline import run_condition
from xitcore.results import load_results
from xitcore.runstore import RunStore

torch.set_num_threads(1)

WORDS = {
    "en": ["the", "man", "walks", "to", "the", "house", "and", "reads", "a", "book", "in", "the", "garden"],
    "de": ["der", "Mann", "geht", "in", "das", "Haus", "und", "liest", "ein", "Buch", "im", "Garten"],
    "es": ["el", "hombre", "camina", "a", "la", "casa", "y", "lee", "un", "libro", "en", "el", "jardín"],
}
CITIES = {
    "en": ["London", "Paris", "Berlin", "Madrid"],
    "de": ["München", "Köln", "Wien", "Hamburg"],
    "es": ["Sevilla", "Bilbao", "Granada", "Toledo"],
}


def _sentence(lang, k, n=8):
    w = WORDS[lang]
    return " ".join(w[(k + j) % len(w)] for j in range(n))


def _nli_rows(lang, n, xtreme):
    rows = []
    for k in range(n):
        a, b, label = _sentence(lang, k), _sentence(lang, k + 1, 5), k % 3
        if xtreme:  # google/xtreme XNLI: every language in one config, the label as a string
            rows.append(
                {
                    "language": lang,
                    "sentence1": a,
                    "sentence2": b,
                    "gold_label": ["entailment", "neutral", "contradiction"][label],
                }
            )
        else:  # nyu-mll/glue mnli
            rows.append({"premise": a, "hypothesis": b, "label": label, "idx": k})
    return rows


def _panx_rows(lang, n):
    rows = []
    for k in range(n):
        city = CITIES[lang][k % 4]
        tokens = _sentence(lang, k, 5).split() + [city, "."]
        rows.append({"tokens": tokens, "ner_tags": [0] * 5 + [5, 0], "langs": [lang] * len(tokens)})
    return rows


def _qa_rows(lang, n, prefix):
    rows = []
    for k in range(n):
        city = CITIES[lang][k % 4]
        context = f"{_sentence(lang, k, 12)} {city} {_sentence(lang, k + 3, 14)}."  # more than one 48-token window
        rows.append(
            {
                "id": f"{prefix}-{lang}-{k}",
                "title": "t",
                "context": context,
                "question": f"{_sentence(lang, k + 2, 4)} ?",
                "answers": {"text": [city], "answer_start": [context.index(city)]},
            }
        )
    return rows


def _copa_rows(lang, n):  # aps/super_glue copa and cambridgeltl/xcopa share these fields
    return [
        {
            "premise": _sentence(lang, k),
            "choice1": _sentence(lang, k + 1, 4),
            "choice2": _sentence(lang, k + 2, 4),
            "question": ["cause", "effect"][k % 2],
            "idx": k,
            "label": k % 2,
        }
        for k in range(n)
    ]


def _siqa_rows(n):  # allenai/social_i_qa: three answers, label "1".."3"
    return [
        {
            "context": _sentence("en", k),
            "question": "What happens next?",
            "answerA": _sentence("en", k + 1, 4),
            "answerB": _sentence("en", k + 2, 4),
            "answerC": _sentence("en", k + 3, 4),
            "label": str(1 + k % 3),
        }
        for k in range(n)
    ]


def _pawsx_rows(lang, n):  # google/xtreme PAWS-X.<lang>
    return [
        {"id": str(k), "sentence1": _sentence(lang, k), "sentence2": _sentence(lang, k + 1), "label": k % 2}
        for k in range(n)
    ]


def _udpos_rows(lang, n):  # google/xtreme udpos.<Language>: pos_tags as UPOS class ids
    return [{"tokens": _sentence(lang, k, 6).split(), "pos_tags": [5, 7, 15, 1, 5, 7]} for k in range(n)]


def _tydiqa_rows(names, n):  # google/xtreme tydiqa: one config, the language in the id prefix
    rows = []
    for name, lang in names:
        rows += [{**r, "id": f"{name}-{r['id']}"} for r in _qa_rows(lang, n, "tydiqa")]
    return rows


def fake_hub(calls):
    """load_hub_rows(task, dataset, config, split) over hand-written rows in the hub datasets' shapes."""
    table = {
        ("nyu-mll/glue", "mnli", "train"): _nli_rows("en", 16, xtreme=False),
        ("google/xtreme", "XNLI", "test"): sum((_nli_rows(l, 6, xtreme=True) for l in ("en", "de", "es")), []),
        ("google/xtreme", "PAN-X.en", "train"): _panx_rows("en", 16),
        ("google/xtreme", "PAN-X.de", "test"): _panx_rows("de", 6),
        ("google/xtreme", "PAN-X.es", "test"): _panx_rows("es", 6),
        ("rajpurkar/squad", None, "train"): _qa_rows("en", 12, "squad"),
        ("google/xtreme", "XQuAD.de", "validation"): _qa_rows("de", 5, "xquad"),
        ("google/xtreme", "XQuAD.es", "validation"): _qa_rows("es", 5, "xquad"),
        ("google/xtreme", "MLQA.de.de", "test"): _qa_rows("de", 5, "mlqa"),
        ("google/xtreme", "MLQA.es.es", "test"): _qa_rows("es", 5, "mlqa"),
        ("google/xtreme", "PAWS-X.en", "train"): _pawsx_rows("en", 8),
        ("google/xtreme", "PAWS-X.de", "test"): _pawsx_rows("de", 4),
        ("aps/super_glue", "copa", "train"): _copa_rows("en", 8),
        ("allenai/social_i_qa", None, "train"): _siqa_rows(9),
        ("cambridgeltl/xcopa", "it", "test"): _copa_rows("es", 4),
        ("google/xtreme", "udpos.English", "train"): _udpos_rows("en", 8),
        ("google/xtreme", "udpos.German", "test"): _udpos_rows("de", 4),
        ("google/xtreme", "tydiqa", "train"): _tydiqa_rows([("english", "en"), ("finnish", "de")], 6),
        ("google/xtreme", "tydiqa", "validation"): _tydiqa_rows([("english", "en"), ("finnish", "de")], 3),
    }

    def load(task, dataset, config, split):
        calls.append((task, dataset, config, split))
        return [dict(r) for r in table[(dataset, config, split)]]

    return load


HUB = {
    "condition": "xtreme",
    "backend": "hub",
    "target": {"tasks": ["xnli", "panx", "xquad", "mlqa", "pawsx", "xcopa", "udpos", "tydiqa"]},
    "eval": {
        "xnli_languages": ["en", "de"],
        "panx_languages": ["de", "es"],
        "xquad_languages": ["de", "es"],
        "mlqa_languages": ["es", "de"],
        "pawsx_languages": ["de"],
        "xcopa_languages": ["it"],
        "udpos_languages": ["de"],
        "tydiqa_languages": ["en", "fi"],
        # The tiny MLM corpus holds XQuAD contexts (en, de, es): the guard refuses the xquad target unless allowed.
        "allow_overlap": ["XQuAD"],
    },
}


@pytest.fixture
def runs(tiny_runs, tmp_path):
    out = tmp_path / "runs"
    shutil.copytree(tiny_runs, out)  # phase (i) done; the shared store's index stays untouched
    return out


def test_xtreme_targets_train_evaluate_reuse_and_report(runs, monkeypatch):
    calls, mlqa_langs = [], []
    monkeypatch.setattr(kreg, "load_hub_rows", fake_hub(calls))
    real_mlqa = kqa.mlqa_f1_em

    def spy(gold, pred, lang):
        mlqa_langs.append(lang)
        return real_mlqa(gold, pred, lang)

    monkeypatch.setattr(kqa, "mlqa_f1_em", spy)

    cfg = load_condition(TINY / "none.yaml", HUB)
    idx = run_condition(cfg, runs)
    targets = idx["seeds"]["1"]["targets"]
    assert idx["train_test_overlap"] == {"XQuAD": "the MLM corpus"}  # allowed, and flagged for the book
    assert set(targets) == set(HUB["target"]["tasks"])
    m = {t: json.loads((runs / rel / "metrics.json").read_text()) for t, rel in targets.items()}
    assert m["xnli"]["train_examples"] == 16 and m["xnli"]["kind"] == "classification"
    assert set(m["xnli"]["languages"]) == {"en", "de"} and m["xnli"]["languages"]["de"]["examples"] == 6
    assert set(m["panx"]["languages"]) == {"de", "es"}
    for task, names in (
        ("xnli", ["accuracy"]),
        ("panx", ["span_f1", "precision", "recall"]),
        ("xquad", ["f1", "exact_match"]),
        ("mlqa", ["f1", "exact_match"]),
        ("pawsx", ["accuracy"]),
        ("xcopa", ["accuracy"]),
        ("udpos", ["accuracy", "seqeval_f1"]),
        ("tydiqa", ["f1", "exact_match"]),
    ):
        for lang, d in m[task]["languages"].items():
            for name in names:
                assert 0 <= d[name] <= 100, (task, lang, name, d)
    assert m["tydiqa"]["train_examples"] == 6 and m["tydiqa"]["languages"]["fi"]["examples"] == 3  # English ids only
    assert m["xcopa"]["kind"] == "multiple_choice" and m["udpos"]["languages"]["de"]["examples"] == 4
    # XTREME-R's XCOPA recipe: SIQA (three answers) first, then COPA (two), with one multiple-choice head
    assert m["xcopa"]["pretrain"]["examples"] == 9 and m["xcopa"]["pretrain"]["steps"] >= 1
    assert m["xcopa"]["train_examples"] == 8 and "SIQA" in m["xcopa"]["pretrain"]["data"]
    assert m["xnli"]["avg"]["accuracy"] == m["xnli"]["languages"]["de"]["accuracy"]  # English left out of avg

    # QA answers are spans of their own context, and MLQA is scored with MLQA's per-language normaliser.
    for task in ("xquad", "mlqa"):
        for lang in ("de", "es"):
            preds = json.loads((runs / targets[task] / "predictions" / f"{lang}.json").read_text())
            rows = {r["id"]: r for r in _qa_rows(lang, 5, task)}
            assert set(preds) == set(rows)
            assert all(p and p in rows[i]["context"] for i, p in preds.items())
            if task == "mlqa":
                ids = sorted(preds)
                want = real_mlqa([rows[i]["answers"]["text"] for i in ids], [preds[i] for i in ids], lang)
                assert m["mlqa"]["languages"][lang]["f1"] == round(100 * want["f1"], 2)
    assert sorted(mlqa_langs) == ["de", "es"]  # mlqa only: XQuAD keeps the SQuAD normalisation

    # A rerun reuses every step: no training, no hub access.
    stamps = {s.rel: (s.path / "metrics.json").stat().st_mtime for s in RunStore(runs).all_steps()}
    monkeypatch.setattr(kreg, "load_hub_rows", lambda *a: pytest.fail(f"hub loaded on a rerun: {a}"))
    run_condition(cfg, runs)
    assert {s.rel: (s.path / "metrics.json").stat().st_mtime for s in RunStore(runs).all_steps()} == stamps

    df = load_results(runs)
    got = set(zip(df.task, df.language, df.metric))
    assert {
        ("xnli", "de", "accuracy"),
        ("xnli", "avg", "accuracy"),
        ("panx", "es", "span_f1"),
        ("xquad", "de", "f1"),
        ("xquad", "es", "exact_match"),
        ("mlqa", "avg", "f1"),
        ("udpos", "de", "seqeval_f1"),
        ("xcopa", "it", "accuracy"),
        ("pawsx", "de", "accuracy"),
        ("tydiqa", "fi", "exact_match"),
    } <= got
    assert ("panx", "es", "precision") not in got  # headline metrics only
    row = df[(df.task == "xquad") & (df.language == "de") & (df.metric == "f1")].iloc[0]
    assert row.phase == "target" and row.value == m["xquad"]["languages"]["de"]["f1"]
    assert {("none", "pos"), ("none", "ner"), ("xtreme", "xnli")} <= set(zip(df.condition, df.task))


def test_offline_fails_at_once_and_writes_nothing(runs):
    cfg = load_condition(
        TINY / "none.yaml", {**HUB, "target": {"tasks": ["pawsx"]}, "eval": {"pawsx_languages": ["de"]}}
    )
    before = {s.rel for s in RunStore(runs).all_steps("target")}
    with pytest.raises(DataError) as e:
        run_condition(cfg, runs)  # conftest sets HF_HUB_OFFLINE: kinds refuses to download
    assert "task 'pawsx'" in str(e.value) and "unreachable" in str(e.value) and "\n" not in str(e.value)
    assert {s.rel for s in RunStore(runs).all_steps("target")} == before


@pytest.mark.quick
def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match=r"target task 'xnli' needs hub data \(backend: hub\).*allowed: pos, ner"):
        load_condition(TINY / "none.yaml", {"target": {"tasks": ["pos", "xnli"]}})
    with pytest.raises(
        ConfigError, match=r"eval.mlqa_languages: task 'mlqa': language 'fr' is not evaluated; allowed: "
    ):
        load_condition(TINY / "none.yaml", {**HUB, "eval": {"mlqa_languages": ["fr"]}})
    with pytest.raises(ConfigError, match="target.max_train_examples must be >= 0"):
        load_condition(TINY / "none.yaml", {**HUB, "target": {"tasks": ["xnli"], "max_train_examples": -1}})
    cfg = load_condition(TINY / "none.yaml", {"backend": "hub"})
    assert cfg.eval.udpos_languages[:3] == ["af", "ar", "bg"] and "wo" not in cfg.eval.udpos_languages  # no hub source
    assert cfg.eval.mlqa_languages == ["en", "es", "de", "ar", "hi", "vi", "zh"]


@pytest.mark.quick
def test_new_keys_at_defaults_keep_the_index_hash():
    d = load_condition(TINY / "none.yaml").to_dict()
    old = json.loads(json.dumps(d))
    del old["target"]["max_train_examples"]
    for t in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa"):
        del old["eval"][f"{t}_languages"]
    del (
        old["eval"]["pos_treebanks"],
        old["eval"]["split"],
        old["eval"]["max_sentences"],
        old["eval"]["ner_max_sentences"],
        old["target"]["word_input"],
        old["target"]["word_input_languages"],
    )
    del old["intermediate"]["dev_fraction"], old["mlm"]["output_vocab"]
    for k in ("keep_layers", "random_init", "freeze_word_embeddings", "freeze_layers"):
        del old["model"][k]
    assert config_identity(d) == config_identity(old)
    d["eval"]["xnli_languages"] = ["de"]
    assert config_identity(d) != config_identity(old)


def test_plan_describes_xtreme_targets_offline(tmp_path):
    from xitcore.plan import build_plan

    cfg = load_condition(
        TINY / "none.yaml", {**HUB, "target": {"tasks": ["xnli", "xquad"], "max_train_examples": 1000}}
    )
    plan = build_plan(cfg, tmp_path / "runs")
    targets = [s for s in plan.steps if s.kind == "target"]
    assert len(targets) == 2 and all(s.train_tokens > 0 and s.infer_tokens > 0 for s in targets)
    assert any("rajpurkar/squad train, 1,000 examples" in d for d in plan.datasets)
    assert plan.languages["xquad (XTREME-R target, hub)"] == ["de", "es"]
    assert not (tmp_path / "runs").exists()
