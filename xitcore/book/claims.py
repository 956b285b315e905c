"""The claims ledger: the seed paper's claims, their smoke-scale analogue, and computed verdicts.

Phang et al. 2020, "English Intermediate-Task Training Improves Zero-Shot Cross-Lingual
Transfer Too" (arXiv:2005.13013).  ``CLAIMS`` is the single machine-readable list; the book's
claims chapter, ``claims_yaml()`` and ``python -m xitcore.book.claims`` are all generated from
it.  No verdict is written by hand: ``ledger_table(df)`` measures each claim's analogue on the
results table and ``verdict(...)`` turns the per-seed differences into one of

* ``supported``     – the t-interval over seeds excludes 0 on the side the paper predicts,
* ``contradicted``  – it excludes 0 on the other side,
* ``inconclusive``  – it contains 0,
* ``not testable at this scale`` – with the reason (fewer than 2 seeds, a missing condition or
  task, no such data offline, an MLM model that has not learnt more than unigram statistics, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..metrics import mean_ci as shared_mean_ci
from . import tables as T

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable at this scale"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE)

#: MLM loss must be at least this fraction below the unigram-entropy floor ("clearly below")
MLM_MARGIN = 0.05

EN_SINGLE = ("en-nli", "en-sentiment", "en-qa", "en-copa", "en-deprel")
EN_MATCHED = ("en-qa", "en-copa", "en-deprel")
ML_MATCHED = ("ml-qa", "ml-copa", "ml-deprel")

PAPER = "Phang et al. 2020 (arXiv:2005.13013)"


@dataclass(frozen=True)
class Claim:
    """One row of the ledger.

    ``treatment`` and ``reference`` are condition groups; per seed each group is the mean of its
    conditions' zero-shot ``family`` score (``tables.FAMILIES``; ``composite`` = mean of POS, NER
    and Tatoeba deltas; ``best-per-target`` = best English condition chosen per target task).
    Δ = treatment − reference, and ``direction`` = +1 means the claim predicts Δ > 0.
    ``untestable`` is a fixed reason for claims this study cannot measure at all; ``method``
    rows describe the paper's design and are reported with how this study mirrors it.
    """

    id: str
    statement: str
    paper_value: float | None
    paper_unit: str
    source: str
    test: str
    treatment: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    family: str = "composite"
    direction: int = +1
    kind: str = "effect"  # "effect" | "method" | "question"
    untestable: str | None = None
    needs_mlm: bool = True


_COMPOSITE_TXT = "mean of the zero-shot deltas on POS (12 PUD languages), NER (es, nl) and Tatoeba top-1"

CLAIMS: tuple[Claim, ...] = (
    (
        Claim(
            "P1-squad",
            "SQuAD as intermediate task improves the XTREME average over XLM-R Large.",
            8.2,
            "points, XTREME average",
            f"{PAPER}; figure as given in the project brief",
            f"en-qa (XQuAD-en ≈ SQuAD) − no-intermediate; {_COMPOSITE_TXT}",
            ("en-qa",),
            ("no-intermediate",),
        ),
        Claim(
            "P2-mnli",
            "MNLI as intermediate task improves the XTREME average.",
            7.5,
            "points, XTREME average",
            f"{PAPER}; figure as given in the project brief",
            f"en-nli (RTE ≈ MNLI) − no-intermediate; {_COMPOSITE_TXT}",
            ("en-nli",),
            ("no-intermediate",),
        ),
        Claim(
            "P3-hellaswag",
            "HellaSwag as intermediate task improves the XTREME average.",
            7.0,
            "points, XTREME average",
            f"{PAPER}; figure as given in the project brief",
            "none: HellaSwag is not vendored (no network); see P3b-commonsense for the nearest analogue",
            untestable="no HellaSwag data offline",
        ),
        Claim(
            "P3b-commonsense",
            "Commonsense intermediate tasks (CommonsenseQA, CosmosQA, HellaSwag) help.",
            None,
            "qualitative",
            PAPER,
            f"en-copa (XCOPA English ≈ COPA/CommonsenseQA) − no-intermediate; {_COMPOSITE_TXT}",
            ("en-copa",),
            ("no-intermediate",),
        ),
        Claim(
            "P4-multitask",
            "Multi-task intermediate training on all nine tasks improves the XTREME average.",
            8.7,
            "points, XTREME average",
            f"{PAPER}; figure as given in the project brief",
            f"en-multitask (all English intermediate tasks) − no-intermediate; {_COMPOSITE_TXT}",
            ("en-multitask",),
            ("no-intermediate",),
        ),
        Claim(
            "P5-tatoeba",
            "Intermediate training gives large gains on sentence retrieval (Tatoeba).",
            None,
            "qualitative (large)",
            PAPER,
            "mean over the five English single-task conditions − no-intermediate on Tatoeba top-1 "
            "(intermediate checkpoint vs the MLM checkpoint)",
            EN_SINGLE,
            ("no-intermediate",),
            family="tatoeba",
        ),
        Claim(
            "P5b-bucc",
            "Intermediate training gives large gains on BUCC bitext mining.",
            None,
            "qualitative (large)",
            PAPER,
            "none",
            untestable="no BUCC data offline",
        ),
        Claim(
            "P6-tydiqa-xnli",
            "TyDiQA-GoldP benefits from intermediate training while XNLI does not.",
            None,
            "qualitative",
            PAPER,
            "none: neither target task is part of this study",
            untestable="no TyDiQA or XNLI target task offline",
        ),
        Claim(
            "P7-best-per-target",
            "Choosing the best intermediate task per target task gives +5.4 on XTREME.",
            5.4,
            "points, XTREME score",
            PAPER,
            "per target task (POS, NER, Tatoeba) the English condition with the highest seed-mean Δ "
            "vs no-intermediate; mean of those Δs (optimistic: the choice is made on the same seeds)",
            EN_SINGLE + ("en-multitask",),
            ("no-intermediate",),
            family="best-per-target",
        ),
        Claim(
            "P8-en-vs-mlm",
            "English intermediate training beats continuing multilingual MLM instead.",
            None,
            "qualitative",
            PAPER,
            f"mean over the five English single-task conditions − ml-mlm; {_COMPOSITE_TXT}. "
            "The paper mixed MLM into intermediate training; here ml-mlm replaces it",
            EN_SINGLE,
            ("ml-mlm",),
        ),
        Claim(
            "P9-en-vs-translated",
            "English intermediate data beats translated intermediate data.",
            None,
            "qualitative",
            PAPER,
            f"mean of en-X − ml-X over X ∈ qa, copa, deprel; {_COMPOSITE_TXT}. ml-X are human-translated "
            "(XQuAD, XCOPA, PUD), not machine-translated, and size-matched",
            EN_MATCHED,
            ML_MATCHED,
        ),
        Claim(
            "M1-xlmr-large",
            "The starting model is XLM-R Large.",
            None,
            "method",
            PAPER,
            "none",
            kind="method",
            untestable="no XLM-R Large: a tiny encoder is pre-trained here for minutes on CPU",
        ),
        Claim(
            "M2-three-phases",
            "Three phases: pre-trained model → English intermediate task → English "
            "target task, evaluated zero-shot in other languages.",
            None,
            "method",
            PAPER,
            "mirrored as phases mlm → intermediate → target",
            kind="method",
            needs_mlm=False,
        ),
        Claim(
            "M3-nine-tasks",
            "Nine English intermediate tasks (ANLI+, MNLI, QQP, SQuAD v1.1/v2.0, "
            "HellaSwag, CosmosQA, CommonsenseQA, CCG).",
            9,
            "tasks",
            PAPER,
            "mirrored by en-nli, en-sentiment, en-qa, en-copa, en-deprel (+ en-multitask)",
            kind="method",
            needs_mlm=False,
        ),
        Claim(
            "Q1-ml-vs-en-pos",
            "Research question: multilingual intermediate data (ml-*) helps zero-shot "
            "POS more than the same amount of English intermediate data (en-*).",
            None,
            "hypothesis",
            "this project",
            "mean of ml-X − en-X over X ∈ qa, copa, deprel on zero-shot POS accuracy",
            ML_MATCHED,
            EN_MATCHED,
            family="pos",
            kind="question",
        ),
        Claim(
            "Q2-ml-vs-en-ner",
            "Research question: ml-* helps zero-shot NER more than en-*.",
            None,
            "hypothesis",
            "this project",
            "mean of ml-X − en-X over X ∈ qa, copa, deprel on NER span F1 (es, nl)",
            ML_MATCHED,
            EN_MATCHED,
            family="ner",
            kind="question",
        ),
    )
    + tuple(
        Claim(
            f"Q3-{x}-{fam}",
            f"Research question, single pair: ml-{x} helps zero-shot {fam.upper()} more than en-{x}.",
            None,
            "hypothesis",
            "this project",
            f"ml-{x} − en-{x} on {T.FAMILIES[fam]['label']}",
            (f"ml-{x}",),
            (f"en-{x}",),
            family=fam,
            kind="question",
        )
        for x in ("qa", "copa", "deprel")
        for fam in ("pos", "ner")
    )
    + (
        Claim(
            "Q4-xcopa",
            "Research question: native-language COPA items (ml-copa) beat English ones (en-copa) on zero-shot XCOPA.",
            None,
            "hypothesis",
            "this project",
            "ml-copa − en-copa on XCOPA accuracy over the non-English XCOPA languages",
            ("ml-copa",),
            ("en-copa",),
            family="xcopa",
            kind="question",
        ),
        Claim(
            "Q5-en-pos",
            "Research question: English intermediate training helps zero-shot POS at all.",
            None,
            "hypothesis",
            "this project",
            "mean over the five English single-task conditions − no-intermediate on zero-shot POS",
            EN_SINGLE,
            ("no-intermediate",),
            family="pos",
            kind="question",
        ),
        Claim(
            "Q6-mlm-pos",
            "Research question: continued multilingual MLM (ml-mlm) helps zero-shot POS.",
            None,
            "hypothesis",
            "this project",
            "ml-mlm − no-intermediate on zero-shot POS",
            ("ml-mlm",),
            ("no-intermediate",),
            family="pos",
            kind="question",
        ),
        # A control rather than a claim: if phase (i) itself does not beat a random encoder, no later phase can
        # be credited with transfer. The MLM-floor check is off: the comparison is what tests phase (i).
        Claim(
            "C1-pretraining-pos",
            "Control: MLM pre-training helps zero-shot POS over a randomly initialised "
            "encoder of the same shape, fine-tuned the same way.",
            None,
            "control",
            "this project",
            "no-intermediate − no-pretraining on zero-shot POS",
            ("no-intermediate",),
            ("no-pretraining",),
            family="pos",
            kind="question",
            needs_mlm=False,
        ),
    )
)


# --------------------------------------------------------------------------------------------
# statistics


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi): two-sided t-interval over seeds (``xitcore.metrics.mean_ci``); missing values skipped."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return float("nan"), float("nan"), float("nan")
    m, lo, hi = shared_mean_ci(vals, confidence=confidence)
    return float(m), float(lo), float(hi)


@dataclass
class Verdict:
    verdict: str
    reason: str
    n: int = 0
    mean: float = float("nan")
    sd: float = float("nan")
    ci_lo: float = float("nan")
    ci_hi: float = float("nan")


def verdict(
    deltas: Sequence[float] | None, direction: int = +1, *, untestable: str | None = None, confidence: float = 0.95
) -> Verdict:
    """Turn per-seed differences (treatment − reference) into a verdict.

    ``untestable`` short-circuits to "not testable at this scale" with that reason; so do fewer
    than two finite deltas. Otherwise the t-interval decides (see the module docstring).
    """
    if direction not in (+1, -1):
        raise ValueError(f"direction must be +1 or -1, not {direction!r}")
    vals = [float(d) for d in (deltas if deltas is not None else []) if d is not None and not math.isnan(float(d))]
    n = len(vals)
    mean = float(np.mean(vals)) if n else float("nan")
    sd = float(np.std(vals, ddof=1)) if n > 1 else float("nan")
    if untestable:
        return Verdict(NOT_TESTABLE, untestable, n, mean, sd)
    if n < 2:
        return Verdict(NOT_TESTABLE, f"fewer than 2 seeds with both conditions measured (n={n})", n, mean, sd)
    m, lo, hi = mean_ci(vals, confidence)
    pct = f"{confidence:.0%}"
    if lo > 0 or hi < 0:
        same = (lo > 0) == (direction > 0)
        side = "above" if lo > 0 else "below"
        return Verdict(
            SUPPORTED if same else CONTRADICTED,
            f"{pct} CI [{lo:+.2f}, {hi:+.2f}] lies {side} 0 (n={n} seeds)",
            n,
            m,
            sd,
            lo,
            hi,
        )
    return Verdict(INCONCLUSIVE, f"{pct} CI [{lo:+.2f}, {hi:+.2f}] includes 0 (n={n} seeds)", n, m, sd, lo, hi)


# --------------------------------------------------------------------------------------------
# measuring a claim on the results table


def group_per_seed(df: pd.DataFrame, family: str, conditions: Sequence[str]) -> pd.Series:
    """Per seed, mean over ``conditions`` of their zero-shot ``family`` score (seeds all must have)."""
    parts = [T.per_seed(df, family, c) for c in conditions]
    if not parts or any(p.empty for p in parts):
        return pd.Series(dtype=float)
    return pd.concat(T.broadcast_shared(parts), axis=1, join="inner").mean(axis=1)


def family_deltas(df: pd.DataFrame, family: str, treatment: Sequence[str], reference: Sequence[str]) -> pd.Series:
    """Per-seed Δ = treatment − reference on one family, on the seeds both sides have."""
    a = group_per_seed(df, family, treatment)
    b = group_per_seed(df, family, reference)
    if a.empty or b.empty:
        return pd.Series(dtype=float)
    a, b = T.broadcast_shared([a, b])
    both = pd.concat([a.rename("t"), b.rename("r")], axis=1, join="inner")
    return (both["t"] - both["r"]).rename("delta")


def composite_deltas(df: pd.DataFrame, treatment, reference, families=T.COMPOSITE) -> tuple[pd.Series, list[str]]:
    parts, missing = [], []
    for fam in families:
        d = family_deltas(df, fam, treatment, reference)
        (parts if not d.empty else missing).append(d if not d.empty else fam)
    if missing:
        return pd.Series(dtype=float), missing
    return pd.concat(parts, axis=1, join="inner").mean(axis=1), []


def best_per_target_deltas(df: pd.DataFrame, candidates, reference, families=T.COMPOSITE):
    chosen, parts, missing = {}, [], []
    for fam in families:
        best = None
        for c in candidates:
            d = family_deltas(df, fam, (c,), reference)
            if len(d) and (best is None or d.mean() > best[1].mean()):
                best = (c, d)
        if best is None:
            missing.append(fam)
        else:
            chosen[fam] = best[0]
            parts.append(best[1])
    if missing:
        return pd.Series(dtype=float), missing, chosen
    return pd.concat(parts, axis=1, join="inner").mean(axis=1), [], chosen


def mlm_floor_problem(df: pd.DataFrame, conditions: Sequence[str], margin: float = MLM_MARGIN) -> str | None:
    """None if the MLM checkpoint's loss is clearly below the unigram-entropy floor, else why not."""
    r = df[(df["task"] == "mlm") & (df["phase"] == "mlm") & df["condition"].isin(list(conditions))]
    if r.empty:  # the MLM phase is shared: accept any condition's mlm-phase rows
        r = df[(df["task"] == "mlm") & (df["phase"] == "mlm")]
    loss = r[r["metric"].isin(T.LOSS_METRICS)]
    floor = r[r["metric"] == "unigram_entropy"]
    if loss.empty or floor.empty:
        return "no MLM loss / unigram-entropy rows, so the encoder cannot be shown to model language"
    langs = set(loss["language"]) & set(floor["language"])
    if langs & set(T.AGGREGATES):
        langs = langs & set(T.AGGREGATES)
    if not langs:
        return "MLM loss and unigram entropy share no language"
    lv = loss[loss["language"].isin(langs)]["value"].mean()
    fv = floor[floor["language"].isin(langs)]["value"].mean()
    if not lv < (1 - margin) * fv:
        return (
            f"MLM loss {lv:.2f} is not clearly below the unigram-entropy floor {fv:.2f} "
            f"(needs < {(1 - margin) * fv:.2f}): the smoke encoder has learnt little beyond word frequencies"
        )
    return None


