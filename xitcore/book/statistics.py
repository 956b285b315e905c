"""The book's statistics, defined once: paired differences by seed, t-intervals, paired t-tests, Holm within a
declared family, TOST with a declared margin, the smallest difference a family could detect, heterogeneity of a
pooled number, and the one rule that turns a test into a verdict word.

Everything is computed by ``scipy.stats`` and ``statsmodels`` (no hand-written distribution or adjustment). The
module imports nothing else from ``xitcore``, so a reviewer can use it on its own::

    from xitcore.book.statistics import paired_stats, holm, verdict_word
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

#: confidence level of every interval; alpha of every test is 1 − this unless a preset declares another alpha
CI_CONFIDENCE = 0.95
ALPHA = 1 - CI_CONFIDENCE
#: the power at which a family's minimum detectable difference is stated
POWER = 0.8
#: seed of rows shared by every seed of a condition (baselines, the MLM checkpoint and its evaluations)
SHARED_SEED = 0

CI_METHOD = "two-sided Student-t interval over the per-seed paired differences (n − 1 degrees of freedom)"
MULTIPLICITY = "Holm's step-down adjustment within one declared family of comparisons"

# the verdict words: one rule (verdict_word) decides which applies
HELPED = "helped"
HURT = "hurt"
SUGGESTIVE = "suggestive"
NOISE = "within seed noise"
NOT_TESTABLE = "not testable"
#: a comparison whose condition's intermediate task did not score above chance on its English dev set: phase ii did
#: not learn the task it was meant to test, so no verdict is drawn (its numbers are shown, marked)
NOT_PUT = "not put to the test"
WORDS = (HELPED, HURT, SUGGESTIVE, NOISE, NOT_TESTABLE, NOT_PUT)

#: the rule, in words (the book prints it)
VERDICT_RULE = (
    f"**{HELPED}** / **{HURT}** only when the Holm-adjusted p within the comparison's declared family is below "
    f"alpha (sign of Δ); **{SUGGESTIVE}** when only the unadjusted p is; **{NOISE}** otherwise; "
    f"**{NOT_TESTABLE}** with fewer than 2 paired seeds; **{NOT_PUT}** (no verdict, numbers shown) when an "
    "intermediate task of a condition compared did not score above chance on its English dev set (one-sided 95 % "
    "lower bound). No verdict is given for a number pooled over pairs."
)


# --------------------------------------------------------------------------------------------- pairing by seed


def broadcast_shared(parts: list[pd.Series]) -> list[pd.Series]:
    """A series measured only on the shared checkpoint (seed 0, e.g. Tatoeba on the MLM model) is the same for
    every seed: repeat it on the seeds the other series have."""
    seeds = sorted({s for p in parts for s in p.index if s != SHARED_SEED})
    if not seeds:
        return parts
    return [pd.Series(p.iloc[0], index=seeds, name=p.name) if list(p.index) == [SHARED_SEED] else p for p in parts]


def paired_differences(a: pd.Series, b: pd.Series) -> pd.Series:
    """Per-seed ``a − b`` on the seeds both series have (indexed by seed). A series that holds only the shared
    seed-0 checkpoint is repeated on the other side's seeds (:func:`broadcast_shared`); NaNs are dropped."""
    if a.empty or b.empty:
        return pd.Series(dtype=float, name="delta")
    a, b = broadcast_shared([a, b])
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    return (both["a"] - both["b"]).dropna().rename("delta")


# --------------------------------------------------------------------------------------------- one comparison


@dataclass(frozen=True)
class PairedStats:
    """n, mean, sd (ddof 1), t-interval and two-sided paired t-test p of per-seed differences."""

    n: int
    mean: float
    sd: float
    lo: float
    hi: float
    p: float

    @property
    def excludes_zero(self) -> bool:
        return self.n > 1 and (self.lo > 0 or self.hi < 0)

    @property
    def se(self) -> float:
        return self.sd / math.sqrt(self.n) if self.n > 1 else float("nan")


