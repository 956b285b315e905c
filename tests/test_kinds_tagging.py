"""Token classification and CCG: loaders on format fixtures, hub row mappers, windows with stride, metrics."""

from pathlib import Path

import pytest

from xitcore.errors import DataError
from xitcore.tasks import tagging as ccg
from xitcore.tasks import tagging as tc

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

FIX = Path(__file__).parent / "fixtures" / "kinds"


@pytest.fixture(scope="module")
def tok(make_tokenizer):
    return make_tokenizer(
        ["Angela Merkel besuchte Berlin .", "Die Deutsche Bahn fährt", "The cat sleeps", "Er geht zu dem Bahnhof ."]
    )


# ------------------------------------------------------------------ loaders


def test_panx_loader_strips_the_language_prefix():
    sents = tc.load_panx(FIX / "panx_de.tsv", "de")
    assert [s["words"] for s in sents] == [
        ["Angela", "Merkel", "besuchte", "Berlin", "."],
        ["Die", "Deutsche", "Bahn", "fährt"],
    ]
    assert sents[0]["tags"] == ["B-PER", "I-PER", "O", "B-LOC", "O"] and sents[1]["tags"][1:3] == ["B-ORG", "I-ORG"]
    with pytest.raises(DataError, match=r"panx_de.tsv:1: word 'de:Angela' lacks the 'fr:' prefix"):
        tc.load_panx(FIX / "panx_de.tsv", "fr")


