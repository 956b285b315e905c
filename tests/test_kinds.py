"""The task registry (xitcore.tasks): tasks, XTREME-R language lists, hub configs, one-line errors, offline
fail-fast."""

import time

import pytest

import xitcore.tasks.io
from xitcore.errors import ConfigError, DataError
from xitcore.tasks import (
    HUB_TARGETS,
    INTERMEDIATE,
    PAPER_INTERMEDIATE,
    SHIPPED_INTERMEDIATE,
    SHIPPED_TARGETS,
    TASKS,
    check_language,
    get_task,
    hub_source,
    load_hub_examples,
    metric_for,
)
from xitcore.tasks.registry import XTREME_LANGS

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


def test_registry_holds_the_xtreme_r_targets_and_the_nine_intermediate_tasks():
    assert set(SHIPPED_TARGETS) == {"pos", "ner"}
    assert set(SHIPPED_INTERMEDIATE) == {"nli", "sentiment", "questions", "qa", "copa", "deprel", "chunk"}
    assert set(INTERMEDIATE) == set(PAPER_INTERMEDIATE) | set(SHIPPED_INTERMEDIATE)
    assert set(HUB_TARGETS) == {
        "xnli",
        "xcopa",
        "udpos",
        "panx",
        "xquad",
        "mlqa",
        "tydiqa",
        "tatoeba",
        "lareqa",
        "mewslix",
        "bucc2018",
        "pawsx",
    }
    assert set(PAPER_INTERMEDIATE) == {
        "squad",
        "mnli",
        "hellaswag",
        "anli",
        "anliplus",
        "ccg",
        "commonsenseqa",
        "cosmosqa",
        "qqp",
        "sst2",
    }
    for name in INTERMEDIATE:
        assert TASKS[name].languages == ("en",)


# Sizes of XTREME_R_TASK2LANGS / XTREME_TASK2LANGS in google-research/xtreme evaluate.py (counted there).
@pytest.mark.parametrize(
    "task,n_r,n_xtreme",
    [
        ("xnli", 15, 15),
        ("panx", 48, 40),
        ("udpos", 38, 33),
        ("tatoeba", 41, 36),
        ("xquad", 12, 11),
        ("mlqa", 7, 7),
        ("tydiqa", 9, 9),
        ("xcopa", 11, 0),
        ("mewslix", 11, 0),
        ("lareqa", 11, 0),
        ("bucc2018", 4, 4),
        ("pawsx", 7, 7),
    ],
)
def test_language_lists_have_the_published_sizes(task, n_r, n_xtreme):
    t = TASKS[task]
    assert len(t.languages) == len(set(t.languages)) == n_r
    assert len(t.xtreme_languages) == n_xtreme
    assert set(t.xtreme_languages) <= set(t.languages)


def test_xtreme_r_added_languages_are_not_in_the_xtreme_lists():
    assert set(TASKS["panx"].languages) - set(XTREME_LANGS["panx"]) == {"qu", "pl", "uk", "az", "lt", "pa", "gu", "ro"}
    assert set(TASKS["udpos"].languages) - set(XTREME_LANGS["udpos"]) == {"lt", "pl", "uk", "wo", "ro"}
    assert set(TASKS["tatoeba"].languages) - set(XTREME_LANGS["tatoeba"]) == {"az", "lt", "pl", "uk", "ro"}
    assert set(TASKS["xquad"].languages) - set(XTREME_LANGS["xquad"]) == {"ro"}


