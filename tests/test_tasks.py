"""Task registry: local loaders on the shipped data, size-matched translated variants, hub backend offline."""
import time

import pytest

from xitcore.errors import DataError
from xitcore.tasks import (INTERMEDIATE_TASKS, load_hub_examples, load_ner_eval, load_task_examples, pud_split,
                           get_task)


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
        assert ex["context"][ex["answer_start"]:].startswith(ex["answer_text"])


def test_ner_eval_maps_misc_to_o():
    ev = load_ner_eval("es")
    tags = {t for e in ev for t in e["tags"]}
    assert tags <= {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}
    assert "B-PER" in tags


def test_unknown_task_is_a_clear_error():
    with pytest.raises(DataError, match="task 'mnli' is unknown; allowed:"):
        get_task("mnli")


def test_hub_backend_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    with pytest.raises(DataError, match="backend 'hub' needs huggingface.co"):
        load_hub_examples(INTERMEDIATE_TASKS["nli"])
    assert time.time() - t0 < 10


def test_hub_mappers_give_the_local_example_format():
    from xitcore.tasks import HUB_MAPPERS

    spec = INTERMEDIATE_TASKS["nli"]
    ex = HUB_MAPPERS["classification"]({"premise": "A", "hypothesis": "B", "label": 1, "idx": 0}, spec)
    assert ex == {"text_a": "A", "text_b": "B", "label": 1, "lang": "en"}
    qa = HUB_MAPPERS["qa"]({"id": "x", "title": "t", "context": "the cat sat", "question": "who?",
                            "answers": {"text": ["cat"], "answer_start": [4]}}, INTERMEDIATE_TASKS["qa"])
    assert qa["answer_text"] == "cat" and qa["answer_start"] == 4
