"""Retrieval: Tatoeba, BUCC (ratio margin, threshold on gold), LAReQA mAP@20, Mewsli-X; values computed by hand."""

from pathlib import Path

import numpy as np
import pytest

from xitcore.errors import DataError
from xitcore.tasks import retrieval as ret

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

FIX = Path(__file__).parent / "fixtures" / "kinds"


# ------------------------------------------------------------------ Tatoeba


def test_tatoeba_loader_and_hub_row():
    p = ret.load_tatoeba(FIX / "tatoeba.deu-eng.deu", FIX / "tatoeba.deu-eng.eng", "de")
    assert p.xx[1] == "Das Haus ist rot." and p.en[1] == "The house is red." and len(p.xx) == 3
    row = {
        "source_sentence": "Ich bin müde.\n",
        "target_sentence": "I am tired.\n",
        "source_lang": "deu",
        "target_lang": "eng",
    }
    assert ret.tatoeba_row(row, "de") == ("Ich bin müde.", "I am tired.")


def test_tatoeba_files_must_align(tmp_path):
    (tmp_path / "a").write_text("x\ny\n", encoding="utf-8")
    (tmp_path / "b").write_text("x\n", encoding="utf-8")
    with pytest.raises(DataError, match="2 lines but .* has 1"):
        ret.load_tatoeba(tmp_path / "a", tmp_path / "b", "de")


def test_tatoeba_top1_by_hand():
    xx = [[1, 0], [0, 1], [1, 1]]
    en = [[1, 0.1], [1, 0.9], [0.9, 1]]
    # en0 -> xx0 (cos .995 vs .774); en1 -> xx2 (cos .999) not xx1 (.669): wrong; en2 -> xx2 (.999): 2/3
    assert ret.tatoeba_top1(xx, en) == pytest.approx(2 / 3)


# ------------------------------------------------------------------ BUCC


def test_bucc_files():
    d = ret.load_bucc(*(FIX / "bucc2018" / "de-en" / f"de-en.sample.{x}" for x in ("de", "en", "gold")), "de")
    assert d.src_ids == ["de-000001", "de-000002", "de-000003"] and d.en_sents[2] == "Unrelated."
    assert d.gold == {("de-000001", "en-000001"), ("de-000002", "en-000002")}
    row = {"source_sentence": "a", "target_sentence": "b", "source_lang": "de-000001", "target_lang": "en-000001"}
    assert ret.bucc_row(row, "de") == ("de-000001", "a", "en-000001", "b")


def test_bucc_ratio_margin_scores_by_hand():
    x = [[1, 0], [0, 1], [0.6, 0.8]]
    y = [[1, 0], [0, 1], [0.8, 0.6]]
    # cos: x0 (1, 0, .8); x1 (0, 1, .6); x2 (.6, .8, .96). k = 2 neighbours:
    # fwd means x0 .9, x1 .8, x2 .88; bwd means (columns) y0 .8, y1 .9, y2 .88
    # x0-y0: 1 / ((.9+.8)/2) = 1/.85; x1-y1: 1 / ((.8+.9)/2) = 1/.85; x2-y2: .96 / ((.88+.88)/2) = .96/.88
    # (x0-y2 .8/.89 and x2-y1 .8/.89 lose); forward and backward agree, all three pairs are kept
    cand = ret.bucc_candidates(x, y, ["s0", "s1", "s2"], ["t0", "t1", "t2"], k=2)
    assert cand == pytest.approx({("s0", "t0"): 1 / 0.85, ("s1", "t1"): 1 / 0.85, ("s2", "t2"): 0.96 / 0.88})


def test_bucc_keeps_each_sentence_once():
    # two sources whose best target is the same: the higher score keeps it, the other source takes what is left
    cand = ret.bucc_candidates([[1, 0], [0.99, 0.14]], [[1, 0]], ["s0", "s1"], ["t0"], k=4)
    assert list(cand) == [("s0", "t0")]


def test_bucc_threshold_on_gold_by_hand():
    cand = {("a", "1"): 0.9, ("b", "2"): 0.8, ("c", "3"): 0.7, ("d", "4"): 0.6}
    gold = {("a", "1"), ("c", "3"), ("e", "5")}
    # by score: a ok (P 1, R 1/3, F1 .5); b no (F1 .4); c ok (P 2/3, R 2/3, F1 2/3, best); d no (F1 4/7)
    # threshold midway between c and d: .65; kept a, b, c
    assert ret.bucc_best_threshold(cand, gold) == pytest.approx(0.65)
    r = ret.bucc_f1(cand, gold)
    assert (r["precision"], r["recall"], r["f1"], r["threshold"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3, 0.65))
    r = ret.bucc_f1(cand, gold, threshold=0.85)  # a threshold chosen elsewhere: only a -> P 1, R 1/3, F1 .5
    assert (r["precision"], r["recall"], r["f1"]) == pytest.approx((1.0, 1 / 3, 0.5))