def _method_reason(claim: Claim, df: pd.DataFrame) -> str:
    if claim.id == "M2-three-phases":
        present = [p for p in T.PHASES if p in set(df["phase"])]
        return "a statement of method, not an effect; mirrored here, phases in the table: " + (
            ", ".join(present) if present else "none"
        )
    if claim.id == "M3-nine-tasks":
        en = sorted(c for c in set(df["condition"]) if str(c).startswith("en-") and c != "en-multitask")
        return (
            f"a statement of method, not an effect; {len(en)} English intermediate condition(s) "
            f"here{': ' + ', '.join(en) if en else ''}"
        )
    return "a statement of method, not an effect"


def evaluate_claim(claim: Claim, df: pd.DataFrame, confidence: float = 0.95) -> dict:
    """Measure one claim on ``df`` (one preset) and return its ledger row."""
    note = ""
    deltas = pd.Series(dtype=float)
    problem = claim.untestable
    if problem is None and claim.kind == "method":
        problem = _method_reason(claim, df)
    if problem is None:
        conds = set(df["condition"])
        absent = [c for c in claim.treatment + claim.reference if c not in conds]
        if absent:
            problem = f"no results for condition(s) {', '.join(absent)}"
    if problem is None and claim.needs_mlm:
        problem = mlm_floor_problem(df, claim.treatment + claim.reference)
    if problem is None:
        if claim.family == "composite":
            deltas, missing = composite_deltas(df, claim.treatment, claim.reference)
            if missing:
                problem = f"no zero-shot {', '.join(missing)} results for both sides"
        elif claim.family == "best-per-target":
            deltas, missing, chosen = best_per_target_deltas(df, claim.treatment, claim.reference)
            if missing:
                problem = f"no zero-shot {', '.join(missing)} results for both sides"
            note = "chosen: " + ", ".join(f"{k}→{v}" for k, v in chosen.items())
        else:
            deltas = family_deltas(df, claim.family, claim.treatment, claim.reference)
            if deltas.empty:
                problem = f"no {T.FAMILIES[claim.family]['label']} results for both sides"
    v = verdict(list(deltas.values), claim.direction, untestable=problem, confidence=confidence)
    row = {
        "id": claim.id,
        "kind": claim.kind,
        "paper statement": claim.statement,
        "paper value": claim.paper_value,
        "paper unit": claim.paper_unit,
        "test here": claim.test,
        "treatment": ", ".join(claim.treatment),
        "reference": ", ".join(claim.reference),
        "measure": claim.family,
        "direction": "+" if claim.direction > 0 else "−",
        "n seeds": v.n,
        "Δ mean": v.mean,
        "Δ sd": v.sd,
        "CI low": v.ci_lo,
        "CI high": v.ci_hi,
        "verdict": v.verdict,
        "reason": v.reason + (f"; {note}" if note else ""),
        "seeds": ",".join(str(int(s)) for s in deltas.index) if len(deltas) else "",
    }
    return row


