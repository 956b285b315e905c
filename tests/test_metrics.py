"""Metric functions against values computed by hand (in the comments) and against seqeval."""

import json
import math
import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest

from xitcore.metrics import (
    available_metrics,
    iob2_spans,
    load_metric,
    mean_ci,
    multiple_choice_accuracy,
    ner_scores,
    pos_accuracy,
    retrieval_top1,
    span_f1,
    squad_f1_em,
    squad_normalize_answer,
    t_quantile,
    unigram_entropy,
    xtreme_seqeval_f1,
)

# --------------------------------------------------------------------------- pos_accuracy


@pytest.mark.quick
def test_pos_accuracy_by_hand():
    # sentence 0: 3 tokens, 2 correct (VERB != NOUN); sentence 1: 4 tokens, 3 correct (ADJ != ADV)
    # -> 5 correct of 7 tokens
    gold = [["DET", "NOUN", "VERB"], ["PRON", "VERB", "ADV", "PUNCT"]]
    pred = [["DET", "NOUN", "NOUN"], ["PRON", "VERB", "ADJ", "PUNCT"]]
    assert pos_accuracy(gold, pred) == pytest.approx(5 / 7)
    assert pos_accuracy(gold, gold) == 1.0


@pytest.mark.quick
def test_pos_accuracy_length_mismatch_names_sentence():
    gold = [["DET", "NOUN"], ["VERB", "PUNCT"]]
    pred = [["DET", "NOUN"], ["VERB"]]
    with pytest.raises(ValueError, match="sentence 1"):
        pos_accuracy(gold, pred)
    with pytest.raises(ValueError, match="2 sentences"):
        pos_accuracy(gold, pred[:1])
    with pytest.raises(ValueError, match="no tokens"):
        pos_accuracy([[]], [[]])


# --------------------------------------------------------------------------- xtreme_seqeval_f1


@pytest.mark.quick
def test_xtreme_seqeval_f1_by_hand():
    # seqeval reads NOUN as prefix N + type OUN: a chunk is a run of identical tags.
    # gold runs: DET[0] NOUN[1-2] VERB[3] PUNCT[4]             -> 4
    # pred runs: DET[0] NOUN[1] ADJ[2] VERB[3] PUNCT[4]         -> 5
    # correct: DET, VERB, PUNCT = 3 -> P = 3/5, R = 3/4, F1 = 2*.6*.75/1.35 = 2/3
    gold = [["DET", "NOUN", "NOUN", "VERB", "PUNCT"]]
    pred = [["DET", "NOUN", "ADJ", "VERB", "PUNCT"]]
    assert xtreme_seqeval_f1(gold, pred) == pytest.approx(2 / 3)
    assert pos_accuracy(gold, pred) == pytest.approx(4 / 5)  # not the same number


@pytest.mark.quick
def test_xtreme_seqeval_f1_runs_and_sentences():
    # one gold run NOUN[0-1]; pred NOUN[0], VERB[1]: nothing matches -> F1 0, accuracy 1/2
    assert xtreme_seqeval_f1([["NOUN", "NOUN"]], [["NOUN", "VERB"]]) == 0.0
    # sentences are separated: gold NOUN(s0), NOUN(s1); pred NOUN(s0), VERB(s1) -> P = R = F1 = 1/2
    assert xtreme_seqeval_f1([["NOUN"], ["NOUN"]], [["NOUN"], ["VERB"]]) == pytest.approx(0.5)
    # SYM starts with S ("single"): each word is its own chunk, so all correct -> 1
    assert xtreme_seqeval_f1([["SYM", "SYM"]], [["SYM", "SYM"]]) == 1.0
    # tuples work like lists (seqeval itself only flattens nested lists)
    assert xtreme_seqeval_f1([("DET", "NOUN")], [("DET", "NOUN")]) == 1.0