# ------------------------------------------------------------------ LAReQA


def test_average_precision_at_k_by_hand():
    # hits at ranks 1 and 3 of 2 relevant: (1/1 + 2/3) / 2
    assert ret.average_precision_at_k({0, 2}, [0, 5, 2, 7], k=20) == pytest.approx(5 / 6)
    # k cuts the list: top 3 = [5, 0, 6], one hit at rank 2 -> (1/2) / min(3 relevant, k=3)
    assert ret.average_precision_at_k({0, 1, 2}, [5, 0, 6, 1, 2], k=3) == pytest.approx(1 / 6)


def test_lareqa_pool_from_xquad_r_files():
    qs, cands = ret.load_lareqa({"en": FIX / "xquad-r" / "en.json", "de": FIX / "xquad-r" / "de.json"})
    assert [(q.uid, q.xling_id, q.lang) for q in qs] == [
        ("q1_en", "q1", "en"),
        ("q2_en", "q2", "en"),
        ("q1_de", "q1", "de"),
        ("q2_de", "q2", "de"),
    ]
    assert [(c.uid, c.sentence, c.xling_ids) for c in cands] == [
        ("en_1_0", "Cats sleep a lot.", {"q1"}),
        ("en_1_1", "Dogs bark at night.", {"q2"}),
        ("de_1_0", "Katzen schlafen viel.", {"q1"}),
        ("de_1_1", "Hunde bellen nachts.", {"q2"}),
    ]
    assert cands[0].text == "Cats sleep a lot.Cats sleep a lot. Dogs bark at night."  # sentence + context


def test_lareqa_map_by_hand():
    qs, cands = ret.load_lareqa({"en": FIX / "xquad-r" / "en.json", "de": FIX / "xquad-r" / "de.json"})
    c = [[0.9, 0.1], [0.1, 0.9], [0.5, 0.5], [0.6, 0.4]]  # en_1_0 (q1), en_1_1 (q2), de_1_0 (q1), de_1_1 (q2)
    q = [[1, 0], [0, 1], [1, 0], [0.4, 0.6]]
    # q1_en: .9 (q1) .6 .5 (q1) .1 -> hits 1, 3: 5/6;  q2_en: .9 (q2) .5 .4 (q2) .1 -> 5/6;  q1_de = q1_en: 5/6
    # q2_de: en_1_1 .58 (q2), de_1_0 .50, de_1_1 .48 (q2), en_1_0 .42 -> hits 1, 3: 5/6  ... all 5/6
    assert ret.lareqa_map_at_k(q, c, qs, cands) == pytest.approx(5 / 6)
    q[3] = [0.2, 0.8]  # q2_de: en_1_1 .74 (q2), de_1_1 .44 (q2), de_1_0 .5 -> order .74, .5, .44, .26: hits 1, 3
    q[2] = [0.45, 0.55]  # q1_de: en_1_1 .54, de_1_0 .5 (q1), de_1_1 .49, en_1_0 .46 (q1) -> (1/2 + 2/4) / 2 = .5
    assert ret.lareqa_map_at_k(q, c, qs, cands) == pytest.approx((5 / 6 * 3 + 0.5) / 4)


# ------------------------------------------------------------------ Mewsli-X


def test_mewslix_mentions_entities_and_labels():
    ms = ret.load_mewslix_mentions(FIX / "wikinews_mentions" / "dev-en.jsonl", FIX / "wikinews_labels" / "dev-en.json")
    assert [(m.example_id, m.entity_id, m.lang) for m in ms] == [
        ("fx-en-1", "Q900001", "en"),
        ("fx-en-2", "Q900002", "en"),
    ]
    # one sentence of context, mention marked with braces, braces in the text turned into parentheses
    assert ms[0].query == "mayor: The { mayor } met (the) press."
    assert ms[1].query == "Fixtureville: Later, { Fixtureville } opened a new park."
    ents = ret.load_mewslix_entities(FIX / "candidate_set_entities.jsonl")
    assert [(e.entity_id, e.text) for e in ents] == [
        ("Q900001", "A mayor leads a town. Mayors are elected."),
        ("Q900002", "Fixtureville is an invented town."),
    ]


def test_mewslix_map20_is_mrr_by_hand():
    gold = {"a": "Q1", "b": "Q2", "c": "Q3"}
    pred = {"a": ["Q1", "Q9"], "b": ["Q9", "Q8", "Q2"], "c": ["Q9"]}
    assert ret.mewslix_map_at_k(gold, pred) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert ret.mewslix_map_at_k(gold, pred, k=2) == pytest.approx(1 / 3)  # b's gold falls outside the top 2
    ranked = ret.rank_by_dot(np.array([[1.0, 0.0]]), np.array([[0.2, 0], [0.9, 0], [0.5, 0]]), k=2)
    assert ranked == [[1, 2]]