def ledger_table(
    df: pd.DataFrame, claims: Sequence[Claim] = CLAIMS, confidence: float = 0.95, preset: str | None = None
) -> pd.DataFrame:
    """The ledger: one row per claim with Δ mean, sd, CI and computed verdict.

    ``df`` should hold one preset (pass ``preset`` to select it); baselines are ignored.
    """
    T.check_frame(df)
    if preset is not None:
        df = df[df["preset"] == preset]
    elif df["preset"].nunique() > 1:
        raise ValueError(
            f"results hold several presets ({', '.join(map(str, sorted(df['preset'].unique())))}); pass preset="
        )
    out = pd.DataFrame([evaluate_claim(c, df, confidence) for c in claims])
    for col in ("Δ mean", "Δ sd", "CI low", "CI high"):
        out[col] = out[col].astype(float).round(3)
    return out


def claims_records(claims: Sequence[Claim] = CLAIMS) -> list[dict]:
    recs = []
    for c in claims:
        d = asdict(c)
        d["treatment"], d["reference"] = list(c.treatment), list(c.reference)
        recs.append(d)
    return recs


def claims_yaml(claims: Sequence[Claim] = CLAIMS) -> str:
    import yaml

    return yaml.safe_dump(claims_records(claims), sort_keys=False, allow_unicode=True, width=100)