@pytest.mark.quick
def test_xtreme_seqeval_f1_equals_seqeval_call():
    from seqeval.metrics import f1_score

    rng = random.Random(0)
    tags = ["NOUN", "VERB", "DET", "ADJ", "PUNCT", "PROPN", "ADP", "SCONJ", "CCONJ", "X", "SYM", "INTJ"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(50)]
    pred = [[t if rng.random() < 0.8 else rng.choice(tags) for t in s] for s in gold]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = f1_score(gold, pred)
    assert xtreme_seqeval_f1(gold, pred) == pytest.approx(expected)
    with pytest.raises(ValueError, match="sentence 0"):
        xtreme_seqeval_f1([["NOUN"]], [["NOUN", "NOUN"]])


# --------------------------------------------------------------------------- span_f1


@pytest.mark.quick
def test_iob2_spans_strict():
    assert iob2_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # stray I (after O, or of another type) is not an entity
    assert iob2_spans(["O", "I-PER", "B-ORG", "I-PER"]) == [("ORG", 2, 2)]
    assert iob2_spans(["B-PER", "B-PER"]) == [("PER", 0, 0), ("PER", 1, 1)]
    assert iob2_spans(["B-PER", "I-PER", "B-MISC"], types={"PER"}) == [("PER", 0, 1)]
    with pytest.raises(ValueError, match="not IOB2"):
        iob2_spans(["NOUN"])


@pytest.mark.quick
def test_iob2_spans_default_mode_reads_stray_i_as_conlleval():
    # seqeval's default mode: an I-X that does not continue an X entity starts one (conlleval's reading)
    assert iob2_spans(["O", "I-PER", "B-ORG", "I-PER"], mode="default") == [("PER", 1, 1), ("ORG", 2, 2), ("PER", 3, 3)]
    assert iob2_spans(["I-PER", "I-PER", "O"], mode="default") == [("PER", 0, 1)]
    assert iob2_spans(["I-PER", "I-PER", "O"], mode="strict") == []
    with pytest.raises(ValueError, match="mode 'loose' is unknown"):
        iob2_spans(["O"], mode="loose")


