"""Claims ledger: verdict logic and ledger rows on constructed (synthetic) result records."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml
from book_synthetic import synthetic_results

from xitcore.book import claims as C
from xitcore.book import tables as T

LANGS = ["en", "de", "es", "zh"]


def frame(
    values: dict[str, list[float]], *, mlm=(5.0, 7.0), ner: bool = True, tatoeba: bool = True, preset: str = "smoke"
) -> pd.DataFrame:
    """Exact records: condition -> per-seed zero-shot score (same on every language and task)."""
    rows = []

    def add(cond, seed, phase, task, lang, metric, value):
        rows.append(
            dict(
                preset=preset,
                condition=cond,
                seed=seed,
                phase=phase,
                task=task,
                language=lang,
                metric=metric,
                value=value,
                run=f"runs/{phase}/{cond}-{seed}",
            )
        )

    for cond, vals in values.items():
        add(cond, 0, "mlm", "mlm", "all", "heldout_loss", mlm[0])
        add(cond, 0, "mlm", "mlm", "all", "unigram_entropy", mlm[1])
        add(cond, 0, "mlm", "tatoeba", "de", "top1", 1.0)
        for seed, v in enumerate(vals, start=1):
            for lang in LANGS:
                add(cond, seed, "target", "pos", lang, "accuracy", 90.0 if lang == "en" else v)
            if ner:
                for lang in ("en", "es", "nl"):
                    add(cond, seed, "target", "ner", lang, "span_f1", 70.0 if lang == "en" else v)
            if tatoeba and cond != "no-intermediate":
                add(cond, seed, "intermediate", "tatoeba", "de", "top1", v)
    return pd.DataFrame(rows, columns=list(T.COLUMNS))


def claim(**kw) -> C.Claim:
    base = dict(
        id="X",
        statement="s",
        paper_value=None,
        paper_unit="",
        source="",
        test="",
        treatment=("en-qa",),
        reference=("no-intermediate",),
        family="pos",
    )
    base.update(kw)
    return C.Claim(**base)


def row(df, c) -> dict:
    return C.ledger_table(df, claims=[c]).iloc[0].to_dict()


# ------------------------------------------------------------------------------------ verdict()


def test_verdict_supported_contradicted_inconclusive():
    assert C.verdict([1.0, 1.2, 0.9], +1).verdict == C.SUPPORTED
    assert C.verdict([1.0, 1.2, 0.9], -1).verdict == C.CONTRADICTED
    assert C.verdict([-1.0, -1.2, -0.9], +1).verdict == C.CONTRADICTED
    assert C.verdict([-1.0, -1.2, -0.9], -1).verdict == C.SUPPORTED
    v = C.verdict([1.0, -1.0, 0.5], +1)
    assert v.verdict == C.INCONCLUSIVE and "includes 0" in v.reason and v.n == 3
    assert C.verdict([0.0, 0.0, 0.0]).verdict == C.INCONCLUSIVE  # degenerate CI [0, 0] contains 0
    assert C.verdict([2.0, 2.0]).verdict == C.SUPPORTED  # sd 0: the interval is the point 2


def test_verdict_not_testable_cases():
    v = C.verdict([1.0], +1)
    assert v.verdict == C.NOT_TESTABLE and "fewer than 2 seeds" in v.reason and v.n == 1
    assert C.verdict([], +1).verdict == C.NOT_TESTABLE
    assert C.verdict(None, +1).verdict == C.NOT_TESTABLE
    assert C.verdict([1.0, float("nan")], +1).verdict == C.NOT_TESTABLE  # NaN dropped -> n = 1
    v = C.verdict([1.0, 2.0, 3.0], +1, untestable="no HellaSwag data offline")
    assert v.verdict == C.NOT_TESTABLE and v.reason == "no HellaSwag data offline"
    with pytest.raises(ValueError):
        C.verdict([1.0, 2.0], direction=0)


def test_mean_ci_is_a_t_interval():
    m, lo, hi = C.mean_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert m == pytest.approx(2.0)
    assert lo == pytest.approx(2.0 - half, abs=1e-6) and hi == pytest.approx(2.0 + half, abs=1e-6)
    v = C.verdict([1.0, 2.0, 3.0])
    assert (v.ci_lo, v.ci_hi) == pytest.approx((lo, hi)) and v.sd == pytest.approx(1.0)


# ------------------------------------------------------------------------------------ ledger rows


def test_ledger_row_supported_with_exact_numbers():
    df = frame({"no-intermediate": [50.0, 51.0, 52.0], "en-qa": [53.0, 54.5, 55.0]})
    r = row(df, claim())
    assert r["verdict"] == C.SUPPORTED
    assert r["n seeds"] == 3 and r["seeds"] == "1,2,3"
    assert r["Δ mean"] == pytest.approx((3.0 + 3.5 + 3.0) / 3, abs=1e-3)
    assert r["CI low"] > 0


def test_ledger_row_contradicted_and_inconclusive():
    df = frame({"no-intermediate": [50.0, 51.0, 52.0], "en-qa": [47.0, 48.0, 49.5], "en-nli": [51.0, 50.0, 52.5]})
    assert row(df, claim())["verdict"] == C.CONTRADICTED
    r = row(df, claim(treatment=("en-nli",)))
    assert r["verdict"] == C.INCONCLUSIVE and r["CI low"] < 0 < r["CI high"]


def test_ledger_not_testable_reasons():
    ok = {"no-intermediate": [50.0, 51.0, 52.0], "en-qa": [53.0, 54.0, 55.0]}
    # one seed
    r = row(frame({"no-intermediate": [50.0], "en-qa": [53.0]}), claim())
    assert r["verdict"] == C.NOT_TESTABLE and "fewer than 2 seeds" in r["reason"]
    # the encoder has not learnt more than unigram statistics
    r = row(frame(ok, mlm=(7.0, 7.1)), claim())
    assert r["verdict"] == C.NOT_TESTABLE and "unigram-entropy floor" in r["reason"]
    # no MLM rows at all
    df = frame(ok)
    r = row(df[df["task"] != "mlm"], claim())
    assert r["verdict"] == C.NOT_TESTABLE and "MLM loss" in r["reason"]
    # a condition missing
    r = row(frame(ok), claim(treatment=("ml-qa",)))
    assert r["verdict"] == C.NOT_TESTABLE and "ml-qa" in r["reason"]
    # a task missing on one side
    r = row(frame(ok, ner=False), claim(family="ner"))
    assert r["verdict"] == C.NOT_TESTABLE and "NER" in r["reason"]
    # composite needs all of POS, NER and Tatoeba
    r = row(frame(ok, ner=False), claim(family="composite"))
    assert r["verdict"] == C.NOT_TESTABLE and "ner" in r["reason"]
    # fixed reason
    r = row(frame(ok), claim(untestable="no BUCC data offline"))
    assert (r["verdict"], r["reason"]) == (C.NOT_TESTABLE, "no BUCC data offline")


def test_composite_uses_shared_mlm_checkpoint_for_retrieval():
    """no-intermediate has Tatoeba only on the shared MLM checkpoint (seed 0): it is the reference for
    every seed, so the composite is still testable."""
    df = frame({"no-intermediate": [50.0, 51.0, 52.0], "en-qa": [53.0, 54.0, 55.0]})
    r = row(df, claim(family="composite"))
    # pos Δ = 3 and ner Δ = 3 on each seed; tatoeba Δ = v - 1.0 -> (52, 53, 54)
    assert r["verdict"] == C.SUPPORTED and r["n seeds"] == 3
    assert r["Δ mean"] == pytest.approx((3 + 3 + 53) / 3, abs=1e-3)


def test_full_ledger_on_synthetic_table():
    df = synthetic_results(effects={"en-qa": 5.0, "en-nli": -5.0, "ml-qa": 8.0}, noise=0.3)
    led = C.ledger_table(df)
    assert list(led["id"]) == [c.id for c in C.CLAIMS]
    assert led["id"].is_unique
    assert set(led["verdict"]) <= set(C.VERDICTS)
    by = led.set_index("id")
    assert by.loc["P1-squad", "verdict"] == C.SUPPORTED
    assert by.loc["P2-mnli", "verdict"] == C.CONTRADICTED
    assert by.loc["Q3-qa-pos", "verdict"] == C.SUPPORTED  # ml-qa (+8) beats en-qa (+5)
    assert by.loc["P3-hellaswag", "verdict"] == C.NOT_TESTABLE
    assert by.loc["M1-xlmr-large", "verdict"] == C.NOT_TESTABLE
    assert "mlm, intermediate, target" in by.loc["M2-three-phases", "reason"]
    assert "chosen: pos→en-qa" in by.loc["P7-best-per-target", "reason"]
    assert by.loc["P5-tatoeba", "verdict"] in C.VERDICTS and by.loc["P5-tatoeba", "n seeds"] == 3
    # every testable row has numbers, every untestable one a reason
    testable = led[led["verdict"] != C.NOT_TESTABLE]
    assert testable["Δ mean"].notna().all() and testable["CI low"].notna().all()
    assert (led["reason"].str.len() > 0).all()


def test_contract_style_names_work_too():
    df = synthetic_results(effects={"en-qa": 5.0}, noise=0.3, style="contract")
    by = C.ledger_table(df).set_index("id")
    assert by.loc["P1-squad", "verdict"] == C.SUPPORTED


def test_ledger_needs_one_preset():
    df = pd.concat([frame({"no-intermediate": [1, 2]}), frame({"no-intermediate": [1, 2]}, preset="full")])
    with pytest.raises(ValueError, match="preset"):
        C.ledger_table(df)
    assert len(C.ledger_table(df, preset="full")) == len(C.CLAIMS)


def test_claims_and_ledger_serialise():
    recs = yaml.safe_load(C.claims_yaml())
    assert [r["id"] for r in recs] == [c.id for c in C.CLAIMS]
    assert all("verdict" not in r for r in recs)  # definitions only: verdicts are computed
    paper = {r["id"]: r["paper_value"] for r in recs}
    assert (
        paper["P1-squad"],
        paper["P2-mnli"],
        paper["P3-hellaswag"],
        paper["P4-multitask"],
        paper["P7-best-per-target"],
    ) == (8.2, 7.5, 7.0, 8.7, 5.4)
    led = C.ledger_table(synthetic_results())
    back = yaml.safe_load(C.ledger_yaml(led))
    assert len(back) == len(C.CLAIMS) and {"verdict", "reason", "Δ mean"} <= set(back[0])
    html = C.style_ledger(led).to_html()
    assert "not testable at this scale" in html
