"""Sentence classification and multiple choice: loaders on format fixtures, hub row mappers, features, metrics."""

from pathlib import Path

import pytest

from xitcore.errors import DataError
from xitcore.tasks import classification as sc
from xitcore.tasks import multiple_choice as mc

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

FIX = Path(__file__).parent / "fixtures" / "kinds"


@pytest.fixture(scope="module")
def tok(make_tokenizer):
    return make_tokenizer(["A man plays a guitar .", "A man makes music .", "Mees kukkus .", "What was the cause ?"])


# ------------------------------------------------------------------ sentence classification


def test_xnli_tsv_keeps_one_language_and_maps_labels():
    de = sc.load_xnli_tsv(FIX / "xnli.dev.tsv", "de")
    assert [(e["text_a"], e["label"], e["id"]) for e in de] == [
        ("Ein Mann spielt Gitarre.", 2, "2"),
        ('Ein "Mann" spielt.', 1, "3"),
    ]
    en = sc.load_xnli_tsv(FIX / "xnli.dev.tsv", "en")
    assert [(e["text_b"], e["label"]) for e in en] == [("A man makes music.", 0)]


def test_pawsx_glue_and_anli_loaders():
    assert [(e["label"], e["id"]) for e in sc.load_pawsx_tsv(FIX / "pawsx_de_test_2k.tsv", "de")] == [
        (1, "1"),
        (0, "2"),
    ]
    mnli = sc.load_glue_tsv(FIX / "glue_mnli_dev_matched.tsv", "mnli")
    assert [(e["text_a"], e["label"]) for e in mnli] == [("The cat sat.", 0), ('It is "cold".', 2)]
    qqp = sc.load_glue_tsv(FIX / "glue_qqp_dev.tsv", "qqp")
    assert [(e["text_b"], e["label"], e["id"]) for e in qqp] == [
        ("What is the age of Rome?", 1, "7"),
        ("Where is it?", 0, "8"),
    ]
    sst = sc.load_glue_tsv(FIX / "glue_sst2_dev.tsv", "sst2")
    assert [(e["text_b"], e["label"]) for e in sst] == [(None, 1), (None, 0)]
    anli = sc.load_anli_jsonl(FIX / "anli_r1_dev.jsonl")
    assert [e["label"] for e in anli] == [0, 2, 1]  # e, c, n


def test_tsv_with_a_wrong_header_is_a_one_line_error(tmp_path):
    p = tmp_path / "dev.tsv"
    p.write_text("sentence\tlabels\nx\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev.tsv: header lacks column\(s\) label; found sentence, labels"):
        sc.load_glue_tsv(p, "sst2")
    p.write_text("language\tgold_label\tsentence1\tsentence2\nde\tmaybe\ta\tb\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev.tsv:2: label 'maybe' is not one of entailment, neutral, contradiction"):
        sc.load_xnli_tsv(p, "de")


def test_sentence_hub_rows():
    xnli = {"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "contradiction"}
    assert sc.xnli_row(xnli, "de")["label"] == 2 and sc.xnli_row(xnli, "fr") is None
    assert sc.pawsx_row({"sentence1": "a", "sentence2": "b", "label": "1"}, "de")["label"] == 1
    assert sc.nli_row({"premise": "p", "hypothesis": "h", "label": 1, "idx": 3}, "en")["label"] == 1
    anli = sc.nli_row({"uid": "u1", "premise": "p", "hypothesis": "h", "label": 2, "reason": ""}, "en")
    assert (anli["id"], anli["label"]) == ("u1", 2)
    assert sc.qqp_row({"question1": "a", "question2": "b", "label": 0, "idx": 5}, "en")["text_b"] == "b"
    assert sc.sst2_row({"sentence": "fine", "label": 1, "idx": 0}, "en")["text_b"] is None


def test_pair_features(tok):
    ex = [
        sc.pair_example("A man plays a guitar .", "A man makes music .", 0, "en"),
        sc.pair_example("A man " * 40, "music", 1, "en"),
    ]
    f = sc.featurise(tok, ex, ["a", "b"], 16)
    sep = tok.convert_tokens_to_ids("</s>")
    assert f[0]["input_ids"][0] == tok.bos_token_id and f[0]["input_ids"].count(sep) == 3  # <s> a </s></s> b </s>
    assert len(f[1]["input_ids"]) == 16 and [x["label"] for x in f] == [0, 1]


def test_classification_accuracy_by_hand():
    assert sc.classification_accuracy([0, 1, 2, 2], [0, 2, 2, 1]) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="-1"):
        sc.classification_accuracy([-1, 0], [0, 0])