@pytest.mark.quick
def test_span_f1_partial_match_by_hand():
    # gold: PER[0-1], LOC[3]; pred: PER[0] (wrong end), LOC[3]
    # correct 1 of 2 predicted, 1 of 2 gold -> P = R = F1 = 1/2
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "B-LOC"]]
    r = span_f1(gold, pred)
    assert (r["precision"], r["recall"], r["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (r["n_gold"], r["n_pred"], r["n_correct"]) == (2, 2, 1)
    assert r["per_type"]["PER"]["f1"] == 0.0 and r["per_type"]["PER"]["support"] == 1
    assert r["per_type"]["LOC"]["f1"] == 1.0


@pytest.mark.quick
def test_span_f1_type_restricted_by_hand():
    # sentence 0 gold: PER[0], MISC[2-3]; pred: PER[0], MISC[2]
    # sentence 1 gold: ORG[1]; pred: ORG[1], MISC[0]
    gold = [["B-PER", "O", "B-MISC", "I-MISC"], ["O", "B-ORG"]]
    pred = [["B-PER", "O", "B-MISC", "O"], ["B-MISC", "B-ORG"]]
    # all types: gold PER, MISC, ORG = 3 entities; pred PER, MISC[2], MISC[s1 0], ORG = 4
    # correct PER, ORG = 2 -> P = 2/4, R = 2/3, F1 = 2*(1/2)(2/3)/(7/6) = 4/7
    r = span_f1(gold, pred)
    assert (r["precision"], r["recall"], r["f1"]) == pytest.approx((1 / 2, 2 / 3, 4 / 7))
    # MISC ignored (read as O in gold and pred): gold PER, ORG; pred PER, ORG -> all 1
    r = span_f1(gold, pred, types={"PER", "ORG", "LOC"})
    assert (r["precision"], r["recall"], r["f1"]) == (1.0, 1.0, 1.0)
    assert "MISC" not in r["per_type"]
    assert r["per_type"]["LOC"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "n_pred": 0,
        "n_correct": 0,
    }


@pytest.mark.quick
def test_span_f1_empty_predictions():
    gold = [["B-PER", "I-PER", "O"], ["B-LOC"]]
    pred = [["O", "O", "O"], ["O"]]
    r = span_f1(gold, pred)
    assert (r["precision"], r["recall"], r["f1"]) == (0.0, 0.0, 0.0)
    assert (r["n_gold"], r["n_pred"]) == (2, 0)
    with pytest.raises(ValueError, match="sentence 1"):
        span_f1(gold, [["O", "O", "O"], []])


def _random_iob(rng, n_sent=300):
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
    gold = []
    for _ in range(n_sent):
        s, prev = [], "O"
        for _ in range(rng.randint(1, 15)):
            if prev != "O" and rng.random() < 0.5:  # mostly well-formed gold
                t = "I-" + prev[2:]
            else:
                t = rng.choice(tags)
            s.append(t)
            prev = t
        gold.append(s)
    pred = [[t if rng.random() < 0.8 else rng.choice(tags) for t in s] for s in gold]  # incl. stray I-
    return gold, pred


@pytest.mark.quick
def test_span_f1_matches_seqeval_strict():
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    gold, pred = _random_iob(random.Random(1))
    r = span_f1(gold, pred)
    kw = dict(mode="strict", scheme=IOB2)
    assert r["precision"] == pytest.approx(precision_score(gold, pred, **kw))
    assert r["recall"] == pytest.approx(recall_score(gold, pred, **kw))
    assert r["f1"] == pytest.approx(f1_score(gold, pred, **kw))
    rep = classification_report(gold, pred, output_dict=True, zero_division=0, **kw)
    for t, d in r["per_type"].items():
        assert d["precision"] == pytest.approx(rep[t]["precision"])
        assert d["recall"] == pytest.approx(rep[t]["recall"])
        assert d["f1"] == pytest.approx(rep[t]["f1-score"])
        assert d["support"] == rep[t]["support"]

    # types: same as seqeval after turning the other types into O
    keep = {"PER", "LOC"}

    def drop(seqs):
        return [[t if t == "O" or t[2:] in keep else "O" for t in s] for s in seqs]

    r = span_f1(gold, pred, types=keep)
    assert r["f1"] == pytest.approx(f1_score(drop(gold), drop(pred), **kw))
    assert set(r["per_type"]) == keep


@pytest.mark.quick
def test_span_f1_matches_seqeval_default():
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    gold, pred = _random_iob(random.Random(3))
    r = span_f1(gold, pred, mode="default")
    assert r["mode"] == "default"
    assert r["precision"] == pytest.approx(precision_score(gold, pred))
    assert r["recall"] == pytest.approx(recall_score(gold, pred))
    assert r["f1"] == pytest.approx(f1_score(gold, pred))
    assert r["f1"] != pytest.approx(span_f1(gold, pred, mode="strict")["f1"])  # the stray I- tags count here
    rep = classification_report(gold, pred, output_dict=True, zero_division=0)
    for t, d in r["per_type"].items():
        assert d["f1"] == pytest.approx(rep[t]["f1-score"])
        assert d["support"] == rep[t]["support"]


@pytest.mark.quick
def test_ner_scores_default_and_strict_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    pred = [["I-PER", "I-PER", "O", "B-LOC"], ["I-MISC", "B-ORG", "I-ORG", "I-LOC"]]
    # gold: PER[0-1] LOC[3] | ORG[1-2]  (3 entities)
    # default (conlleval): pred PER[0-1] LOC[3] | MISC[0] ORG[1-2] LOC[3] = 5, correct 3 -> P 3/5, R 1, F1 3/4
    # strict IOB2: no entity starts with I-: pred LOC[3] | ORG[1-2] = 2, correct 2 -> P 1, R 2/3, F1 4/5
    assert ner_scores(gold, pred) == {"span_f1": 75.0, "span_f1_strict": 80.0, "precision": 60.0, "recall": 100.0}
    # MISC read as O: default pred 4, correct 3 -> P 3/4, R 1, F1 6/7 = 85.71; strict unchanged
    assert ner_scores(gold, pred, types={"PER", "ORG", "LOC"}) == {
        "span_f1": 85.71,
        "span_f1_strict": 80.0,
        "precision": 75.0,
        "recall": 100.0,
    }


@pytest.mark.quick
def test_ner_scores_reproduce_xtreme_mock_panx():
    # XTREME's own mock PAN-X submission (tests/fixtures/xtreme_mock/README.md): its evaluate_test.py expects
    # these means over 40 languages from seqeval's default mode; strict IOB2 (this project's NER F1 before
    # issue 14) gives 59.90 on the same data.
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "fixtures" / "xtreme_mock" / "panx.json").read_text())
    langs = ref["languages"]
    assert len(langs) == 40
    full = {lang: span_f1(d["labels"], d["predictions"], mode="default") for lang, d in langs.items()}
    for key, metric in (("avg_f1", "f1"), ("avg_precision", "precision"), ("avg_recall", "recall")):
        mean = sum(100 * r[metric] for r in full.values()) / len(full)
        assert mean == pytest.approx(ref["expected"][key], abs=1e-9), key
    per_lang = {lang: ner_scores(d["labels"], d["predictions"]) for lang, d in langs.items()}
    assert round(sum(v["span_f1"] for v in per_lang.values()) / 40, 2) == 57.51
    assert round(sum(v["span_f1_strict"] for v in per_lang.values()) / 40, 2) == 59.90


