"""Extractive QA: SQuAD-format loaders (SQuAD, MLQA, TyDiQA-GoldP), windows with stride, span postprocessing,
SQuAD v1.1 and MLQA per-language scoring."""

import json
from pathlib import Path

import numpy as np
import pytest

from xitcore.errors import DataError
from xitcore.tasks import qa

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

FIX = Path(__file__).parent / "fixtures" / "kinds"


@pytest.fixture(scope="module")
def tok(make_tokenizer):
    doc = json.loads((FIX / "squad_dev.json").read_text(encoding="utf-8"))
    texts = [p["context"] for a in doc["data"] for p in a["paragraphs"]] + ["Where does the river start ?"]
    return make_tokenizer(texts, vocab_size=300)


def test_squad_mlqa_tydiqa_loaders():
    sq = qa.load_squad_json(FIX / "squad_dev.json", "en")
    assert [e["id"] for e in sq] == ["fx-q1", "fx-q2", "fx-q3"] and sq[1]["answers"] == ["1850"]
    assert all(e["context"][s : s + len(a)] == a for e in sq for a, s in zip(e["answers"], e["answer_starts"]))
    (ml,) = qa.load_squad_json(FIX / "dev-context-de-question-de.json", "de")
    assert ml["answers"] == ["die kleine Stadt Beispielheim"] and ml["lang"] == "de"
    (sw,) = qa.load_tydiqa_goldp(FIX / "tydiqa-goldp-v1.1-dev.json", "sw")
    assert sw["id"] == "swahili-2222-0" and sw["answers"] == ["wakati wa baridi"]
    assert [e["id"] for e in qa.load_tydiqa_goldp(FIX / "tydiqa-goldp-v1.1-dev.json", "en")] == ["english-1111-0"]
    with pytest.raises(DataError, match="TyDiQA-GoldP language 'de' is unknown; allowed: ar, bn, en"):
        qa.load_tydiqa_goldp(FIX / "tydiqa-goldp-v1.1-dev.json", "de")


def test_a_shifted_answer_offset_is_refused(tmp_path):
    doc = json.loads((FIX / "squad_dev.json").read_text(encoding="utf-8"))
    doc["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] += 1
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataError, match="question fx-q2: answer '1850' is not at offset"):
        qa.load_squad_json(p, "en")


def test_hub_rows():
    row = {"id": "a", "title": "T", "context": "x y", "question": "q?", "answers": {"text": ["y"], "answer_start": [2]}}
    e = qa.squad_row(row, "de")
    assert (e["answers"], e["answer_starts"], e["lang"]) == (["y"], [2], "de")
    assert qa.tydiqa_row(dict(row, id="korean-9-0"), "ko")["id"] == "korean-9-0"
    assert qa.tydiqa_row(dict(row, id="korean-9-0"), "ru") is None


def test_long_context_windows_keep_every_answer_and_offsets_map_back(tok):
    ex = qa.load_squad_json(FIX / "squad_dev.json", "en")
    feats = qa.encode_qa_windows(tok, ex, max_length=48, doc_stride=12, max_query_length=8)
    for i, e in enumerate(ex):
        mine = [f for f in feats if f["example"] == i]
        assert len(mine) > 2 and all(len(f["input_ids"]) <= 48 for f in mine)
        # windows cover the whole context, in order, with overlap
        spans = [(min(o[0] for o in f["offsets"] if o), max(o[1] for o in f["offsets"] if o)) for f in mine]
        assert spans[0][0] == 0 and spans[-1][1] == len(e["context"].rstrip())
        assert all(b[0] < a[1] for a, b in zip(spans, spans[1:]))
        hits = [f for f in mine if f["start"] > 0]
        assert hits, f"answer of {e['id']} lost"
        for f in hits:
            assert e["context"][f["offsets"][f["start"]][0] : f["offsets"][f["end"]][1]].strip() == e["answers"][0]
        assert all(f["start"] == f["end"] == 0 for f in mine if f not in hits)


