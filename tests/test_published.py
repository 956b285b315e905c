"""xitcore.book.published: the table's shape, every entry's source, and values pinned to what was read."""

import pytest

from xitcore.book import published as pub

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

POS_LANGS = ["ar", "de", "en", "es", "fi", "fr", "hi", "id", "it", "ja", "pt", "ru", "tr", "zh"]


def test_every_entry_is_complete_and_has_a_source():
    for e in pub.PUBLISHED:
        assert set(pub.ENTRY_KEYS) <= set(e)
        assert isinstance(e["source"], str) and e["source"].strip()
        pub.validate_entry(e)
    # nothing was left out silently: every wanted table is either in PUBLISHED or listed as not found
    for nf in pub.NOT_FOUND:
        assert nf["task"] in pub.TASKS and nf["where"].strip() and nf["why"].strip()
        for lang in nf["languages"]:
            for model in nf["models"]:
                have = any(
                    e["task"] == nf["task"] and e["language"] == lang and e["model"] == model for e in pub.PUBLISHED
                )
                assert not have, "an entry listed as not found is in PUBLISHED: drop it from NOT_FOUND"


@pytest.mark.parametrize(
    "bad",
    [
        {"task": "udpos", "language": "de", "model": "mBERT", "metric": "F1", "value": 80.0, "source": ""},
        {"task": "udpos", "language": "de", "model": "mBERT", "metric": "F1", "value": 80.0},
        {"task": "pos", "language": "de", "model": "mBERT", "metric": "F1", "value": 80.0, "source": "x"},
        {"task": "udpos", "language": "de", "model": "mBERT", "metric": "F1", "value": 0.8e3, "source": "x"},
    ],
)
def test_validate_entry_rejects_incomplete_entries(bad):
    with pytest.raises(ValueError):
        pub.validate_entry(bad)


@pytest.mark.parametrize(
    "task,langs",
    [
        ("udpos", POS_LANGS + ["sv", "pl"]),
        ("panx", ["es", "nl", "de", "en"]),
        ("tatoeba", ["ar", "de", "es", "fr", "nl", "ru", "tr", "zh"]),
    ],
)
def test_table_shape(task, langs):
    rows = pub.published_table(task, langs)
    assert [r["language"] for r in rows] == langs
    for r in rows:
        for m in pub.MODELS:
            assert m in r
            assert r[m] is None or isinstance(r[m], float)
        assert isinstance(r["in_xtreme"], bool)


def test_table_fills_values_and_keeps_missing_as_none(monkeypatch):
    fake = [
        {
            "task": "panx",
            "language": "es",
            "model": "XLM-R Large",
            "metric": "F1",
            "value": 12.5,
            "source": "synthetic (test only)",
        },
        {
            "task": "panx",
            "language": "nl",
            "model": "Other",
            "metric": "F1",
            "value": 7,
            "source": "synthetic (test only)",
        },
    ]
    monkeypatch.setattr(pub, "PUBLISHED", fake)
    rows = pub.published_table("panx", ["es", "nl", "xx"])
    assert list(rows[0]) == ["language", "mBERT", "XLM-R Large", "Other", "in_xtreme"]
    assert rows[0]["XLM-R Large"] == 12.5 and rows[0]["mBERT"] is None and rows[0]["Other"] is None
    assert rows[1]["Other"] == 7.0
    assert rows[2] == {"language": "xx", "mBERT": None, "XLM-R Large": None, "Other": None, "in_xtreme": False}
    monkeypatch.setattr(pub, "PUBLISHED", fake + [dict(fake[0])])
    with pytest.raises(ValueError):  # two numbers for one (task, language, model)
        pub.published_table("panx", ["es"])
    with pytest.raises(ValueError):
        pub.published_table("ner", ["es"])