# --------------------------------------------------------------------------- retrieval, choice


@pytest.mark.quick
def test_retrieval_top1_two_of_three():
    # normalised src rows: (1,0), (0,1), (.894,.447); tgt rows: (1,0), (0,1), (-.707,.707)
    # src0 -> sims (1, 0, -.71) -> 0 ok; src1 -> (0, 1, .71) -> 1 ok; src2 -> (.89, .45, -.32) -> 0 wrong
    src = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    tgt = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]])
    assert retrieval_top1(src, tgt) == pytest.approx(2 / 3)
    # cosine, not dot product: rescaling rows changes nothing
    assert retrieval_top1(src * 10, tgt * np.array([[100.0], [1.0], [0.01]])) == pytest.approx(2 / 3)
    assert retrieval_top1(src, src) == 1.0


@pytest.mark.quick
def test_retrieval_top1_torch_and_errors():
    torch = pytest.importorskip("torch")
    src = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]], dtype=torch.float16)
    tgt = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]])
    assert retrieval_top1(src, tgt) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shape"):
        retrieval_top1(np.ones((3, 2)), np.ones((2, 2)))


@pytest.mark.quick
def test_multiple_choice_accuracy():
    assert multiple_choice_accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx(3 / 4)
    with pytest.raises(ValueError):
        multiple_choice_accuracy([0, 1], [0])


# --------------------------------------------------------------------------- SQuAD


@pytest.mark.quick
def test_squad_normalisation():
    assert squad_normalize_answer("The  Cat!") == "cat"
    assert squad_normalize_answer("An apple, a day.") == "apple day"
    assert squad_normalize_answer("Theory of the atom") == "theory of atom"  # 'the' only as a word


@pytest.mark.quick
def test_squad_f1_em_by_hand():
    # q0: 'The cat' -> [cat]; 'a cat sat' -> [cat, sat]: common 1, P = 1/1, R = 1/2, F1 = 2/3, EM 0
    # q1: 'Paris!' -> [paris]; golds 'the city of Paris' (F1 2*1*(1/3)/(4/3) = 1/2), 'paris' (F1 1, EM 1) -> max 1, 1
    # q2: 'London' vs 'Rome': 0, 0
    gold = [["a cat sat"], ["the city of Paris", "paris"], ["Rome"]]
    pred = ["The cat", "Paris!", "London"]
    r = squad_f1_em(gold, pred)
    assert r["f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert r["exact_match"] == pytest.approx(1 / 3)
    assert squad_f1_em([["a cat sat"]], ["The cat"]) == pytest.approx({"f1": 2 / 3, "exact_match": 0.0})


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    "p, df, expected",
    [
        (0.975, 1, 12.7062),
        (0.975, 2, 4.3027),
        (0.975, 9, 2.2622),
        (0.995, 4, 4.6041),
        (0.95, 30, 1.6973),
        (0.975, 1000, 1.9623),
        (0.025, 2, -4.3027),
    ],
)
@pytest.mark.quick
def test_t_quantile_table(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-4)


@pytest.mark.quick
def test_t_quantile_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 5, 7, 15, 40, 200):
        for p in (0.9, 0.95, 0.975, 0.995):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-8)


