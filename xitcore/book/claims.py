"""The claims ledger: the seed paper's claims, their provenance, their analogue here, and computed verdicts.

Phang et al. 2020, "English Intermediate-Task Training Improves Zero-Shot Cross-Lingual
Transfer Too" (arXiv:2005.13013).  ``CLAIMS`` is the single machine-readable list; the book's
claims chapter, ``claims_yaml()`` and ``python -m xitcore.book.claims`` are all generated from
it.  Each claim carries

* its **provenance** (``PROVENANCES``): the paper's abstract, a paper table read through a named
  source (:data:`SUBMISSION`), the project brief's extracted claim with its extraction confidence,
  or this project's own question;
* the **kind of test** it needs (``TEST_KINDS``, rules in :data:`TEST_RULES`): superiority (A beats
  B), non-superiority (A does not consistently beat B) or direction only.

No verdict is written by hand: ``ledger_table(df)`` measures each claim's analogue on the results
table as per-seed paired differences and ``verdict(...)`` applies the claim's rule to them, with
the statistics of :mod:`xitcore.book.statistics` (one definition for the whole book). A claim whose
comparison belongs to a declared family (``analysis:`` in the preset; :func:`xitcore.book.tables.analyse`)
takes that family's Holm-adjusted p, the same p the answer page and the comparison tables print; the
others are adjusted within the ledger's own named families. Each row is one metric of one checkpoint:
no composite across metrics or checkpoints, and no verdict on a number pooled over pairs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import statistics as S
from . import tables as T

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable at this scale"
#: a claim whose conditions are conditions of the preset but have no runs in the store the ledger read: running
#: them may make it testable (apart from NOT_TESTABLE, which running more of this preset would not change)
NOT_RUN = "not run in this store"
DIRECTION_AS_CLAIMED = "direction as claimed (not a test)"
DIRECTION_AGAINST = "direction against the claim (not a test)"
SUGGESTIVE = "suggestive (unadjusted p only)"
NO_POOLED_VERDICT = "no verdict (pooled over pairs)"
VERDICTS = (
    SUPPORTED,
    CONTRADICTED,
    SUGGESTIVE,
    INCONCLUSIVE,
    NOT_TESTABLE,
    DIRECTION_AS_CLAIMED,
    DIRECTION_AGAINST,
    NO_POOLED_VERDICT,
    NOT_RUN,
)

# the kind of test a claim needs
SUPERIORITY = "superiority"
NON_SUPERIORITY = "non-superiority"
DIRECTION_ONLY = "direction only"
NO_TEST = "none (statement of method)"
POOLED = "pooled over pairs (heterogeneity, no test)"
TEST_KINDS = (SUPERIORITY, NON_SUPERIORITY, DIRECTION_ONLY, POOLED, NO_TEST)

#: the ledger's own families, for comparisons outside the families the preset declares
LEDGER_FAMILY = "ledger: comparisons outside the declared families"
MARGIN_FAMILY = "ledger: non-superiority against a declared margin"

#: the rule each kind of test applies to the per-seed paired differences Δ = treatment − reference
TEST_RULES = {
    SUPERIORITY: (
        "the claim is that the treatment beats the reference (Δ > 0; Δ < 0 where the claim predicts a loss). "
        "**supported** when the Holm-adjusted p of the paired t-test within the comparison's family is below alpha "
        "and Δ has the predicted sign, **contradicted** when it is below alpha with the other sign, **suggestive** "
        "when only the unadjusted p is below alpha, **inconclusive** (within seed noise) otherwise."
    ),
    NON_SUPERIORITY: (
        "the claim is that the treatment (the multilingual variant) does *not consistently* beat the reference "
        "(English intermediate training). This needs a margin declared in advance (`analysis.margins` in the "
        "preset, points per target task): **supported** when the one-sided t-test shows Δ < +margin (Holm within "
        "the ledger's non-superiority family), **contradicted** when the superiority test shows Δ > 0 (Holm within "
        "its family), **inconclusive** otherwise. Without a declared margin the claim is **not testable**: an "
        "interval that merely contains 0 is absence of evidence, not evidence of no difference."
    ),
    DIRECTION_ONLY: (
        "only the sign is read, no interval, because an interval would be invalid (e.g. the best condition is "
        "chosen on the same seeds it is scored on). **direction as claimed** when Δ has the predicted sign on "
        "every seed, **direction against the claim** when it has the other sign on every seed, **inconclusive** "
        "when the seeds disagree. Neither is a statistical test."
    ),
    POOLED: (
        "a number pooled over several pairs (inverse-variance weighted), shown with its heterogeneity (Cochran's Q, "
        "I²) and never given a verdict: the single pairs are the tests."
    ),
    NO_TEST: "a statement of the paper's design: reported with how this study mirrors it, never tested.",
}

# where a claim comes from
ABSTRACT = "paper abstract"
PAPER_TABLE = "paper table via a named source"
BRIEF = "project brief's extracted claim"
PROJECT = "this project"
PROVENANCES = (ABSTRACT, PAPER_TABLE, BRIEF, PROJECT)

#: MLM loss must be at least this fraction below the unigram-entropy floor ("clearly below")
MLM_MARGIN = 0.05

EN_SINGLE = ("en-nli", "en-sentiment", "en-qa", "en-copa", "en-deprel")
EN_MATCHED = ("en-qa", "en-copa", "en-deprel")
ML_MATCHED = ("ml-qa", "ml-copa", "ml-deprel")

PAPER = "Phang et al. 2020 (arXiv:2005.13013)"

#: The paper's XTREME test-set submission (X-STILTs: the best intermediate task per target task) beside XLM-R
#: Large, as the results table of google-research/multilingual-t5's README lists them (commit below; the README
#: heads the table "showing F1 scores"; XNLI and PAWS-X are accuracies on XTREME, QA columns are F1).
SUBMISSION_REPO = "google-research/multilingual-t5"
SUBMISSION_COMMIT = "1cf881700d57c258a403ea6ab31809b2889b8d5b"
SUBMISSION_SOURCE = (
    f"{PAPER}, XTREME test-set submission (X-STILTs) vs XLM-R, as listed in {SUBMISSION_REPO} README.md "
    f"@ {SUBMISSION_COMMIT[:7]}"
)
SUBMISSION = {  # task: (XLM-R, X-STILTs)
    "XNLI": (79.2, 80.4),
    "PAWS-X": (86.4, 87.7),
    "NER (WikiANN)": (65.4, 64.7),
    "XQuAD (F1)": (76.6, 77.2),
    "MLQA (F1)": (71.6, 72.3),
    "TyDiQA-GoldP (F1)": (65.1, 76.0),
}

ABSTRACT_SOURCE = f"{PAPER}, abstract"


def brief_source(confidence: str = "0.25–0.27") -> str:
    """Provenance of a figure that only the project brief gives (P1–P4)."""
    return (
        f"{BRIEF}, extraction confidence {confidence}, not confirmed by a reachable table of the paper "
        "(the v1 abstract gives SQuAD +8.4 on dev)"
    )


@dataclass(frozen=True)
class Claim:
    """One row of the ledger.

    ``treatment`` and ``reference`` are condition groups; per seed each group is the mean of its
    conditions' zero-shot ``family`` score (one metric of one checkpoint: a ``tables.FAMILIES`` key).
    ``choose_best``: the treatment is the best of its conditions on this family (direction only).
    ``pooled``: ``treatment[i] − reference[i]`` are separate pairs, pooled with their heterogeneity, no verdict.
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
    family: str = "pos"
    direction: int = +1
    kind: str = "effect"  # "effect" | "method" | "question"
    untestable: str | None = None
    needs_mlm: bool = True
    provenance: str = PROJECT  # one of PROVENANCES; ``source`` says exactly where
    test_kind: str = SUPERIORITY  # one of TEST_KINDS; rule in TEST_RULES
    choose_best: bool = False
    pooled: bool = False

    def __post_init__(self):
        if self.provenance not in PROVENANCES:
            raise ValueError(f"claim {self.id}: provenance {self.provenance!r} is not one of {PROVENANCES}")
        if self.test_kind not in TEST_KINDS:
            raise ValueError(f"claim {self.id}: test kind {self.test_kind!r} is not one of {TEST_KINDS}")
        if self.family not in T.FAMILIES:
            raise ValueError(
                f"claim {self.id}: measure {self.family!r} is not one of {', '.join(T.FAMILIES)} (one metric of one "
                "checkpoint; no composite)"
            )


