"""The paper preset is the paper: XTREME targets with jiant's settings, ANLI+ (SNLI + MNLI + ANLI R1-R3 under one
head), XTREME translate-train data, size-matched; hub rows fed by hand in each data set's real row shape."""

from pathlib import Path

import pytest

import xitcore.tasks.registry as kreg
from xitcore.config import load_condition
from xitcore.errors import ConfigError, DataError
from xitcore.pipeline import _protocol_key

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

PAPER = Path(__file__).resolve().parents[1] / "params" / "paper"


def _pair(k, label):
    return {"premise": f"premise number {k}", "hypothesis": f"hypothesis {k}", "label": label}


def test_paper_targets_are_the_xtreme_tasks_with_jiants_settings():
    cfg = load_condition(PAPER / "en-mnli.yaml")
    tc = cfg.target
    assert tc.tasks == ["udpos", "panx", "xnli", "pawsx", "xquad", "mlqa", "tydiqa"]
    # d_write_configs.sh: epochs, batch 4 × accumulation; c_tokenize_and_cache.sh: QA 384; e_run_models.sh
    assert {t: tc.epochs_for(t) for t in tc.tasks} == {
        "udpos": 10, "panx": 10, "xnli": 2, "pawsx": 5, "xquad": 2, "mlqa": 2, "tydiqa": 2
    }  # fmt: skip
    assert {t: tc.batch_size_for(t) for t in tc.tasks} == {
        "udpos": 32, "panx": 32, "xnli": 32, "pawsx": 32, "xquad": 16, "mlqa": 16, "tydiqa": 16
    }  # fmt: skip
    assert [tc.max_length_for(t, cfg.model.max_length) for t in ("udpos", "xquad", "mlqa", "tydiqa")] == [
        256, 384, 384, 384
    ]  # fmt: skip
    assert tc.lr == 1e-5 and tc.early_stopping and tc.eval_every_steps == 1000 and tc.patience == 30
    assert tc.dev_examples == 500  # jiant eval_subset_num
    assert _protocol_key(cfg, "xnli") == {
        "early_stopping": {"eval_every_steps": 1000, "patience": 30, "dev_examples": 500}
    }
    # XTREME (v1) languages: the paper's, not XTREME-R's additions
    assert len(cfg.eval.panx_languages) == 40 and "qu" not in cfg.eval.panx_languages
    assert cfg.eval.xquad_languages == list(kreg.XTREME_LANGS["xquad"]) and len(cfg.eval.udpos_languages) == 33
    assert cfg.eval.tatoeba_layer == 14 and len(cfg.eval.tatoeba_languages) == 36


def test_tydiqa_early_stops_on_the_english_goldp_dev_questions(monkeypatch):
    rows = [  # google/xtreme tydiqa: one config, the language in the id prefix
        {"id": f"{name}-{k}", "title": "t", "context": "Paris is in France.", "question": "Where is Paris?",
         "answers": {"text": ["France"], "answer_start": [12]}}
        for name in ("english", "finnish") for k in range(3)
    ]  # fmt: skip
    monkeypatch.setattr(kreg, "load_hub_rows", lambda task, d, c, split: rows if split == "validation" else [])
    dev = kreg.load_dev("tydiqa")
    assert [e["id"] for e in dev] == ["english-0", "english-1", "english-2"]