@pytest.mark.parametrize(
    "task,lang,role,expected",
    [
        ("panx", "de", "test", ("google/xtreme", "PAN-X.de", "test")),
        ("panx", "qu", "test", ("unimelb-nlp/wikiann", "qu", "test")),
        ("udpos", "de", "test", ("google/xtreme", "udpos.German", "test")),
        ("xnli", "sw", "test", ("google/xtreme", "XNLI", "test")),
        ("pawsx", "de", "test", ("google/xtreme", "PAWS-X.de", "test")),
        ("xquad", "de", "test", ("google/xtreme", "XQuAD.de", "validation")),
        ("xquad", "ro", "test", ("google/xquad", "xquad.ro", "validation")),
        ("mlqa", "de", "test", ("google/xtreme", "MLQA.de.de", "test")),
        ("tydiqa", "sw", "test", ("google/xtreme", "tydiqa", "validation")),
        ("tatoeba", "de", "test", ("google/xtreme", "tatoeba.deu", "validation")),
        ("tatoeba", "zh", "test", ("google/xtreme", "tatoeba.cmn", "validation")),
        ("bucc2018", "de", "test", ("google/xtreme", "bucc18.de", "test")),
        ("xcopa", "qu", "test", ("cambridgeltl/xcopa", "qu", "test")),
        ("squad", "en", "train", ("rajpurkar/squad", None, "train")),
        ("mnli", "en", "dev", ("nyu-mll/glue", "mnli", "validation_matched")),
        ("anli", "en", "train", ("facebook/anli", None, "train_r1+train_r2+train_r3")),
        ("hellaswag", "en", "train", ("Rowan/hellaswag", None, "train")),
        ("commonsenseqa", "en", "dev", ("tau/commonsense_qa", None, "validation")),
        ("cosmosqa", "en", "train", ("allenai/cosmos_qa", None, "train")),
        ("qqp", "en", "train", ("nyu-mll/glue", "qqp", "train")),
        ("sst2", "en", "train", ("nyu-mll/glue", "sst2", "train")),
    ],
)
def test_hub_sources_use_the_names_users_know(task, lang, role, expected):
    src = hub_source(task, lang, role)
    assert (src.dataset, src.config, src.split) == expected


@pytest.mark.parametrize(
    "task,lang", [("udpos", "wo"), ("tatoeba", "az"), ("lareqa", "de"), ("mewslix", "ja"), ("ccg", "en")]
)
def test_no_hub_source_is_a_one_line_data_error(task, lang):
    with pytest.raises(DataError) as e:
        hub_source(task, lang, "test")
    msg = str(e.value)
    assert "\n" not in msg and f"task '{task}'" in msg and f"'{lang}'" in msg and "load_" in msg


def test_unknown_task_and_language_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"^task 'xnlii' is unknown; allowed: .*xnli") as e:
        get_task("xnlii")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match=r"^task 'xcopa': language 'de' is not evaluated; allowed: et, ht, id"):
        check_language("xcopa", "de")
    with pytest.raises(ConfigError, match="has no 'train' split on the hub; allowed: test"):
        hub_source("xquad", "de", "train")


def test_every_task_has_a_metric_and_every_hub_task_a_row_mapper():
    for name, t in TASKS.items():
        assert callable(metric_for(name))
        assert (t.row_mapper is None) == (t.hub_dataset is None), name


def test_offline_hub_loading_fails_fast_with_one_line(monkeypatch):
    import datasets

    monkeypatch.setattr(xitcore.tasks.io, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("load_dataset must not be called"))
    t0 = time.time()
    with pytest.raises(DataError) as e:
        load_hub_examples("panx", "de", "test")
    assert time.time() - t0 < 5
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("task 'panx': hub dataset google/xtreme (config PAN-X.de), split test, needs huggingface.co")
    assert "local loader" in msg


def test_hub_loading_maps_rows_and_drops_other_languages(monkeypatch):
    """Shared configs (XNLI, tydiqa) hold every language: only the asked one comes back, mapped."""
    import datasets

    calls = []

    def fake_load_dataset(name, config, split, **kw):
        calls.append((name, config, split, kw))
        if config == "XNLI":
            return [
                {"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"},
                {"language": "fr", "sentence1": "c", "sentence2": "d", "gold_label": "entailment"},
            ]
        return [
            {
                "id": "swahili-1-0",
                "title": "",
                "context": "x y",
                "question": "q",
                "answers": {"text": ["y"], "answer_start": [2]},
            },
            {
                "id": "english-2-0",
                "title": "",
                "context": "x y",
                "question": "q",
                "answers": {"text": ["x"], "answer_start": [0]},
            },
        ]

    monkeypatch.setattr(xitcore.tasks.io, "hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    xnli = load_hub_examples("xnli", "de", "test")
    assert [(e["text_a"], e["label"], e["lang"]) for e in xnli] == [("a", 1, "de")]
    ty = load_hub_examples("tydiqa", "sw", "test")
    assert [(e["id"], e["answers"]) for e in ty] == [("swahili-1-0", ["y"])]
    assert calls[0][:3] == ("google/xtreme", "XNLI", "test") and calls[1][:3] == (
        "google/xtreme",
        "tydiqa",
        "validation",
    )
    assert all("trust_remote_code" not in c[3] for c in calls)