def _finite(values) -> list[float]:
    out = []
    for d in values if values is not None else []:
        if d is None:
            continue
        x = float(d)
        if not math.isnan(x):
            out.append(x)
    return out


def t_interval(values: Iterable[float], confidence: float = CI_CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the two-sided Student-t interval (``scipy.stats.t``); one value gives NaN bounds."""
    v = _finite(values)
    if not v:
        raise ValueError("t_interval: no values")
    m = float(np.mean(v))
    if len(v) == 1:
        return m, float("nan"), float("nan")
    se = float(np.std(v, ddof=1)) / math.sqrt(len(v))
    if se == 0:
        return m, m, m
    lo, hi = _st.t.interval(confidence, len(v) - 1, loc=m, scale=se)
    return m, float(lo), float(hi)


def paired_t_p(values: Iterable[float]) -> float:
    """Two-sided p of the one-sample t-test of mean(Δ) = 0 on per-seed differences (``scipy.stats.ttest_1samp``,
    i.e. the paired t-test); NaN for n < 2. All differences equal: 1 if they are 0, else 0."""
    v = _finite(values)
    if len(v) < 2:
        return float("nan")
    if float(np.std(v, ddof=1)) == 0:
        return 1.0 if v[0] == 0 else 0.0
    return float(_st.ttest_1samp(v, 0.0).pvalue)


def paired_stats(deltas: Iterable[float] | pd.Series | None, confidence: float = CI_CONFIDENCE) -> PairedStats:
    """n, mean, sd, interval and p of per-seed differences (NaNs skipped)."""
    v = _finite(deltas)
    n = len(v)
    if not n:
        nan = float("nan")
        return PairedStats(0, nan, nan, nan, nan, nan)
    m, lo, hi = t_interval(v, confidence)
    sd = float(np.std(v, ddof=1)) if n > 1 else float("nan")
    return PairedStats(n, m, sd, lo, hi, paired_t_p(v))


# --------------------------------------------------------------------------------------------- families


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (``statsmodels.stats.multitest.multipletests``), in the input order; NaN
    entries stay NaN and are not counted in the family size m."""
    from statsmodels.stats.multitest import multipletests

    idx = [i for i, p in enumerate(pvalues) if p is not None and not math.isnan(float(p))]
    out = [float("nan")] * len(pvalues)
    if idx:
        adj = multipletests([float(pvalues[i]) for i in idx], method="holm")[1]
        for i, p in zip(idx, adj):
            out[i] = float(p)
    return out


def min_detectable_difference(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true mean difference a two-sided paired t-test on ``n`` seeds detects with ``power`` at level
    ``alpha``, given the seed spread ``sd`` of the differences (``statsmodels`` ``TTestPower``: effect size ×
    sd). NaN for n < 2 or a non-finite sd."""
    if n < 2 or sd is None or not np.isfinite(sd):
        return float("nan")
    from statsmodels.stats.power import TTestPower

    d = TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, alternative="two-sided")
    return float(np.atleast_1d(d)[0]) * float(sd)


def family_power_line(stats: Sequence[PairedStats], alpha: float = ALPHA, power: float = POWER) -> str:
    """One line: the smallest difference this family could detect at ``power``, from the median seed sd of its
    tested comparisons and their smallest n."""
    tested = [s for s in stats if s.n > 1 and np.isfinite(s.sd)]
    if not tested:
        return "no comparison with 2 or more paired seeds: no power statement"
    sd = float(np.median([s.sd for s in tested]))
    n = min(s.n for s in tested)
    mdd = min_detectable_difference(sd, n, alpha, power)
    return (
        f"with n = {n} seeds and the observed seed spread (median sd of Δ {sd:.2f} points), a true difference of "
        f"about {mdd:.1f} points is detected with {power * 100:.0f} % power at α = {alpha:g} (unadjusted); smaller "
        "effects can go unseen"
    )


# --------------------------------------------------------------------------------------------- TOST


@dataclass(frozen=True)
class MarginTest:
    """A one-sided (non-superiority) or two one-sided (equivalence) test against a declared margin."""

    kind: str  # "non-superiority" | "equivalence"
    margin: float | None
    p: float  # NaN when not testable
    reason: str

    @property
    def testable(self) -> bool:
        return np.isfinite(self.p)


def non_superiority(deltas, margin: float | None) -> MarginTest:
    """H0: Δ ≥ +margin against H1: Δ < +margin (the treatment is not better by the margin or more): the upper
    one-sided t-test of ``statsmodels`` ``DescrStatsW.ttest_mean``. Without a declared margin: not testable."""
    v = _finite(deltas)
    if margin is None:
        return MarginTest("non-superiority", None, float("nan"), "no margin declared in advance")
    if len(v) < 2:
        return MarginTest("non-superiority", margin, float("nan"), f"fewer than 2 paired seeds (n={len(v)})")
    from statsmodels.stats.weightstats import DescrStatsW

    if float(np.std(v, ddof=1)) == 0:
        p = 0.0 if v[0] < margin else 1.0
    else:
        p = float(DescrStatsW(np.asarray(v)).ttest_mean(value=margin, alternative="smaller")[1])
    return MarginTest("non-superiority", margin, p, f"one-sided t-test of Δ < +{margin:g}")


def equivalence(deltas, margin: float | None) -> MarginTest:
    """TOST (``statsmodels`` ``DescrStatsW.ttost_mean``): H1: −margin < Δ < +margin. p = the larger one-sided p.
    Without a declared margin: not testable."""
    v = _finite(deltas)
    if margin is None:
        return MarginTest("equivalence", None, float("nan"), "no margin declared in advance")
    if len(v) < 2:
        return MarginTest("equivalence", margin, float("nan"), f"fewer than 2 paired seeds (n={len(v)})")
    from statsmodels.stats.weightstats import DescrStatsW

    if float(np.std(v, ddof=1)) == 0:
        p = 0.0 if -margin < v[0] < margin else 1.0
    else:
        p = float(DescrStatsW(np.asarray(v)).ttost_mean(-margin, margin)[0])
    return MarginTest("equivalence", margin, p, f"TOST of −{margin:g} < Δ < +{margin:g}")


# --------------------------------------------------------------------------------------------- pooling


@dataclass(frozen=True)
class Pooled:
    """A number pooled over k comparisons (DerSimonian–Laird random effects: the between-pair spread widens its
    interval), never shown without its heterogeneity and never given a verdict."""

    k: int
    mean: float
    lo: float
    hi: float
    q: float  # Cochran's Q
    q_p: float  # p of Q on k − 1 degrees of freedom (chi-squared)
    i2: float  # I² in percent
    tau2: float  # between-pair variance (DerSimonian–Laird)

    def text(self) -> str:
        if self.k < 2 or not np.isfinite(self.mean):
            return "no pooled number (fewer than 2 comparisons with a finite standard error)"
        verdict = (
            "the pairs disagree, the pooled number describes none of them"
            if self.i2 >= 50
            else "the pairs are compatible"
        )
        return (
            f"pooled {self.mean:+.1f} [{self.lo:+.1f}, {self.hi:+.1f}] over {self.k} pairs (random effects), "
            f"heterogeneity Q = {self.q:.1f} (p = {self.q_p:.3f}), I² = {self.i2:.0f} %: {verdict}; no verdict is "
            "drawn from it"
        )


def heterogeneity(items: Sequence[PairedStats], confidence: float = CI_CONFIDENCE) -> Pooled:
    """Pool several comparisons: Cochran's Q with inverse-variance weights 1 / se², its chi-squared p, I² (Higgins
    & Thompson 2002: max(0, (Q − (k − 1)) / Q)), and the DerSimonian–Laird random-effects mean and normal interval
    (weights 1 / (se² + τ²)), so pairs of opposite sign give a wide interval, not a tight one. Comparisons with
    n < 2 or se 0 are left out."""
    use = [s for s in items if s.n > 1 and np.isfinite(s.se) and s.se > 0]
    k = len(use)
    nan = float("nan")
    if k < 2:
        return Pooled(k, nan, nan, nan, nan, nan, nan, nan)
    v = np.array([s.se**2 for s in use])
    d = np.array([s.mean for s in use])
    w = 1.0 / v
    fixed = float(np.sum(w * d) / np.sum(w))
    q = float(np.sum(w * (d - fixed) ** 2))
    q_p = float(_st.chi2.sf(q, k - 1))
    i2 = 100.0 * max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    tau2 = max(0.0, (q - (k - 1)) / (float(np.sum(w)) - float(np.sum(w**2)) / float(np.sum(w))))
    ws = 1.0 / (v + tau2)
    mean = float(np.sum(ws * d) / np.sum(ws))
    se = math.sqrt(1.0 / float(np.sum(ws)))
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    return Pooled(k, mean, mean - z * se, mean + z * se, q, q_p, i2, tau2)


# --------------------------------------------------------------------------------------------- was a task learnt


@dataclass(frozen=True)
class LowerBound:
    """A one-sided lower confidence bound of a score in percent, and how it was computed."""

    value: float
    method: str


def dev_bound(
    seed_scores: Sequence[float],
    items: int | None = None,
    confidence: float = CI_CONFIDENCE,
    proportion: bool = True,
) -> LowerBound:
    """One-sided ``confidence`` lower bound of a dev score (percent): with 2 or more seeds, the Student-t bound
    over the seed scores (``scipy.stats.t``: mean − t(n − 1) × sd / √n); with one seed of a proportion (accuracy)
    scored on ``items`` items, the exact (Clopper–Pearson) binomial bound over the items
    (``scipy.stats.binomtest(...).proportion_ci``). Otherwise NaN, with the reason as its method."""
    v = _finite(seed_scores)
    n = len(v)
    if n >= 2:
        m, sd = float(np.mean(v)), float(np.std(v, ddof=1))
        lo = m - float(_st.t.ppf(confidence, n - 1)) * sd / math.sqrt(n)
        return LowerBound(lo, f"one-sided {confidence:.0%} t bound over {n} seeds")
    if n == 1 and proportion and items:
        k = int(round(v[0] / 100 * items))
        ci = _st.binomtest(k, int(items), alternative="greater").proportion_ci(confidence_level=confidence)
        return LowerBound(100 * float(ci.low), f"one-sided {confidence:.0%} binomial bound over {int(items)} items")
    if n == 1:
        why = "one seed, and no item count" if proportion else "one seed of a score that is not a proportion of items"
        return LowerBound(float("nan"), f"no bound: {why}")
    return LowerBound(float("nan"), "no bound: no score")


# --------------------------------------------------------------------------------------------- the verdict rule


def verdict_word(
    n: int, mean: float, p: float, p_adjusted: float, alpha: float = ALPHA, put_to_test: bool = True
) -> str:
    """The one rule for verdict words (:data:`VERDICT_RULE`): ``helped``/``hurt`` (sign of ``mean``) only if the
    adjusted p < alpha; ``suggestive`` if only the unadjusted p is; ``within seed noise`` otherwise; ``not
    testable`` with fewer than 2 paired seeds or no p; ``not put to the test`` (whatever the p) when
    ``put_to_test`` is False: the intermediate task of a condition compared was not learnt (:func:`dev_bound`)."""
    if not put_to_test:
        return NOT_PUT
    if n < 2 or p is None or not np.isfinite(p):
        return NOT_TESTABLE
    if p_adjusted is not None and np.isfinite(p_adjusted) and p_adjusted < alpha:
        return HELPED if mean > 0 else HURT
    if p < alpha:
        return SUGGESTIVE
    return NOISE