# ------------------------------------------------------------------ multiple choice


def test_xcopa_jsonl_uses_xtreme_r_question_template():
    ex = mc.load_jsonl_choices(FIX / "xcopa_val.et.jsonl", "xcopa", "et")
    assert (
        ex[0]["premise"] == "Mees kukkus."
        and ex[0]["question"] == "What was the cause?"
        and ex[0]["choices"] == ["Ta libises.", "Ta naeris."]
    )
    assert [e["label"] for e in ex] == [0, 1] and ex[1]["question"] == "What was the effect?"


def test_hellaswag_commonsenseqa_cosmosqa_local_files():
    (hs,) = mc.load_jsonl_choices(FIX / "hellaswag_val.jsonl", "hellaswag")
    assert hs["premise"] == "A man opens a jar." and hs["choices"][2] == "he pours out the jam." and hs["label"] == 2
    (cs,) = mc.load_jsonl_choices(FIX / "csqa_dev.jsonl", "commonsenseqa")
    assert (
        cs["premise"] == "Where do you keep cold milk?"
        and len(cs["choices"]) == 5
        and cs["choices"][cs["label"]] == "fridge"
    )
    (co,) = mc.load_jsonl_choices(FIX / "cosmosqa_valid.jsonl", "cosmosqa")
    (co_csv,) = mc.load_cosmosqa_csv(FIX / "cosmosqa_valid.csv")
    assert (co["premise"], co["question"], co["label"]) == ("I missed the bus today.", "Why was I late?", 1)
    assert (
        co_csv["premise"] == "I missed the bus, sadly.\nIt was cold."
        and co_csv["choices"] == co["choices"]
        and co_csv["label"] == 1
    )


def test_choice_hub_rows():
    hs = mc.hellaswag_row({"ind": 1, "ctx_a": "A.", "ctx_b": "she", "endings": ["x.", "y.", "z.", "w."], "label": ""})
    assert hs["label"] == -1 and hs["choices"][0] == "she x."  # the hub's test split has no label
    cs = mc.commonsenseqa_row(
        {
            "id": "1",
            "question": "Q?",
            "question_concept": "c",
            "answerKey": "B",
            "choices": {"label": ["A", "B", "C"], "text": ["a", "b", "c"]},
        }
    )
    assert (cs["premise"], cs["label"]) == ("Q?", 1)
    co = mc.cosmosqa_row(
        {
            "id": "i",
            "context": "C",
            "question": "Q",
            "answer0": "0",
            "answer1": "1",
            "answer2": "2",
            "answer3": "3",
            "label": 3,
        }
    )
    assert co["label"] == 3 and co["choices"] == ["0", "1", "2", "3"]
    xc = mc.xcopa_row(
        {"premise": "P", "choice1": "a", "choice2": "b", "question": "effect", "label": 1, "idx": 4, "changed": False},
        "qu",
    )
    assert (xc["lang"], xc["id"], xc["label"]) == ("qu", "4", 1)
    with pytest.raises(DataError, match="question 'why' is not cause or effect"):
        mc.xcopa_row({"premise": "P", "choice1": "a", "choice2": "b", "question": "why", "label": 1}, "qu")


def test_choice_features(tok):
    ex = mc.choice_example("Mees kukkus .", "What was the cause ?", ["A man .", "music"], 1, "et")
    (f,) = mc.featurise(tok, [ex], [], 32)
    assert len(f["choices"]) == 2 and f["label"] == 1
    first = tok(f"{ex['premise']} {ex['question']}", add_special_tokens=False)["input_ids"]
    for ids, choice in zip(f["choices"], ex["choices"]):
        assert ids[1 : 1 + len(first)] == first  # <s> premise+question </s></s> choice </s>
        assert (
            ids[-1 - len(tok(choice, add_special_tokens=False)["input_ids"]) : -1]
            == tok(choice, add_special_tokens=False)["input_ids"]
        )


def test_choice_accuracy_by_hand():
    assert mc.choice_accuracy([1, 0, 3], [1, 1, 3]) == pytest.approx(2 / 3)


def test_siqa_rows_number_their_answers_from_one():
    ex = mc.siqa_row({"context": "C", "question": "Q?", "answerA": "a", "answerB": "b", "answerC": "c", "label": "3"})
    assert (ex["premise"], ex["question"], ex["choices"], ex["label"]) == ("C", "Q?", ["a", "b", "c"], 2)
    assert (
        mc.siqa_row({"context": "C", "question": "Q", "answerA": "a", "answerB": "b", "answerC": "c", "label": ""})[
            "label"
        ]
        == -1
    )  # unlabelled rows are dropped by the loaders
