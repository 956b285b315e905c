"""Task registry: local loaders on the shipped data, size-matched translated variants, hub backend offline."""

import time

import pytest

from xitcore.data.treebanks import load_ner_eval, pud_split
from xitcore.errors import ConfigError, DataError
from xitcore.tasks import TASKS, get_task, load_task_examples, task_labels

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


def test_pud_split_is_a_fixed_partition():
    a, b = pud_split()
    assert len(a) == len(b) == 500 and not set(a) & set(b) and sorted(a + b) == list(range(1000))
    assert pud_split() == (a, b)


@pytest.mark.parametrize("name", ["qa", "copa", "deprel"])
def test_translated_variant_is_size_matched(name):
    _, en = load_task_examples(name, "en")
    _, ml = load_task_examples(name, "translated")
    assert len(en) == len(ml) > 100
    assert {e["lang"] for e in en} == {"en"}
    langs = {e["lang"] for e in ml}
    assert "en" not in langs and len(langs) >= 10


def test_translated_deprel_uses_the_same_sentences():
    _, en = load_task_examples("deprel", "en")
    _, ml = load_task_examples("deprel", "translated")
    # PUD files are sentence-parallel: position j holds translations of one English sentence
    assert all(e["tags"] and m["tags"] for e, m in zip(en, ml))
    assert "root" in {t for e in en for t in e["tags"]}


def test_qa_answers_are_in_context():
    _, ml = load_task_examples("qa", "translated")
    for ex in ml[:200]:
        assert ex["context"][ex["answer_starts"][0] :].startswith(ex["answers"][0])


def test_ner_eval_maps_misc_to_o():
    ev = load_ner_eval("es")
    tags = {t for e in ev for t in e["tags"]}
    assert tags <= {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}
    assert "B-PER" in tags


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ConfigError, match="task 'mlni' is unknown; allowed:"):
        get_task("mlni")


def test_hub_backend_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    with pytest.raises(DataError, match="task 'nli': hub dataset nyu-mll/glue .*needs huggingface.co"):
        load_task_examples("nli", backend="hub")
    assert time.time() - t0 < 10


def test_hub_mappers_give_the_local_example_format():
    ex = TASKS["sentiment"].row_mapper({"sentence": "A", "label": 1, "idx": 0}, "en")
    assert ex == {"text_a": "A", "text_b": None, "label": 1, "lang": "en"}
    qa = TASKS["qa"].row_mapper(
        {
            "id": "x",
            "title": "t",
            "context": "the cat sat",
            "question": "who?",
            "answers": {"text": ["cat"], "answer_start": [4]},
        },
        "en",
    )
    _, local = load_task_examples("qa")
    assert set(qa) == set(local[0]) and qa["answers"] == ["cat"] and qa["answer_starts"] == [4]


def test_paper_tasks_are_registered_hub_only_with_clear_local_errors(monkeypatch):
    for name in ("mnli", "anli", "qqp", "sst2", "squad", "hellaswag", "commonsenseqa", "cosmosqa", "ccg"):
        assert TASKS[name].paper_role == "intermediate"
    assert TASKS["hellaswag"].hub_dataset == "Rowan/hellaswag"
    assert list(TASKS["mnli"].labels) == ["entailment", "neutral", "contradiction"]
    with pytest.raises(DataError, match="task 'hellaswag' has no shipped data; use backend: hub"):
        load_task_examples("hellaswag")
    monkeypatch.delenv("XIT_CCGBANK", raising=False)
    with pytest.raises(DataError, match="task 'ccg' needs CCGbank .*set XIT_CCGBANK"):
        load_task_examples("ccg", backend="hub")  # no hub source: the local copy is the only way