def test_anliplus_pools_snli_mnli_and_anli_under_one_head(monkeypatch):
    calls = []
    table = {
        ("stanfordnlp/snli", None, "train"): [_pair(0, 0), _pair(1, -1), _pair(2, 2)],  # -1: no gold label
        ("nyu-mll/glue", "mnli", "train"): [{**_pair(3, 1), "idx": 0}],
        ("facebook/anli", None, "train_r1+train_r2+train_r3"): [
            {**_pair(4, 2), "uid": "a1", "reason": ""},
            {**_pair(5, 0), "uid": "a2", "reason": ""},
        ],
    }

    def load(task, dataset, config, split):
        calls.append((dataset, config, split))
        return table[(dataset, config, split)]

    monkeypatch.setattr(kreg, "load_hub_rows", load)
    task, examples = kreg.load_task_examples("anliplus", "en", "hub")
    assert [c[0] for c in calls] == ["stanfordnlp/snli", "nyu-mll/glue", "facebook/anli"]
    assert [e["text_a"] for e in examples] == [f"premise number {k}" for k in (0, 2, 3, 4, 5)]
    assert task.labels == ("entailment", "neutral", "contradiction") and task.kind == "classification"
    cfg = load_condition(PAPER / "en-anli.yaml")
    assert cfg.intermediate.tasks == ["anliplus"]
    assert cfg.intermediate.steps == 3 * -(-1_104_934 // 4)  # SNLI 549,367 + MNLI 392,702 + ANLI 162,865
    multi = load_condition(PAPER / "en-multitask.yaml").intermediate
    assert "anliplus" in multi.tasks and "anli" not in multi.tasks and multi.steps == 1_598_220


def _xnli_mt(lang, labels):  # facebook/xnli <lang> train: XNLI-MT 1.0, MNLI train translated, in MNLI's order
    return [
        {"premise": f"{lang} premise {k}", "hypothesis": f"{lang} hyp {k}", "label": l} for k, l in enumerate(labels)
    ]


def test_translate_train_mnli_is_size_matched_one_language_per_example(monkeypatch):
    labels = [0, 1, 2, 0, 1, 2, 0]
    langs = kreg.get_task("mnli").translate_train[2]
    table = {("nyu-mll/glue", "mnli", "train"): [{**_pair(k, l), "idx": k} for k, l in enumerate(labels)]}
    table.update({("facebook/xnli", l, "train"): _xnli_mt(l, labels) for l in langs})
    monkeypatch.setattr(kreg, "load_hub_rows", lambda task, d, c, s: table[(d, c, s)])
    _, out = kreg.load_task_examples("mnli", "tt", "hub")
    assert len(out) == len(labels)  # size-matched: every English item once
    assert [e["lang"] for e in out] == [langs[i % len(langs)] for i in range(len(labels))]
    assert [e["text_a"] for e in out] == [f"{langs[i % len(langs)]} premise {i}" for i in range(len(labels))]
    assert [e["label"] for e in out] == labels
    # a translation not in the English order is refused, naming what is allowed
    table[("facebook/xnli", "de", "train")] = _xnli_mt("de", labels[1:] + labels[:1])
    with pytest.raises(DataError, match="facebook/xnli de is not in the English order.*allowed: at least 99%"):
        kreg.load_task_examples("mnli", "tt", "hub")


def _squad(lang, qid, context="Paris is in France."):
    return {"id": qid, "title": "t", "context": context, "question": f"{lang}: where?",
            "answers": {"text": ["France"], "answer_start": [context.index("France")]}}  # fmt: skip


def test_translate_train_squad_takes_each_question_in_the_next_language_that_kept_it(monkeypatch):
    langs = kreg.get_task("squad").translate_train[2]
    table = {("rajpurkar/squad", None, "train"): [_squad("en", f"q{k}") for k in range(4)]}
    table.update(
        {("juletxara/xquad_xtreme", l, "translate_train"): [_squad(l, f"q{k}") for k in range(4)] for l in langs}
    )
    table[("juletxara/xquad_xtreme", langs[1], "translate_train")] = [_squad(langs[1], "q0")]  # lost q1..q3
    table[("juletxara/xquad_xtreme", langs[2], "translate_train")] = []
    table[("juletxara/xquad_xtreme", langs[3], "translate_train")] = [_squad(langs[3], "q0")]
    monkeypatch.setattr(kreg, "load_hub_rows", lambda task, d, c, s: table[(d, c, s)])
    _, out = kreg.load_task_examples("squad", "tt", "hub")
    assert [(e["id"], e["lang"]) for e in out] == [
        ("q0", langs[0]),
        ("q1", langs[3 + 1]),
        ("q2", langs[4]),
        ("q3", langs[4]),
    ]
    assert all(e["question"].startswith(e["lang"]) for e in out)


def test_translate_train_is_refused_for_tasks_without_it():
    with pytest.raises(
        ConfigError, match="intermediate task 'sst2' has no XTREME translate-train data; allowed with data=tt: "
    ):
        load_condition(PAPER / "en-sst2.yaml", {"intermediate": {"data": "tt"}})
    assert load_condition(PAPER / "tt-squad.yaml").intermediate.data == "tt"


def test_the_book_reads_the_xtreme_targets_like_pos_and_ner():
    import pandas as pd

    from xitcore.book import tables as T

    cols = ["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run"]
    rows = [("paper", "en-mnli", s, "target", "udpos", l, "accuracy", v, "r") for s, l, v in
            [(1, "en", 97.0), (1, "de", 80.0), (1, "hi", 70.0), (2, "de", 82.0), (2, "hi", 72.0)]]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    seeds = T.per_seed(df, "udpos", "en-mnli")
    assert seeds.to_dict() == {1: 75.0, 2: 77.0}  # zero-shot: English, the training language, left out
    with pytest.raises(ValueError, match="family 'pos-x' is unknown; allowed: pos, ner"):
        T.family_spec("pos-x")


def test_translator_names_the_mt_model():
    m2m = load_condition(PAPER / "mt-squad-m2m100.yaml").intermediate
    assert m2m.translator == "m2m100" and m2m.mt_model == "facebook/m2m100_418M" and m2m.data == "mt"
    assert load_condition(PAPER / "mt-squad.yaml").intermediate.mt_model == "facebook/nllb-200-distilled-600M"
    with pytest.raises(ConfigError, match="intermediate.translator 'marian' is unknown; allowed: nllb, m2m100"):
        load_condition(PAPER / "mt-squad.yaml", {"intermediate": {"translator": "marian"}})
    with pytest.raises(
        ConfigError, match="translator 'nllb' is facebook/nllb-200-distilled-600M, but intermediate.mt_model"
    ):
        load_condition(PAPER / "mt-squad-m2m100.yaml", {"intermediate": {"translator": "nllb", "mt_model": "x/y"}})
