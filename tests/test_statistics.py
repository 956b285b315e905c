"""xitcore.book.statistics against values computed independently, the declared families in the params, and one
adjusted p per comparison across the answer page, the comparison tables and the claims ledger (synthetic runs)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from book_synthetic import synthetic_results
from scipy import stats as st

from xitcore.book import claims as C
from xitcore.book import statistics as S
from xitcore.book import tables as T
from xitcore.config import AnalysisConfig, config_identity, load_analysis, load_condition
from xitcore.errors import ConfigError

# ------------------------------------------------------------------------------------ the module, by hand


@pytest.mark.quick
def test_interval_and_p_against_closed_forms():
    # Δ = 1, 2, 3: mean 2, sd 1; t(0.975, 2) = 4.302652729911275 (tables); df 2: p = 1 − t / sqrt(t² + 2)
    s = S.paired_stats([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)
    assert (s.n, s.mean, s.sd) == (3, pytest.approx(2.0), pytest.approx(1.0))
    assert (s.lo, s.hi) == pytest.approx((2 - half, 2 + half), abs=1e-9)
    t = 2.0 * math.sqrt(3)
    assert s.p == pytest.approx(1 - t / math.sqrt(t * t + 2), abs=1e-12)
    assert S.paired_stats([5.0]).n == 1 and math.isnan(S.paired_stats([5.0]).p)
    assert S.paired_stats([]).n == 0 and S.paired_stats([1.0, float("nan")]).n == 1


@pytest.mark.quick
def test_holm_textbook_examples():
    # Holm (1979) step-down: sorted p(i) · (m − i + 1), running maximum, capped at 1
    assert S.holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = S.holm([0.02, float("nan"), 0.7])  # NaN is not a comparison: m = 2
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.7)
    assert S.holm([]) == []


@pytest.mark.quick
def test_tost_and_non_superiority_against_one_sided_t_tests():
    d = [0.3, -0.2, 0.5, 0.1]
    n, m, se = len(d), float(np.mean(d)), float(np.std(d, ddof=1)) / 2.0
    margin = 1.0
    lower = st.t.sf((m + margin) / se, n - 1)  # H0: Δ ≤ −margin
    upper = st.t.cdf((m - margin) / se, n - 1)  # H0: Δ ≥ +margin
    assert S.equivalence(d, margin).p == pytest.approx(max(lower, upper), rel=1e-9)
    assert S.non_superiority(d, margin).p == pytest.approx(upper, rel=1e-9)
    # no margin declared: not testable, whatever the data
    for test in (S.equivalence, S.non_superiority):
        r = test(d, None)
        assert not r.testable and "no margin declared" in r.reason
        assert not test([0.1], margin).testable


@pytest.mark.quick
def test_minimum_detectable_difference_has_the_stated_power():
    sd, n, alpha = 1.5, 3, 0.05
    mdd = S.min_detectable_difference(sd, n, alpha, 0.8)
    crit = st.t.ppf(1 - alpha / 2, n - 1)
    nc = mdd / sd * math.sqrt(n)  # noncentral t: power of the two-sided paired test at that difference
    power = st.nct.sf(crit, n - 1, nc) + st.nct.cdf(-crit, n - 1, nc)
    assert power == pytest.approx(0.8, abs=1e-4)
    assert math.isnan(S.min_detectable_difference(sd, 1))
    line = S.family_power_line([S.paired_stats([1.0, 2.0, 3.5]), S.paired_stats([0.0, 1.0, 0.5])])
    assert "80 % power" in line and "n = 3" in line


@pytest.mark.quick
def test_heterogeneity_by_hand():
    a, b = S.paired_stats([1.3, 1.0, 1.6]), S.paired_stats([-0.9, -0.7, -1.1])
    w = np.array([1 / a.se**2, 1 / b.se**2])
    d = np.array([a.mean, b.mean])
    mean = float((w * d).sum() / w.sum())
    q = float((w * (d - mean) ** 2).sum())
    pooled = S.heterogeneity([a, b])
    assert pooled.k == 2 and pooled.q == pytest.approx(q)
    assert pooled.i2 == pytest.approx(100 * (q - 1) / q) and pooled.q_p == pytest.approx(st.chi2.sf(q, 1))
    # DerSimonian–Laird: τ² = (Q − (k − 1)) / (Σw − Σw² / Σw); weights 1 / (se² + τ²)
    tau2 = (q - 1) / (w.sum() - (w**2).sum() / w.sum())
    ws = 1 / (1 / w + tau2)
    assert pooled.tau2 == pytest.approx(tau2) and pooled.mean == pytest.approx((ws * d).sum() / ws.sum())
    half = 1.959963984540054 / math.sqrt(ws.sum())
    assert (pooled.lo, pooled.hi) == pytest.approx((pooled.mean - half, pooled.mean + half))
    # the case: pairs of opposite sign do not pool into an interval tighter than either pair
    assert pooled.hi - pooled.lo > max(a.hi - a.lo, b.hi - b.lo) / 2 and pooled.lo < 0 < pooled.hi
    assert mean != pytest.approx(pooled.mean) or tau2 == 0
    assert "no verdict" in pooled.text() and "I²" in pooled.text()
    assert S.heterogeneity([a]).k == 1 and "no pooled number" in S.heterogeneity([a]).text()


@pytest.mark.quick
def test_verdict_word_rule():
    assert S.verdict_word(3, 1.0, 0.001, 0.004) == S.HELPED
    assert S.verdict_word(3, -1.0, 0.001, 0.004) == S.HURT
    assert S.verdict_word(3, 1.0, 0.02, 0.095) == S.SUGGESTIVE  # the case: Holm p 0.095 is no "hurt"
    assert S.verdict_word(3, 1.0, 0.2, 0.6) == S.NOISE
    assert S.verdict_word(1, 1.0, float("nan"), float("nan")) == S.NOT_TESTABLE
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = float(rng.uniform(0, 0.2))
        adj = min(1.0, p * int(rng.integers(1, 8)))
        word = S.verdict_word(3, float(rng.normal()), p, adj)
        assert (word in (S.HELPED, S.HURT)) == (adj < 0.05)
        assert (word == S.SUGGESTIVE) == (p < 0.05 <= adj)


@pytest.mark.quick
def test_the_module_stands_alone():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(S.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(str(m).startswith(("xitcore", ".")) for m in imported if m), imported
    assert not any(n.level for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))


@pytest.mark.quick
def test_no_hand_written_t_distribution_or_holm_left():
    from pathlib import Path

    import xitcore

    root = Path(xitcore.__file__).parent
    text = "\n".join(p.read_text() for p in root.rglob("*.py"))
    assert "_betainc" not in text and "_t_cdf" not in text
    assert "def holm" in (root / "book" / "statistics.py").read_text()
    assert len(re.findall(r"def holm\(", text)) == 1


# ------------------------------------------------------------------------------------ declared in the params


@pytest.mark.quick
def test_analysis_section_is_declared_and_checked():
    spec = load_analysis("e5-small")
    assert spec.primary_tasks == ["pos", "ner"] and spec.primary_pairs == ["qa", "copa", "deprel"]
    assert spec.margins == {} and spec.alpha == 0.05
    with pytest.raises(ConfigError, match=r"analysis\.primary_tasks: task 'bleu' is unknown; allowed: pos"):
        AnalysisConfig(primary_tasks=["bleu"])
    with pytest.raises(ConfigError, match=r"analysis\.margins\.pos must be > 0"):
        AnalysisConfig(margins={"pos": 0.0})
    with pytest.raises(ConfigError, match=r"params key 'analysis\.bogus' is unknown; allowed: primary_tasks"):
        load_condition("params/e5-small/en-qa.yaml", {"analysis": {"bogus": 1}})
    with pytest.raises(ConfigError, match=r"params key 'analysis\.alpha' must be a number"):
        load_condition("params/e5-small/en-qa.yaml", {"analysis": {"alpha": "low"}})


@pytest.mark.quick
def test_analysis_keys_change_no_identity_and_make_no_variant():
    plain = load_condition("params/e5-small/en-qa.yaml")
    other = load_condition("params/e5-small/en-qa.yaml", {"analysis": {"alpha": 0.01, "margins": {"pos": 1.0}}})
    assert other.condition == plain.condition == "en-qa" and not other.origin.variant
    assert config_identity(other.to_dict()) == config_identity(plain.to_dict())
    old = {k: v for k, v in plain.to_dict().items() if k != "analysis"}  # an index written before the section
    assert config_identity(old) == config_identity(plain.to_dict())


# ------------------------------------------------------------------------------------ one p per comparison


@pytest.fixture(scope="module")
def df():
    # ml-qa − en-qa ≈ +1.5 and en-deprel ≈ +0.6 with noise: some comparisons pass only before Holm
    return synthetic_results(effects={"en-qa": 1.0, "ml-qa": 2.5, "ml-copa": -0.8, "en-deprel": 0.6}, noise=0.6)


def test_answer_comparison_and_ledger_agree_on_every_adjusted_p(df):
    found = T.answer_findings(df)
    answer = {(f.a, f.b, f.family): f.p_holm for fs in found.values() for f in fs}
    table = T.answer_table(found)
    assert len(table) == len(answer)
    for r in table.to_dict("records"):
        a, b = r["A − B"].split(" − ")
        task = r["target task (zero-shot average)"]
        fam = next(k for k, v in T.FAMILIES.items() if v["label"].split(" (")[0] == task)
        p = answer[(a, b, fam)]
        assert r["p (Holm)"] == ("–" if not np.isfinite(p) else f"{p:.3f}")
    # the comparison page's summary table, and the condition page's table (zero-shot mean row)
    summary = T.delta_summary(df)
    for (c, fam), p in summary.attrs["p_holm"].items():
        if fam in ("pos", "ner"):
            assert p == pytest.approx(answer[(c, T.REFERENCE, fam)], rel=1e-12)
    for c in ("en-qa", "ml-copa"):
        stats = T.delta_stats(df, T.REFERENCE, "pos", "accuracy", conditions=[c])
        zs = stats[stats["language"] == T.ZERO_SHOT_MEAN].iloc[0]
        assert zs["p_holm"] == pytest.approx(answer[(c, T.REFERENCE, "pos")], rel=1e-12)
    # ... and the ledger: a claim on a declared comparison carries that family's adjusted p
    led = C.ledger_table(df).set_index("id")
    for x in ("qa", "copa", "deprel"):
        for fam in ("pos", "ner"):
            row = led.loc[f"Q3-{x}-{fam}"]
            assert row["family"] == T.PRIMARY
            assert row["p Holm"] == pytest.approx(answer[(f"ml-{x}", f"en-{x}", fam)], abs=1e-4)
    assert led.loc["P1-squad/pos", "p Holm"] == pytest.approx(answer[("en-qa", T.REFERENCE, "pos")], abs=1e-4)
    assert led.loc["Q6-mlm-pos", "p Holm"] == pytest.approx(answer[("ml-mlm", T.REFERENCE, "pos")], abs=1e-4)


def test_conditions_shown_do_not_change_the_adjusted_p(df):
    full = T.delta_summary(df).attrs["p_holm"]
    one = T.delta_summary(df, conditions=["en-qa"]).attrs["p_holm"]
    assert one[("en-qa", "pos")] == full[("en-qa", "pos")]
    a = T.delta_stats(df, T.REFERENCE, "pos", "accuracy", conditions=["en-qa"], zero_shot_mean=False)
    b = T.delta_stats(df, T.REFERENCE, "pos", "accuracy", zero_shot_mean=False)
    b = b[b["condition"] == "en-qa"].reset_index(drop=True)
    assert a["p_holm"].tolist() == pytest.approx(b["p_holm"].tolist())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_verdict_word_without_its_adjusted_test(seed):
    data = synthetic_results(
        effects={"en-qa": 0.8, "ml-qa": 1.6, "ml-deprel": 0.5, "ml-copa": -0.6, "en-nli": -0.7}, noise=0.7, rng=seed
    )
    found = T.answer_findings(data)
    for f in (f for fs in found.values() for f in fs):
        if f.direction in (S.HELPED, S.HURT):
            assert f.p_holm < 0.05 and f.stats.n >= 2
        if f.direction == S.SUGGESTIVE:
            assert f.stats.p < 0.05 <= f.p_holm
    words = {f.a: f.direction for f in found["vs_reference"] if f.family == "pos"}
    sentence = next(x for x in T.verdict_sentences(found) if x.startswith("**Zero-shot POS accuracy, Δ to"))
    helped = re.search(r"helped: (.*?)(;|\.$)", sentence)
    for name in re.findall(r"`([^`]+)`", helped.group(1) if helped else ""):
        assert words[name] == S.HELPED
    head = T.headline(found)
    for name, word in words.items():
        if word != S.HELPED:
            assert f"`{name}` (" not in head.split("Against")[-1]
    # the ledger: supported / contradicted only where its p Holm is below alpha
    led = C.ledger_table(data)
    decided = led[led["verdict"].isin([C.SUPPORTED, C.CONTRADICTED])]
    assert (decided["p Holm"] < 0.05).all()
    assert (led[led["verdict"] == C.SUGGESTIVE]["p Holm"] >= 0.05).all()


def test_pooled_number_comes_with_heterogeneity_and_no_verdict(df):
    found = T.answer_findings(df)
    text = next(x for x in T.verdict_sentences(found) if "`ml-X` − `en-X`" in x and "POS" in x)
    assert "pooled" in text and "I²" in text and "no verdict is drawn from it" in text
    power = [x for x in T.verdict_sentences(found) if x.startswith("*Power")]
    assert {x.split(":* ")[0] for x in power} == {
        f"*Power, {g}" for g in (T.PRIMARY, T.secondary_family("pos"), T.secondary_family("ner"))
    }