def test_postprocess_picks_the_best_valid_span_by_hand():
    ctx = "Paris is in France"
    ex = [qa.qa_example("x", ctx, "q", ["Paris"], [0], "en")]
    offs = [None, None, None, None, (0, 5), (6, 8), (9, 11), (12, 18), None]
    f = {"example": 0, "input_ids": list(range(9)), "offsets": offs, "start": 0, "end": 0}
    start = np.zeros(9)
    end = np.zeros(9)
    start[[1, 4, 6]] = [10, 3, 1.5]  # position 1 is a question token: never an answer
    end[[1, 7, 4]] = [10, 4, 2]
    # valid pairs: (4,7) 3+4 = 7.0 "Paris is in France"; (6,7) 1.5+4 = 5.5; (4,4) 3+2 = 5.0 "Paris"; ...
    (p,) = qa.postprocess_qa(ex, [f], [start], [end], n_best=20, max_answer_length=30)
    assert (p.text, p.score) == ("Paris is in France", 7.0)
    assert [t for t, _ in p.nbest[:3]] == ["Paris is in France", "in France", "Paris"]
    # at most 3 tokens: (4,7) has 4 -> "in France" (5.5) wins
    (p,) = qa.postprocess_qa(ex, [f], [start], [end], max_answer_length=3)
    assert (p.text, p.score) == ("in France", 5.5)
    # a second window of the same example with a better span wins
    g = {"example": 0, "input_ids": list(range(9)), "offsets": offs, "start": 0, "end": 0}
    s2, e2 = np.zeros(9), np.zeros(9)
    s2[7], e2[7] = 6, 6
    (p,) = qa.postprocess_qa(ex, [f, g], [start, s2], [end, e2])
    assert (p.text, p.score) == ("France", 12.0)
    # nothing valid -> empty prediction
    (p,) = qa.postprocess_qa(
        ex, [{"example": 0, "input_ids": [0, 1], "offsets": [None, None], "start": 0, "end": 0}], [[1, 2]], [[1, 2]]
    )
    assert p.text == ""


def test_end_to_end_gold_logits_recover_answers(tok):
    """Logits that point at each window's gold tokens give back exactly the gold answers."""
    ex = qa.load_squad_json(FIX / "squad_dev.json", "en")
    feats = qa.encode_qa_windows(tok, ex, max_length=48, doc_stride=12, max_query_length=8)
    starts, ends = [], []
    for f in feats:
        s, e = np.zeros(len(f["input_ids"])), np.zeros(len(f["input_ids"]))
        if f["start"]:
            s[f["start"]], e[f["end"]] = 5, 5
        starts.append(s)
        ends.append(e)
    preds = qa.postprocess_qa(ex, feats, starts, ends)
    assert [p.text.strip() for p in preds] == [e["answers"][0] for e in ex]
    assert qa.qa_scores([e["answers"] for e in ex], [p.text for p in preds], "en") == {"f1": 1.0, "exact_match": 1.0}


# ------------------------------------------------------------------ MLQA normalisation (mlqa_evaluation_v1.py)


@pytest.mark.parametrize(
    "lang,pred,gold,em",
    [
        ("en", "The Eiffel Tower!", "eiffel tower", 1.0),  # article + ASCII punctuation
        ("es", "los Estados Unidos", "Estados Unidos", 1.0),  # Spanish article
        ("de", "der Rhein", "Rhein", 1.0),  # German article
        ("de", "«Berlin»", "Berlin", 1.0),  # Unicode punctuation (Pi/Pf) removed
        ("vi", "của Hà Nội", "Hà Nội", 1.0),  # Vietnamese "article" list of the script
        ("ar", "الكتاب", "كتاب", 1.0),  # 'ال' removed
        ("hi", "the book", "book", 0.0),  # no articles removed for Hindi
    ],
)
def test_mlqa_exact_match_per_language(lang, pred, gold, em):
    assert qa.mlqa_f1_em([[gold]], [pred], lang)["exact_match"] == em


def test_mlqa_chinese_is_scored_by_character_and_squad_is_not():
    # zh mixed segmentation: 北京大学 -> 北 京 大 学 vs 北 京: 2 common, P = 2/4, R = 2/2, F1 = 2/3
    assert qa.mlqa_f1_em([["北京"]], ["北京大学"], "zh")["f1"] == pytest.approx(2 / 3)
    # SQuAD v1.1 (whitespace tokens): one token each, no overlap
    assert qa.qa_scores([["北京"]], ["北京大学"], "zh", mlqa=False)["f1"] == 0.0
    # the Arabic rule removes 'ال' inside words too, as the official script does
    assert qa.mlqa_normalize_answer("كالبيت", "ar") == "ك بيت"
    assert qa.mlqa_normalize_answer("Hello, «World» 2020", "en") == "hello world 2020"
    with pytest.raises(ValueError, match="MLQA language 'fr' is unknown"):
        qa.mlqa_normalize_answer("x", "fr")


def test_mlqa_f1_by_hand():
    # en: pred "the big red car" -> big red car; gold "a red car" -> red car: 2 common, P 2/3, R 1 -> F1 0.8
    # second question: two golds, best is the exact one
    r = qa.mlqa_f1_em([["a red car"], ["bus", "a tram"]], ["the big red car", "tram"], "en")
    assert r["f1"] == pytest.approx((0.8 + 1.0) / 2) and r["exact_match"] == pytest.approx(0.5)