@pytest.mark.quick
def test_mean_ci_by_hand():
    # values 1, 2, 3: mean 2, s = 1, df = 2, t = 4.3027 -> half width 4.3027 / sqrt(3) = 2.4842
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0
    assert (lo, hi) == pytest.approx((2 - 2.48419, 2 + 2.48419), abs=1e-4)
    m, lo, hi = mean_ci([5.0])
    assert m == 5.0 and math.isnan(lo) and math.isnan(hi)
    assert mean_ci([4.0, 4.0]) == (4.0, 4.0, 4.0)
    with pytest.raises(ValueError):
        mean_ci([])
    with pytest.raises(ValueError):
        mean_ci([1.0, float("nan")])


@pytest.mark.quick
def test_unigram_entropy():
    assert unigram_entropy({5: 2, 9: 2}) == pytest.approx(math.log(2))
    assert unigram_entropy([1, 1, 1, 0]) == pytest.approx(math.log(3))  # zero counts ignored
    # p = (3/4, 1/4): -(.75 ln .75 + .25 ln .25) = 0.562335
    assert unigram_entropy(np.array([3, 1])) == pytest.approx(0.5623351446)
    assert unigram_entropy({0: 7}) == 0.0
    torch = pytest.importorskip("torch")
    assert unigram_entropy(torch.tensor([3, 1])) == pytest.approx(0.5623351446)
    with pytest.raises(ValueError):
        unigram_entropy([0, 0])
    with pytest.raises(ValueError):
        unigram_entropy([1, -1])


# --------------------------------------------------------------------------- evaluate modules

_OFFLINE_SCRIPT = r"""
import json
from xitcore.metrics import load_metric
pos = load_metric("pos_accuracy")
ner = load_metric("seqeval_f1")
d = json.loads(input())
out = {
    "pos": pos.compute(predictions=d["pos_pred"], references=d["pos_gold"], include_xtreme_seqeval_f1=True),
    "ner": ner.compute(predictions=d["ner_pred"], references=d["ner_gold"]),
    "ner_typed": ner.compute(predictions=d["ner_pred"], references=d["ner_gold"], types=["PER", "LOC"]),
    "ner_strict": ner.compute(predictions=d["ner_pred"], references=d["ner_gold"], mode="strict"),
}
print("RESULT" + json.dumps(out))
"""


def test_evaluate_modules_offline_match_pure_functions(tmp_path):
    assert available_metrics() == ["pos_accuracy", "seqeval_f1"]
    with pytest.raises(ValueError, match="available: pos_accuracy, seqeval_f1"):
        load_metric("accuracy")
    pos_gold = [["DET", "NOUN", "NOUN", "VERB", "PUNCT"], ["PRON", "VERB"]]
    pos_pred = [["DET", "NOUN", "ADJ", "VERB", "PUNCT"], ["PRON", "NOUN"]]
    ner_gold, ner_pred = _random_iob(random.Random(2), n_sent=40)
    data = dict(pos_gold=pos_gold, pos_pred=pos_pred, ner_gold=ner_gold, ner_pred=ner_pred)
    env = dict(
        os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_EVALUATE_OFFLINE="1", HF_HOME=str(tmp_path / "hf")
    )
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT],
        input=json.dumps(data),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")][-1]
    out = json.loads(line[len("RESULT") :])
    assert out["pos"]["accuracy"] == pytest.approx(pos_accuracy(pos_gold, pos_pred))
    assert out["pos"]["accuracy"] == pytest.approx(5 / 7)
    assert out["pos"]["xtreme_seqeval_f1"] == pytest.approx(xtreme_seqeval_f1(pos_gold, pos_pred))
    # the module's default is seqeval's default mode, as in seqeval and Hugging Face's "seqeval" metric
    assert out["ner"] == json.loads(json.dumps(span_f1(ner_gold, ner_pred, mode="default")))  # per_type too
    assert out["ner_strict"] == json.loads(json.dumps(span_f1(ner_gold, ner_pred, mode="strict")))
    typed = span_f1(ner_gold, ner_pred, types={"PER", "LOC"}, mode="default")
    assert out["ner_typed"]["f1"] == pytest.approx(typed["f1"])
    assert set(out["ner_typed"]["per_type"]) == {"PER", "LOC"}
