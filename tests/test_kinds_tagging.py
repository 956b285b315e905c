"""Token classification and CCG: loaders on format fixtures, hub row mappers, windows with stride, metrics."""
from pathlib import Path

import pytest

from xitcore.errors import DataError
from xitcore.kinds import ccg
from xitcore.kinds import token_classification as tc

FIX = Path(__file__).parent / "fixtures" / "kinds"


@pytest.fixture(scope="module")
def tok(make_tokenizer):
    return make_tokenizer(["Angela Merkel besuchte Berlin .", "Die Deutsche Bahn fährt", "The cat sleeps", "Er geht zu dem Bahnhof ."])


# ------------------------------------------------------------------ loaders

def test_panx_loader_strips_the_language_prefix():
    sents = tc.load_panx(FIX / "panx_de.tsv", "de")
    assert [s.words for s in sents] == [["Angela", "Merkel", "besuchte", "Berlin", "."], ["Die", "Deutsche", "Bahn", "fährt"]]
    assert sents[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "O"] and sents[1].tags[1:3] == ["B-ORG", "I-ORG"]
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
    assert sents[0].words == ["Er", "geht", "zu", "dem", "Bahnhof", "."]
    assert sents[0].tags == ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    assert sents[1].id == "fixture-2" and sents[1].tags == ["INTJ", "PUNCT"]


def test_xtreme_tsv_loader():
    sents = tc.load_tagged_columns(FIX / "udpos_en.tsv", "en")
    assert [(s.words, s.tags) for s in sents] == [(["The", "cat", "sleeps"], ["DET", "NOUN", "VERB"]), (["Hi"], ["INTJ"])]


def test_hub_row_mappers_read_class_ids_and_strings():
    s = tc.udpos_row({"tokens": ["Er", "geht"], "pos_tags": [10, 15]}, "de")
    assert s.tags == ["PRON", "VERB"]  # 10 = PRON, 15 = VERB in google/xtreme's UPOS order
    s = tc.panx_row({"tokens": ["Angela", "Merkel", "spricht"], "ner_tags": [1, 2, 0], "langs": ["de"] * 3}, "de")
    assert s.tags == ["B-PER", "I-PER", "O"]
    assert tc.panx_row({"tokens": ["x"], "ner_tags": ["B-LOC"], "langs": ["de"]}, "de").tags == ["B-LOC"]
    with pytest.raises(DataError, match="tag id 7 outside 0..6"):
        tc.panx_row({"tokens": ["x"], "ner_tags": [7], "langs": ["de"]}, "de")


def test_ccg_loaders_read_auto_and_piped_files():
    auto = ccg.load_ccg_auto(FIX / "wsj_0001.auto")
    assert [s.id for s in auto] == ["wsj_0001.1", "wsj_0001.2"]
    assert auto[0].words == ["Fixtur", "likes", "tests"] and auto[0].tags == ["N", r"(S[dcl]\NP)/NP", "N"]
    assert auto[1].tags == ["NP", r"(S[dcl]\NP)/(S[adj]\NP)", r"S[adj]\NP"]
    piped = ccg.load_ccg_piped(FIX / "ccg_fixture.piped")
    assert piped[0].tags == auto[0].tags and piped[1].words == ["It", "works", "."]
    assert piped[1].tags == ["NP", r"S[dcl]\NP", "."]  # word|POS|supertag: the last field is the supertag
    assert ccg.supertag_labels(auto) == sorted({"N", r"(S[dcl]\NP)/NP", "NP", r"(S[dcl]\NP)/(S[adj]\NP)", r"S[adj]\NP"})


# ------------------------------------------------------------------ windows

def test_window_spans_and_owners_by_hand():
    # ten one-piece words, 4 pieces a window, 2 pieces of repeated context:
    # (0,4), then back up 2 words from 4 -> (2,6), (4,8), (6,10)
    spans = tc._window_spans([1] * 10, body=4, stride=2)
    assert spans == [(0, 4), (2, 6), (4, 8), (6, 10)]
    # word 2: 1 word of context on its short side in window 0, 0 in window 1 -> window 0;
    # word 3: 0 in window 0, 1 in window 1 -> window 1; and so on.
    assert tc._owners(spans, 10) == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]


def test_long_sentences_are_windowed_and_every_word_predicted_once(tok):
    words = ("Angela Merkel besuchte Berlin . Die Deutsche Bahn fährt " * 6).split()  # 54 words
    sents = [tc.TaggedSentence(words, ["O"] * len(words), "de"), tc.TaggedSentence(["Hi"], ["O"], "de")]
    wins = tc.encode_token_windows(tok, sents, {"O": 0}, max_length=16, stride=4)
    long_wins = [w for w in wins if w.example == 0]
    assert len(long_wins) > 3
    assert all(len(w.input_ids) <= 16 and w.input_ids[0] == tok.bos_token_id and w.input_ids[-1] == tok.eos_token_id
               for w in wins)
    owned = sorted(x for w in long_wins for x in w.owned_words)
    assert owned == list(range(len(words)))  # no word lost, none twice
    # consecutive windows share words (the stride), and a label sits exactly on each owned word's first piece
    assert any(set(range(a.word_ids[1], a.word_ids[-2] + 1)) & set(range(b.word_ids[1], b.word_ids[-2] + 1))
               for a, b in zip(long_wins, long_wins[1:]))
    for w in wins:
        assert [w.word_ids[p] for p in w.label_positions] == w.owned_words
        assert sum(l != tc.IGNORE for l in w.labels) == len(w.owned_words)
    # stitching: predict each position's word index -> every word gets back its own index
    stitched = tc.stitch_word_predictions(wins, [[-1 if x is None else x for x in w.word_ids] for w in wins],
                                          [len(s.words) for s in sents])
    assert stitched == [list(range(len(words))), [0]]


def test_stitching_refuses_a_missing_window(tok):
    sents = [tc.TaggedSentence("Die Deutsche Bahn fährt".split() * 5, ["O"] * 20, "de")]
    wins = tc.encode_token_windows(tok, sents, None, max_length=10, stride=2)
    rows = [[0] * len(w.input_ids) for w in wins]
    with pytest.raises(ValueError, match="never predicted"):
        tc.stitch_word_predictions(wins[:-1], rows[:-1], [20])


def test_label_goes_to_the_first_piece_that_is_not_a_bare_marker(tok):
    s = tc.TaggedSentence(["Bahnhof", "xq"], ["NOUN", "X"], "de")
    (w,) = tc.encode_token_windows(tok, [s], {"NOUN": 0, "X": 1}, max_length=32)
    bare = {i for t, i in tok.get_vocab().items() if t == "▁"}
    for pos in w.label_positions:
        assert w.input_ids[pos] not in bare
    assert [w.labels[p] for p in w.label_positions] == [0, 1]


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