def test_paper_task_hub_rows_go_through_xitcore_kinds(monkeypatch):
    from xitcore.tasks import io

    rows = [
        {"ctx_a": "A man sits", "ctx_b": "then", "endings": ["down.", "up.", "on.", "off."], "label": "2", "ind": 7},
        {"ctx_a": "No label", "ctx_b": "", "endings": ["a", "b", "c", "d"], "label": "", "ind": 8},
    ]
    monkeypatch.setattr(io, "hub_reachable", lambda timeout=3.0: True)
    import xitcore.tasks.registry as registry

    monkeypatch.setattr(registry, "load_hub_rows", lambda *a, **k: rows)
    spec, ex = load_task_examples("hellaswag", backend="hub")
    assert len(ex) == 1  # the unlabelled row is dropped
    assert ex[0]["choices"] == ["then down.", "then up.", "then on.", "then off."] and ex[0]["label"] == 2
    assert ex[0]["premise"].startswith("A man sits")


def test_rte_hub_labels_follow_the_local_order(monkeypatch):
    import datasets

    from xitcore.tasks import io

    monkeypatch.setattr(io, "hub_reachable", lambda timeout=3.0: True)
    rows = [
        {"sentence1": "A", "sentence2": "B", "label": 0, "idx": 0},
        {"sentence1": "C", "sentence2": "D", "label": 1, "idx": 1},
    ]
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: rows)
    _, ex = load_task_examples("nli", backend="hub")
    labels = TASKS["nli"].labels
    assert [labels[e["label"]] for e in ex] == ["entailment", "not_entailment"]  # GLUE RTE: 0 = entailment


def test_ccg_reads_a_local_ccgbank_copy(tmp_path, monkeypatch):
    (tmp_path / "wsj_0001.txt").write_text("Pierre|N/N Vinken|N ,|, 61|N/N years|N old|(S[adj]\\NP)\\NP\n")
    monkeypatch.setenv("XIT_CCGBANK", str(tmp_path))
    spec, ex = load_task_examples("ccg")
    assert ex == [
        {
            "words": ["Pierre", "Vinken", ",", "61", "years", "old"],
            "tags": ["N/N", "N", ",", "N/N", "N", "(S[adj]\\NP)\\NP"],
            "lang": "en",
        }
    ]
    assert task_labels(spec, ex) == sorted({"N/N", "N", ",", "(S[adj]\\NP)\\NP"})


def test_machine_translated_data_is_size_matched_and_rotates_languages():
    from xitcore.multilingual.intermediate import machine_translate_examples

    calls = []

    def translate_for(lang):
        def tr(texts):
            calls.append((lang, len(texts)))
            return [f"{lang}:{t}" for t in texts]

        return tr

    ex = [{"text_a": f"s{i}", "text_b": None, "label": i % 2, "lang": "en"} for i in range(7)]
    out, report = machine_translate_examples(ex, "classification", ["de", "fr", "zh"], translate_for)
    assert len(out) == 7 and {l: r["kept"] for l, r in report.items()} == {"de": 3, "fr": 2, "zh": 2}
    assert sorted(e["text_a"] for e in out) == sorted(["de:s0", "fr:s1", "zh:s2", "de:s3", "fr:s4", "zh:s5", "de:s6"])
    assert all(e["lang"] == e["text_a"][:2] for e in out) and [c[0] for c in calls] == ["de", "fr", "zh"]
    labels = {e["text_a"]: e["label"] for e in out}
    assert labels["fr:s1"] == 1 and labels["de:s6"] == 0  # labels travel with their example


def test_machine_translation_config_checks():
    from conftest import REPO

    from xitcore.config import load_condition
    from xitcore.errors import ConfigError

    with pytest.raises(ConfigError, match="'deprel' cannot be machine-translated"):
        load_condition(REPO / "params/smoke/en-deprel.yaml", {"intermediate": {"data": "mt"}})
    with pytest.raises(ConfigError, match="mt_languages must list at least one"):
        load_condition(REPO / "params/smoke/en-qa.yaml", {"intermediate": {"data": "mt", "mt_languages": []}})