def test_panx_loader_rejects_a_tag_outside_the_label_set(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("de:Berlin\tB-GPE\n", encoding="utf-8")
    with pytest.raises(DataError, match="tag 'B-GPE' is not one of O, B-PER"):
        tc.load_panx(p, "de")


def test_udpos_conllu_expands_multiword_tokens_and_skips_textless_sentences():
    sents = tc.load_udpos_conllu(FIX / "udpos_de.conllu", "de")
    assert len(sents) == 2  # fixture-3 has only '_' words (like treebanks shipped without text)
    assert sents[0]["words"] == ["Er", "geht", "zu", "dem", "Bahnhof", "."]
    assert sents[0]["tags"] == ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    assert sents[1]["id"] == "fixture-2" and sents[1]["tags"] == ["INTJ", "PUNCT"]


def test_xtreme_tsv_loader():
    sents = tc.load_tagged_columns(FIX / "udpos_en.tsv", "en")
    assert [(s["words"], s["tags"]) for s in sents] == [
        (["The", "cat", "sleeps"], ["DET", "NOUN", "VERB"]),
        (["Hi"], ["INTJ"]),
    ]


def test_hub_row_mappers_read_class_ids_and_strings():
    s = tc.udpos_row({"tokens": ["Er", "geht"], "pos_tags": [10, 15]}, "de")
    assert s["tags"] == ["PRON", "VERB"]  # 10 = PRON, 15 = VERB in google/xtreme's UPOS order
    s = tc.panx_row({"tokens": ["Angela", "Merkel", "spricht"], "ner_tags": [1, 2, 0], "langs": ["de"] * 3}, "de")
    assert s["tags"] == ["B-PER", "I-PER", "O"]
    assert tc.panx_row({"tokens": ["x"], "ner_tags": ["B-LOC"], "langs": ["de"]}, "de")["tags"] == ["B-LOC"]
    with pytest.raises(DataError, match="tag id 7 outside 0..6"):
        tc.panx_row({"tokens": ["x"], "ner_tags": [7], "langs": ["de"]}, "de")


def test_ccg_loaders_read_auto_and_piped_files():
    auto = ccg.load_ccg_auto(FIX / "wsj_0001.auto")
    assert [s["id"] for s in auto] == ["wsj_0001.1", "wsj_0001.2"]
    assert auto[0]["words"] == ["Fixtur", "likes", "tests"] and auto[0]["tags"] == ["N", r"(S[dcl]\NP)/NP", "N"]
    assert auto[1]["tags"] == ["NP", r"(S[dcl]\NP)/(S[adj]\NP)", r"S[adj]\NP"]
    piped = ccg.load_ccg_piped(FIX / "ccg_fixture.piped")
    assert piped[0]["tags"] == auto[0]["tags"] and piped[1]["words"] == ["It", "works", "."]
    assert piped[1]["tags"] == ["NP", r"S[dcl]\NP", "."]  # word|POS|supertag: the last field is the supertag
    assert ccg.supertag_labels(auto) == sorted({"N", r"(S[dcl]\NP)/NP", "NP", r"(S[dcl]\NP)/(S[adj]\NP)", r"S[adj]\NP"})


# ------------------------------------------------------------------ windows


def test_long_sentences_are_windowed_and_every_word_labelled_once(tok):
    words = ("Angela Merkel besuchte Berlin . Die Deutsche Bahn fährt " * 6).split()  # 54 words
    sents = [tc.tagged_sentence(words, ["O"] * len(words), "de"), tc.tagged_sentence(["Hi"], ["O"], "de")]
    feats = tc.encode_tagging(tok, sents, {"O": 0}, max_length=16)
    long_wins = [f for f in feats if f["example"] == 0]
    assert len(long_wins) > 3
    assert all(
        len(f["input_ids"]) <= 16 and f["input_ids"][0] == tok.bos_token_id and f["input_ids"][-1] == tok.eos_token_id
        for f in feats
    )
    owned = [w for f in long_wins for w in f["words"]]
    assert owned == list(range(len(words)))  # cut at word boundaries: no word lost, none twice, in order
    for f in feats:
        assert sum(l != -100 for l in f["labels"]) == len(f["words"]) == len(f["positions"])
        assert all(f["labels"][p] == 0 for p in f["positions"])


def test_label_goes_to_the_first_piece_that_is_not_a_bare_marker(tok):
    s = tc.tagged_sentence(["Bahnhof", "xq"], ["NOUN", "X"], "de")
    (f,) = tc.encode_tagging(tok, [s], {"NOUN": 0, "X": 1}, max_length=32)
    bare = {i for t, i in tok.get_vocab().items() if t == "▁"}
    for pos in f["positions"]:
        assert f["input_ids"][pos] not in bare
    assert [f["labels"][p] for p in f["positions"]] == [0, 1]


# ------------------------------------------------------------------ metrics


def test_pos_scores_by_hand():
    gold = [["DET", "NOUN", "VERB"], ["INTJ"]]
    pred = [["DET", "NOUN", "NOUN"], ["INTJ"]]
    s = tc.pos_scores(gold, pred)
    assert s["accuracy"] == pytest.approx(3 / 4)
    # seqeval (XTREME's udpos "f1"), first letter = prefix: gold chunks DET, NOUN, VERB, INTJ (4); pred chunks
    # DET, NOUN NOUN (one chunk), INTJ (3); correct DET, INTJ -> P 2/3, R 1/2, F1 = 4/7
    assert s["seqeval_f1"] == pytest.approx(4 / 7)


def test_ner_strict_span_f1_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["O", "B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "O"], ["O", "B-ORG", "O", "O"]]
    # gold spans PER(0-1) LOC(3) ORG(1-2); pred PER(0-1) ORG(3) ORG(1); only PER matches: P = R = F1 = 1/3
    s = tc.ner_scores(gold, pred)
    assert (s["precision"], s["recall"], s["span_f1"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert s["span_f1_strict"] == pytest.approx(1 / 3)  # no stray I-: both seqeval modes agree


def test_panx_scores_headline_is_seqeval_default_mode():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    pred = [["I-PER", "I-PER", "O", "B-LOC", "I-ORG"]]
    # default (conlleval, XTREME's evaluate.py): pred PER[0-1] LOC[3] ORG[4], correct 2 -> P 2/3, R 1, F1 4/5
    # strict IOB2: pred LOC[3] only, correct 1 -> P 1, R 1/2, F1 2/3
    s = tc.ner_scores(gold, pred)
    assert (s["precision"], s["recall"], s["span_f1"]) == pytest.approx((2 / 3, 1.0, 4 / 5))
    assert s["span_f1_strict"] == pytest.approx(2 / 3)


def test_supertag_accuracy_by_hand():
    assert ccg.supertag_accuracy([["N", "NP"], ["S"]], [["N", "N"], ["S"]]) == pytest.approx(2 / 3)