def ledger_yaml(ledger: pd.DataFrame) -> str:
    import yaml

    recs = [
        {k: T.nan_to_none(v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in ledger.to_dict(orient="records")
    ]
    return yaml.safe_dump(recs, sort_keys=False, allow_unicode=True, width=100)


def style_ledger(ledger: pd.DataFrame):
    """A pandas Styler colouring the verdict column (for the book)."""
    colours = {SUPPORTED: "#d7f0d2", CONTRADICTED: "#f6d0cf", INCONCLUSIVE: "#fbeec1", NOT_TESTABLE: "#e6e6e6"}
    cols = [
        "id",
        "paper statement",
        "paper value",
        "test here",
        "n seeds",
        "Δ mean",
        "Δ sd",
        "CI low",
        "CI high",
        "verdict",
        "reason",
    ]
    view = ledger[[c for c in cols if c in ledger.columns]]
    return (
        view.style.hide(axis="index")
        .format(
            {"Δ mean": "{:+.2f}", "Δ sd": "{:.2f}", "CI low": "{:+.2f}", "CI high": "{:+.2f}", "paper value": "{:g}"},
            na_rep="–",
        )
        .map(lambda v: f"background-color: {colours.get(v, '')}", subset=["verdict"])
        .set_table_styles([{"selector": "td, th", "props": "font-size: 0.8em; vertical-align: top;"}])
    )


if __name__ == "__main__":  # python -m xitcore.book.claims  -> the claim list as YAML
    print(claims_yaml(), end="")