#: the XTREME average's analogue is measured on each of these separately: one metric of one checkpoint per row
MEASURES = ("pos", "ner", "tatoeba")


def per_measure(claim: Claim, measures: Sequence[str] = MEASURES) -> tuple[Claim, ...]:
    """One claim per measure (id ``<id>/<measure>``): no composite across metrics or checkpoints."""
    return tuple(
        dataclasses.replace(claim, id=f"{claim.id}/{m}", family=m, test=f"{claim.test}; on {T.FAMILIES[m]['label']}")
        for m in measures
    )


_MEASURES_TXT = (
    "measured separately on zero-shot POS (target checkpoint), NER (target checkpoint) and Tatoeba top-1 "
    "(intermediate checkpoint): no composite"
)

CLAIMS: tuple[Claim, ...] = (
    (
        *per_measure(
            Claim(
                "P1-squad",
                "SQuAD as intermediate task improves the XTREME average over XLM-R Large by +8.2.",
                8.2,
                "points, XTREME average",
                brief_source(),
                f"en-qa (XQuAD-en ≈ SQuAD) − no-intermediate; {_MEASURES_TXT}",
                ("en-qa",),
                ("no-intermediate",),
                provenance=BRIEF,
            )
        ),
        *per_measure(
            Claim(
                "P2-mnli",
                "MNLI as intermediate task improves the XTREME average by +7.5.",
                7.5,
                "points, XTREME average",
                brief_source(),
                f"en-nli (RTE ≈ MNLI) − no-intermediate; {_MEASURES_TXT}",
                ("en-nli",),
                ("no-intermediate",),
                provenance=BRIEF,
            )
        ),
        Claim(
            "P3-hellaswag",
            "HellaSwag as intermediate task improves the XTREME average by +7.0.",
            7.0,
            "points, XTREME average",
            brief_source(),
            "none: HellaSwag is not vendored (no network); see P3b-commonsense for the nearest analogue",
            untestable="no HellaSwag data offline",
            provenance=BRIEF,
        ),
        *per_measure(
            Claim(
                "P3b-commonsense",
                "MNLI, SQuAD and HellaSwag (a commonsense task) are the best intermediate tasks.",
                None,
                "qualitative",
                f"{ABSTRACT_SOURCE} (as the issue-14 audit summarises it)",
                f"en-copa (XCOPA English ≈ COPA, the nearest commonsense task) − no-intermediate; {_MEASURES_TXT}",
                ("en-copa",),
                ("no-intermediate",),
                provenance=ABSTRACT,
            )
        ),
        *per_measure(
            Claim(
                "P4-multitask",
                "Multi-task intermediate training on all nine tasks improves the XTREME average by +8.7.",
                8.7,
                "points, XTREME average",
                brief_source(),
                f"en-multitask (all English intermediate tasks) − no-intermediate; {_MEASURES_TXT}",
                ("en-multitask",),
                ("no-intermediate",),
                provenance=BRIEF,
            )
        ),
        Claim(
            "P5-tatoeba",
            "Intermediate training gives large gains on sentence retrieval (Tatoeba).",
            None,
            "qualitative (large)",
            ABSTRACT_SOURCE,
            "mean over the five English single-task conditions − no-intermediate on Tatoeba top-1 "
            "(after phase ii vs the pretrained encoder)",
            EN_SINGLE,
            ("no-intermediate",),
            family="tatoeba",
            provenance=ABSTRACT,
        ),
        Claim(
            "P5b-bucc",
            "Intermediate training gives large gains on BUCC bitext mining.",
            None,
            "qualitative (large)",
            ABSTRACT_SOURCE,
            "none",
            untestable="no BUCC data offline",
            provenance=ABSTRACT,
        ),
        Claim(
            "P6-tydiqa-xnli",
            "On the XTREME test set the best-per-task submission gains most on TyDiQA-GoldP (XLM-R 65.1 → 76.0 F1, "
            "+10.9) and gains on XNLI too, by less (79.2 → 80.4, +1.2).",
            10.9,
            "points, TyDiQA-GoldP F1 (XNLI: +1.2 accuracy)",
            SUBMISSION_SOURCE,
            "none: neither target task is evaluated by the offline presets",
            untestable="no TyDiQA or XNLI target results offline (both need hub data)",
            provenance=PAPER_TABLE,
        ),
        *per_measure(
            Claim(
                "P7-best-per-target",
                "Choosing the best intermediate task per target task gives +5.4 on XTREME.",
                5.4,
                "points, XTREME score",
                ABSTRACT_SOURCE,
                "per target task (POS, NER, Tatoeba, each on its own) the English condition with the highest seed-mean "
                "Δ vs no-intermediate (the choice is made on the same seeds, so no interval: direction only)",
                EN_SINGLE + ("en-multitask",),
                ("no-intermediate",),
                provenance=ABSTRACT,
                test_kind=DIRECTION_ONLY,
                choose_best=True,
            )
        ),
        *per_measure(
            Claim(
                "P8-mlm-not-better",
                "Continued multilingual MLM does not consistently outperform English intermediate training.",
                None,
                "qualitative (non-superiority)",
                f"{ABSTRACT_SOURCE}: neither continued multilingual MLM nor machine-translated intermediate data "
                "consistently outperforms English intermediate training",
                f"ml-mlm − mean over the five English single-task conditions; {_MEASURES_TXT}. "
                "The paper mixed MLM into intermediate training; here ml-mlm replaces it",
                ("ml-mlm",),
                EN_SINGLE,
                provenance=ABSTRACT,
                test_kind=NON_SUPERIORITY,
            )
        ),
        *(
            Claim(
                f"P9-translated-not-better/{x}/{m}",
                "Machine-translated intermediate data does not consistently outperform English intermediate data.",
                None,
                "qualitative (non-superiority)",
                f"{ABSTRACT_SOURCE}: neither continued multilingual MLM nor machine-translated intermediate data "
                "consistently outperforms English intermediate training",
                f"ml-{x} − en-{x}, one pair (no pooling over pairs), on {T.FAMILIES[m]['label']}. ml-X are "
                "human-translated (XQuAD, XCOPA, PUD), not machine-translated, and size-matched",
                (f"ml-{x}",),
                (f"en-{x}",),
                family=m,
                provenance=ABSTRACT,
                test_kind=NON_SUPERIORITY,
            )
            for x in ("qa", "copa", "deprel")
            for m in MEASURES
        ),
        Claim(
            "M1-xlmr-large",
            "The starting model is XLM-R Large.",
            None,
            "method",
            f"{BRIEF} (not verified against the paper's text here; the submission table's baseline row is XLM-R: "
            f"{SUBMISSION_REPO} README)",
            "none",
            kind="method",
            untestable="no XLM-R Large: a smaller encoder is used here (see the encoder card)",
            provenance=BRIEF,
            test_kind=NO_TEST,
        ),
        Claim(
            "M2-three-phases",
            "Three phases: pre-trained model → English intermediate task → English "
            "target task, evaluated zero-shot in other languages.",
            None,
            "method",
            ABSTRACT_SOURCE,
            "mirrored as phases mlm → intermediate → target",
            kind="method",
            needs_mlm=False,
            provenance=ABSTRACT,
            test_kind=NO_TEST,
        ),
        Claim(
            "M3-nine-tasks",
            "Nine English intermediate tasks: ANLI+, MNLI, QQP, SST-2, SQuAD, HellaSwag, CosmosQA, CommonsenseQA, "
            "CCG. Unverified here: the definition of ANLI+ (ANLI rounds 1–3 alone, or combined with other NLI "
            "data) and the SQuAD version.",
            9,
            "tasks",
            f'{ABSTRACT_SOURCE} ("nine intermediate language-understanding tasks"); the task list as the paper '
            "preset's task registry (xitcore/tasks/registry.py) names them, whose en-anli trains on ANLI rounds 1–3",
            "mirrored by en-nli, en-sentiment, en-qa, en-copa, en-deprel (+ en-multitask)",
            kind="method",
            needs_mlm=False,
            provenance=ABSTRACT,
            test_kind=NO_TEST,
        ),
        Claim(
            "Q1-ml-vs-en-pos",
            "Research question: multilingual intermediate data (ml-*) helps zero-shot "
            "POS more than the same amount of English intermediate data (en-*).",
            None,
            "hypothesis",
            "this project",
            "ml-X − en-X over X ∈ qa, copa, deprel on zero-shot POS accuracy, pooled with its heterogeneity; the "
            "verdicts are the single pairs' (Q3-*-pos, primary family)",
            ML_MATCHED,
            EN_MATCHED,
            family="pos",
            kind="question",
            test_kind=POOLED,
            pooled=True,
        ),
        Claim(
            "Q2-ml-vs-en-ner",
            "Research question: ml-* helps zero-shot NER more than en-*.",
            None,
            "hypothesis",
            "this project",
            "ml-X − en-X over X ∈ qa, copa, deprel on NER span F1 (es, nl), pooled with its heterogeneity; the "
            "verdicts are the single pairs' (Q3-*-ner, primary family)",
            ML_MATCHED,
            EN_MATCHED,
            family="ner",
            kind="question",
            test_kind=POOLED,
            pooled=True,
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


@dataclass
class Verdict:
    verdict: str
    reason: str
    n: int = 0
    mean: float = float("nan")
    sd: float = float("nan")
    ci_lo: float = float("nan")
    ci_hi: float = float("nan")
    p: float = float("nan")


def verdict(
    deltas: Sequence[float] | None,
    direction: int = +1,
    *,
    test_kind: str = SUPERIORITY,
    untestable: str | None = None,
    confidence: float = T.CI_CONFIDENCE,
    p_holm: float | None = None,
    alpha: float = S.ALPHA,
    margin: float | None = None,
    margin_p_holm: float | None = None,
) -> Verdict:
    """Turn per-seed paired differences (treatment − reference) into a verdict by the rule of ``test_kind``
    (:data:`TEST_RULES`), with the statistics of :mod:`xitcore.book.statistics`.

    ``p_holm``: the Holm-adjusted p of this comparison within its declared family (None: a family of one, the
    unadjusted p). A superiority claim is supported or contradicted only where that p < ``alpha``
    (:func:`xitcore.book.statistics.verdict_word`), suggestive where only the unadjusted p is. A non-superiority
    claim needs a declared ``margin`` (else not testable); ``margin_p_holm`` is its one-sided test's adjusted p.
    ``untestable`` short-circuits to "not testable at this scale" with that reason; so do fewer than two finite
    deltas. ``direction`` (+1/−1) is the sign a superiority or direction-only claim predicts."""
    if direction not in (+1, -1):
        raise ValueError(f"direction must be +1 or -1, not {direction!r}")
    if test_kind not in TEST_KINDS:
        raise ValueError(f"test kind must be one of {TEST_KINDS}, not {test_kind!r}")
    st = T.paired_stats(deltas if deltas is not None else [], confidence)
    n = st.n
    if untestable:
        return Verdict(NOT_TESTABLE, untestable, n, st.mean, st.sd)
    if test_kind == NO_TEST:
        return Verdict(NOT_TESTABLE, "a statement of method, not an effect", n, st.mean, st.sd)
    if n < 2:
        return Verdict(NOT_TESTABLE, f"fewer than 2 seeds with both conditions measured (n={n})", n, st.mean, st.sd)
    nums = (n, st.mean, st.sd, st.lo, st.hi, st.p)
    ci = f"{confidence:.0%} CI [{T.num(st.lo, '+.2f')}, {T.num(st.hi, '+.2f')}]"
    adj = st.p if p_holm is None or not np.isfinite(p_holm) else float(p_holm)
    if test_kind == DIRECTION_ONLY:
        vals = [float(d) for d in deltas if d is not None and not math.isnan(float(d))]
        signs = {int(np.sign(d)) for d in vals}
        where = f"Δ on the {n} seeds: " + ", ".join(T.num(d, "+.2f") for d in vals) + " (no interval: direction only)"
        if signs == {direction}:
            return Verdict(DIRECTION_AS_CLAIMED, where, n, st.mean, st.sd)
        if signs == {-direction}:
            return Verdict(DIRECTION_AGAINST, where, n, st.mean, st.sd)
        return Verdict(INCONCLUSIVE, "the seeds disagree in sign; " + where, n, st.mean, st.sd)
    if test_kind == NON_SUPERIORITY:
        if margin is None:
            return Verdict(
                NOT_TESTABLE,
                f"no non-superiority margin declared in advance (analysis.margins); {ci} (n={n} seeds) is "
                "absence of evidence, not evidence of no difference",
                *nums,
            )
        mt = S.non_superiority(deltas, margin)
        m_adj = mt.p if margin_p_holm is None or not np.isfinite(margin_p_holm) else float(margin_p_holm)
        if np.isfinite(m_adj) and m_adj < alpha:
            return Verdict(
                SUPPORTED, f"Δ < +{margin:g} shown: {mt.reason}, Holm p = {m_adj:.3f} < {alpha:g}; {ci}", *nums
            )
        if adj < alpha and st.mean > 0:
            return Verdict(
                CONTRADICTED, f"the multilingual variant is better: Holm p = {adj:.3f} < {alpha:g}; {ci}", *nums
            )
        return Verdict(
            INCONCLUSIVE, f"neither Δ < +{margin:g} nor Δ > 0 shown ({mt.reason}, Holm p = {m_adj:.3f}); {ci}", *nums
        )
    word = S.verdict_word(n, st.mean, st.p, adj, alpha)
    ps = f"p = {st.p:.3f}, Holm p = {adj:.3f}"
    if word in (S.HELPED, S.HURT):
        same = (st.mean > 0) == (direction > 0)
        return Verdict(SUPPORTED if same else CONTRADICTED, f"{ps} < {alpha:g}; {ci} (n={n} seeds)", *nums)
    if word == S.SUGGESTIVE:
        side = "as claimed" if (st.mean > 0) == (direction > 0) else "against the claim"
        return Verdict(SUGGESTIVE, f"{ps}: below {alpha:g} only before Holm's adjustment, {side}; {ci}", *nums)
    return Verdict(INCONCLUSIVE, f"{ps}: within seed noise; {ci} (n={n} seeds)", *nums)


# --------------------------------------------------------------------------------------------
# measuring a claim on the results table


def group_per_seed(df: pd.DataFrame, family: str, conditions: Sequence[str]) -> pd.Series:
    """Per seed, mean over ``conditions`` of their zero-shot ``family`` score (seeds all must have)."""
    parts = [T.per_seed(df, family, c) for c in conditions]
    if not parts or any(p.empty for p in parts):
        return pd.Series(dtype=float)
    return pd.concat(T.broadcast_shared(parts), axis=1, join="inner").mean(axis=1)


def family_deltas(df: pd.DataFrame, family: str, treatment: Sequence[str], reference: Sequence[str]) -> pd.Series:
    """Per-seed Δ = treatment − reference on one family, paired over the seeds both sides have
    (:func:`xitcore.book.tables.paired_differences`)."""
    return T.paired_differences(group_per_seed(df, family, treatment), group_per_seed(df, family, reference))


def best_deltas(df: pd.DataFrame, candidates, reference, family: str) -> tuple[pd.Series, str | None]:
    """Δ of the candidate with the highest seed-mean Δ on one family (chosen on the same seeds: direction only)."""
    best = None
    for c in candidates:
        d = family_deltas(df, family, (c,), reference)
        if len(d) and (best is None or d.mean() > best[1].mean()):
            best = (c, d)
    return (best[1], best[0]) if best else (pd.Series(dtype=float), None)


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


def pretrained_encoder(indexes: dict) -> str | None:
    """The ``model.init`` of conditions whose encoder was pre-trained elsewhere (a hub or packaged model), or None
    when it is trained from scratch here: the MLM-floor check (:func:`mlm_floor_problem`) is about the latter."""
    inits = {str((idx.get("config") or {}).get("model", {}).get("init", "scratch")) for idx in indexes.values()}
    inits.discard("scratch")
    return ", ".join(sorted(inits)) or None


def evaluate_claim(
    claim: Claim,
    df: pd.DataFrame,
    confidence: float = T.CI_CONFIDENCE,
    pretrained: str | None = None,
    analysis: T.Analysis | None = None,
    not_run: Sequence[str] | None = None,
) -> dict:
    """Measure one claim on ``df`` (one preset) and return its ledger row. ``pretrained``: the encoder's
    ``model.init`` when it was pre-trained elsewhere (:func:`pretrained_encoder`); the MLM-floor check, which asks
    whether an encoder pre-trained here learnt more than word frequencies, is then skipped. ``analysis``: the
    declared families (:func:`xitcore.book.tables.analyse`); a comparison found there takes its adjusted p. A row
    outside them gets its ``family`` named here and its ``p Holm`` from :func:`ledger_table`.
    ``not_run``: the conditions of the preset with no runs in the store (:func:`xitcore.book.not_run`); a claim
    whose missing conditions are all among them is :data:`NOT_RUN` (with the command that runs them), not
    :data:`NOT_TESTABLE`."""
    an = analysis if analysis is not None else T.analyse(df)
    spec = an.spec
    note = ""
    missing_runs: list[str] = []
    deltas = pd.Series(dtype=float)
    problem = claim.untestable
    family, p_holm, margin, pooled = "", float("nan"), None, None
    if problem is None and claim.kind == "method":
        problem = _method_reason(claim, df)
    if problem is None:
        conds = set(df["condition"])
        absent = [c for c in claim.treatment + claim.reference if c not in conds]
        if absent:
            problem = f"no results for condition(s) {', '.join(absent)}"
            if not_run is not None and set(absent) <= set(not_run):  # running them can make the claim testable
                missing_runs = absent
                problem = f"no runs of {', '.join(absent)} in this store"
                if df["preset"].nunique() == 1:
                    problem += f": xit preset {df['preset'].iloc[0]} --only {','.join(absent)}"
    if problem is None and claim.needs_mlm and pretrained is None:
        problem = mlm_floor_problem(df, claim.treatment + claim.reference)
    label = T.FAMILIES[claim.family]["label"]
    if problem is None:
        if claim.pooled:
            pairs = []
            for a, b in zip(claim.treatment, claim.reference):
                f = an.find(a, b, claim.family)
                pairs.append(f.stats if f is not None else T.family_delta(df, claim.family, a, b))
            pooled = S.heterogeneity(pairs, confidence)
            if pooled.k < 2:
                problem = f"fewer than 2 pairs with 2 or more paired seeds on {label}"
            note = "single pairs: " + ", ".join(
                f"{a} − {b} {st.mean:+.2f}" for (a, b), st in zip(zip(claim.treatment, claim.reference), pairs) if st.n
            )
        elif claim.choose_best:
            deltas, chosen = best_deltas(df, claim.treatment, claim.reference, claim.family)
            if chosen is None:
                problem = f"no {label} results for both sides"
            note = f"chosen: {claim.family}→{chosen}"
        else:
            deltas = family_deltas(df, claim.family, claim.treatment, claim.reference)
            if deltas.empty:
                problem = f"no {label} results for both sides"
            elif len(claim.treatment) == 1 and len(claim.reference) == 1:
                f = an.find(claim.treatment[0], claim.reference[0], claim.family)
                if f is not None:
                    family, p_holm = f.group, f.p_holm
            if problem is None and claim.test_kind == NON_SUPERIORITY:
                margin = spec.margins.get(claim.family)
                family = MARGIN_FAMILY if margin is not None else family
            elif problem is None and claim.test_kind == SUPERIORITY and not family:
                family = LEDGER_FAMILY
    if pooled is not None and problem is None:
        v = Verdict(
            NO_POOLED_VERDICT, pooled.text() + f"; {note}", pooled.k, pooled.mean, float("nan"), pooled.lo, pooled.hi
        )
    else:
        v = verdict(
            list(deltas.values),
            claim.direction,
            test_kind=claim.test_kind,
            untestable=problem,
            confidence=confidence,
            p_holm=p_holm if family and family not in (LEDGER_FAMILY, MARGIN_FAMILY) else None,
            alpha=spec.alpha,
            margin=margin,
        )
    if missing_runs and v.verdict == NOT_TESTABLE:
        v = Verdict(NOT_RUN, problem, v.n, v.mean, v.sd)
    test_p = v.p
    if v.verdict != NOT_TESTABLE and claim.test_kind == NON_SUPERIORITY and margin is not None:
        test_p = S.non_superiority(list(deltas.values), margin).p
    row = {
        "id": claim.id,
        "kind": claim.kind,
        "paper statement": claim.statement,
        "paper value": claim.paper_value,
        "paper unit": claim.paper_unit,
        "provenance": claim.source,
        "provenance kind": claim.provenance,
        "test kind": claim.test_kind,
        "test here": claim.test,
        "treatment": ", ".join(claim.treatment),
        "reference": ", ".join(claim.reference),
        "measure": claim.family,
        "direction": "not > margin"
        if claim.test_kind == NON_SUPERIORITY
        else "none"
        if claim.test_kind in (NO_TEST, POOLED)
        else "+"
        if claim.direction > 0
        else "−",
        "n seeds": v.n,
        "Δ mean": v.mean,
        "Δ sd": v.sd,
        "CI low": v.ci_lo,
        "CI high": v.ci_hi,
        "p": test_p,
        "family": family if v.verdict != NOT_TESTABLE else "",
        "p Holm": p_holm if v.verdict != NOT_TESTABLE else float("nan"),
        "verdict": v.verdict,
        "reason": v.reason + (f"; {note}" if note and pooled is None else ""),
        "seeds": ",".join(str(int(s)) for s in deltas.index) if len(deltas) else "",
        "_deltas": list(deltas.values),
        "_margin": margin,
    }
    return row


def ledger_table(
    df: pd.DataFrame,
    claims: Sequence[Claim] = CLAIMS,
    confidence: float = T.CI_CONFIDENCE,
    preset: str | None = None,
    pretrained: str | None = None,
    analysis=None,
    not_run: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ledger: one row per claim with provenance, test kind, Δ mean, sd, CI, p, its family, the Holm-adjusted
    p within that family, and the verdict that adjusted p allows.

    ``df`` should hold one preset (pass ``preset`` to select it); baselines are ignored. ``pretrained``: see
    :func:`evaluate_claim`. ``analysis``: the preset's ``AnalysisConfig`` (default: read from its params). A row
    whose comparison is in a declared family (:func:`xitcore.book.tables.analyse`) carries that family's adjusted
    p, the one the answer page and the comparison tables print; the others are Holm-adjusted within
    :data:`LEDGER_FAMILY` or :data:`MARGIN_FAMILY`. ``not_run``: claims needing conditions that were not run
    are :data:`NOT_RUN` (:func:`evaluate_claim`). ``attrs["comparisons"]`` counts the tested rows.
    """
    T.check_frame(df)
    if preset is not None:
        df = df[df["preset"] == preset]
    elif df["preset"].nunique() > 1:
        raise ValueError(
            f"results hold several presets ({', '.join(map(str, sorted(df['preset'].unique())))}); pass preset="
        )
    an = T.analyse(df, analysis)
    out = pd.DataFrame([evaluate_claim(c, df, confidence, pretrained, an, not_run) for c in claims])
    for fam in (LEDGER_FAMILY, MARGIN_FAMILY):
        rows = out.index[(out["family"] == fam) & out["p"].notna()]
        if not len(rows):
            continue
        adj = T.holm(list(out.loc[rows, "p"]))
        for i, p_adj in zip(rows, adj):
            out.at[i, "p Holm"] = p_adj
            c = next(c for c in claims if c.id == out.at[i, "id"])
            kw = dict(margin=out.at[i, "_margin"], margin_p_holm=p_adj) if fam == MARGIN_FAMILY else dict(p_holm=p_adj)
            if fam == MARGIN_FAMILY:  # "contradicted" reads the superiority test of its declared family, if any
                f = an.find(c.treatment[0], c.reference[0], c.family) if len(c.treatment) == 1 else None
                kw["p_holm"] = f.p_holm if f is not None else None
            v = verdict(
                out.at[i, "_deltas"],
                c.direction,
                test_kind=c.test_kind,
                confidence=confidence,
                alpha=an.spec.alpha,
                **kw,
            )
            out.at[i, "verdict"], out.at[i, "reason"] = v.verdict, v.reason
    out = out.drop(columns=["_deltas", "_margin"])
    tested = out["p Holm"].notna()
    for col in ("Δ mean", "Δ sd", "CI low", "CI high"):
        out[col] = out[col].astype(float).round(3)
    for col in ("p", "p Holm"):
        out[col] = out[col].astype(float).round(4)
    out.loc[~tested, "p"] = float("nan")
    out.attrs["comparisons"] = int(tested.sum())
    out.attrs["alpha"] = an.spec.alpha
    return out


def rules_markdown() -> str:
    """The rule of each kind of test, as the claims chapter prints it."""
    return "\n".join(f"* **{kind}**: {rule}" for kind, rule in TEST_RULES.items())


def provenance_markdown() -> str:
    """What each provenance kind means, as the claims chapter prints it."""
    return "\n".join(
        [
            f"* **{ABSTRACT}**: stated in the abstract of {PAPER}.",
            f"* **{PAPER_TABLE}**: a number of the paper's results read in a named source that quotes it "
            f"({SUBMISSION_REPO} README.md @ {SUBMISSION_COMMIT[:7]}: the XTREME test-set submission).",
            f"* **{BRIEF}**: a figure only the project brief gives, with its extraction confidence; no table of the "
            "paper that could be reached confirms it.",
            f"* **{PROJECT}**: this project's research question or control, not a claim of the paper.",
        ]
    )


def submission_table() -> pd.DataFrame:
    """The paper's XTREME test-set submission beside XLM-R (:data:`SUBMISSION`), with the difference."""
    t = pd.DataFrame(
        [(task, x, s, s - x) for task, (x, s) in SUBMISSION.items()],
        columns=["task", "XLM-R", "X-STILTs (best task per target)", "Δ"],
    ).set_index("task")
    return t.round(1)


def ledger_note(ledger: pd.DataFrame) -> str:
    """One Markdown line: how many comparisons the ledger tests, in which families, and how many pass."""
    m = int(ledger.attrs.get("comparisons", ledger["p Holm"].notna().sum()))
    if not m:
        return (
            "*No claim was tested in these runs (all are not testable, not run in this store, direction only, "
            "pooled or method).*"
        )
    alpha = float(ledger.attrs.get("alpha", S.ALPHA))
    k = int((ledger["p Holm"] < alpha).sum())
    fams = sorted({f for f in ledger.loc[ledger["p Holm"].notna(), "family"] if f})
    return (
        f"*The ledger tests {m} claim(s). Each carries the Holm-adjusted p of its family ({'; '.join(fams)}): a "
        "comparison that belongs to a family the preset declares has the same adjusted p here as on the answer "
        f"page and in the comparison tables. Verdicts follow that adjusted p: {k} of {m} have p Holm < {alpha:.2g}.*"
    ) + "".join(f"\n\n* *Power, {fam}:* {_power(ledger, fam, alpha)}." for fam in fams)


def _power(ledger: pd.DataFrame, family: str, alpha: float) -> str:
    """The power line of one family, from the seed spread of the ledger's rows in it."""
    rows = ledger[(ledger["family"] == family) & ledger["p Holm"].notna()]
    stats = [
        S.PairedStats(int(r["n seeds"]), r["Δ mean"], r["Δ sd"], r["CI low"], r["CI high"], r["p"])
        for _, r in rows.iterrows()
    ]
    return S.family_power_line(stats, alpha)


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
    colours = {
        SUPPORTED: "#d7f0d2",
        CONTRADICTED: "#f6d0cf",
        SUGGESTIVE: "#eef3d9",
        NO_POOLED_VERDICT: "#e6e6e6",
        INCONCLUSIVE: "#fbeec1",
        NOT_TESTABLE: "#e6e6e6",
        NOT_RUN: "#f2f2f2",
        DIRECTION_AS_CLAIMED: "#eaf5e6",
        DIRECTION_AGAINST: "#fae6e5",
    }
    cols = [
        "id",
        "paper statement",
        "paper value",
        "provenance",
        "test kind",
        "test here",
        "n seeds",
        "Δ mean",
        "Δ sd",
        "CI low",
        "CI high",
        "family",
        "p Holm",
        "verdict",
        "reason",
    ]
    view = ledger[[c for c in cols if c in ledger.columns]]
    return (
        view.style.hide(axis="index")
        .format(
            {
                "Δ mean": lambda x: T.num(x, "+.2f"),
                "Δ sd": lambda x: T.num(x, ".2f"),
                "CI low": lambda x: T.num(x, "+.2f"),
                "CI high": lambda x: T.num(x, "+.2f"),
                "paper value": "{:g}",
                "p Holm": "{:.3f}",
            },
            na_rep="–",
        )
        .map(lambda v: f"background-color: {colours.get(v, '')}", subset=["verdict"])
        .set_table_styles([{"selector": "td, th", "props": "font-size: 0.8em; vertical-align: top;"}])
    )


if __name__ == "__main__":  # python -m xitcore.book.claims  -> the claim list as YAML
    print(claims_yaml(), end="")