def test_pinned_values_from_the_xtreme_repository():
    # Read in google-research/xtreme evaluate.py @ 838c13b69daafb9328785d16caae2711e4012123,
    # XTREME_TASK2LANGS: 'udpos' has all 14 POS languages of the book and neither sv nor pl
    # (pl appears only in XTREME_R_TASK2LANGS); 'panx' has es, nl, de, en; 'tatoeba' has the 8 below.
    assert set(POS_LANGS) <= set(pub.XTREME_LANGUAGES["udpos"])
    assert "sv" not in pub.XTREME_LANGUAGES["udpos"] and "pl" not in pub.XTREME_LANGUAGES["udpos"]
    assert len(pub.XTREME_LANGUAGES["udpos"]) == 33
    assert len(pub.XTREME_LANGUAGES["panx"]) == 40 and len(pub.XTREME_LANGUAGES["tatoeba"]) == 36
    assert {"es", "nl", "de", "en"} <= set(pub.XTREME_LANGUAGES["panx"])
    assert {"ar", "de", "es", "fr", "nl", "ru", "tr", "zh"} <= set(pub.XTREME_LANGUAGES["tatoeba"])
    assert [r["in_xtreme"] for r in pub.published_table("udpos", ["de", "sv", "pl"])] == [True, False, False]
    # Same file, METRIC_FUNCTION: 'udpos': f1 and 'panx': f1 (seqeval f1_score), 'tatoeba': accuracy.
    assert pub.XTREME_SCORING["udpos"].startswith("seqeval f1_score")
    assert pub.XTREME_SCORING["panx"].startswith("seqeval f1_score")
    assert "accuracy" in pub.XTREME_SCORING["tatoeba"]
    # fairseq examples/xlmr/README.md @ e23e5eaa...: "`xlmr.large.v0` | XLM-R using the BERT-large
    # architecture | 560M" (the same 560M in the later versions of that README).
    assert "560M" in pub.SOURCES["fairseq-xlmr"]


def test_module_does_not_touch_the_network():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(pub))
    imported = {
        a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in (n.names if isinstance(n, ast.Import) else [ast.alias(n.module or "")])
    }
    assert imported <= {"__future__", "typing", "collections"}  # the standard library's types only


def test_paper_numbers_are_the_mt5_readme_table():
    # google-research/multilingual-t5 README.md:43-49: XLM-R -> X-STILTs
    want = {"xnli": (79.2, 80.4), "pawsx": (86.4, 87.7), "panx": (65.4, 64.7), "xquad": (76.6, 77.2),
            "mlqa": (71.6, 72.3), "tydiqa": (65.1, 76.0)}  # fmt: skip
    got = {}
    for e in pub.paper_entries():
        assert e["language"] == "avg" and "multilingual-t5 README.md:43-49" in e["source"] and e["split"]
        got.setdefault(e["task"], {})[e["model"]] = e["value"]
    assert {t: (v["XLM-R"], v["X-STILTs"]) for t, v in got.items()} == want
    assert pub.PAPER_TASK_AVERAGES["tydiqa"][3].startswith("dev")


def test_paper_comparison_puts_the_preset_beside_the_published_numbers():
    import pandas as pd

    rows = [
        ("paper", "no-intermediate", s, "target", "xnli", "avg", "accuracy", v, "r") for s, v in [(1, 78.0), (2, 80.0)]
    ] + [("paper", "en-mnli", 1, "target", "xnli", "de", "accuracy", 99.0, "r")]  # a language row: not read
    df = pd.DataFrame(
        rows, columns=["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run"]
    )
    t = {r["task"]: r for r in pub.paper_comparison(df)}
    assert t["xnli"]["no-intermediate"] == 79.0
    assert t["xnli"]["X-STILTs (published)"] == 80.4 and t["xnli"]["split"] == "test"
    assert t["pawsx"]["no-intermediate"] is None and "en-mnli" not in t["xnli"]


def test_paper_numbers_agree_with_the_claims_ledger():
    from xitcore.book import claims

    names = {"xnli": "XNLI", "pawsx": "PAWS-X", "panx": "NER (WikiANN)", "xquad": "XQuAD (F1)",
             "mlqa": "MLQA (F1)", "tydiqa": "TyDiQA-GoldP (F1)"}  # fmt: skip
    for task, (_, xlmr, xstilts, _) in pub.PAPER_TASK_AVERAGES.items():
        assert claims.SUBMISSION[names[task]] == (xlmr, xstilts)
