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
#: a claim whose condition's intermediate task did not score above chance on its English dev set
#: (``tables.not_put_to_test``): its numbers are shown, no verdict is drawn
NOT_PUT = S.NOT_PUT
#: a claim that names an in-language condition (eval.allow_in_language_syntax): not a zero-shot result
IN_LANGUAGE = "in-language, not zero-shot (no verdict)"
VERDICTS = (
    NOT_PUT,
    IN_LANGUAGE,
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
    conditions' zero-shot ``family`` score (one metric of one checkpoint: a ``tables.family_spec`` key).
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
        if self.family not in T.all_families():  # T.family_spec knows every measure a preset may declare
            raise ValueError(
                f"claim {self.id}: measure {self.family!r} is not one of {', '.join(T.all_families())} (one metric of "
                "one checkpoint; no composite)"
            )


#: the XTREME average's analogue is measured on each of these separately: one metric of one checkpoint per row
MEASURES = ("pos", "ner", "tatoeba")


def per_measure(claim: Claim, measures: Sequence[str] = MEASURES) -> tuple[Claim, ...]:
    """One claim per measure (id ``<id>/<measure>``): no composite across metrics or checkpoints."""
    return tuple(
        dataclasses.replace(claim, id=f"{claim.id}/{m}", family=m, test=f"{claim.test}; on {T.family_label(m)}")
        for m in measures
    )


def _measures_text(measures: Sequence[str]) -> str:
    if tuple(measures) == MEASURES:
        return (
            "measured separately on zero-shot POS (target checkpoint), NER (target checkpoint) and Tatoeba top-1 "
            "(intermediate checkpoint): no composite"
        )
    return f"measured separately on {', '.join(T.family_label(m, short=True) for m in measures)}: no composite"


_MEASURES_TXT = _measures_text(MEASURES)


@dataclass(frozen=True)
class ClaimConditions:
    """Which conditions of a preset stand for the paper's: the laptop presets' analogues (``en-qa`` for SQuAD,
    ``en-nli`` for MNLI, ...) or the paper preset's own tasks (:func:`claims_for`)."""

    squad: str = "en-qa"
    squad_text: str = "en-qa (XQuAD-en ≈ SQuAD)"
    mnli: str = "en-nli"
    mnli_text: str = "en-nli (RTE ≈ MNLI)"
    hellaswag: str | None = None
    commonsense: str | None = "en-copa"
    multitask: str = "en-multitask"
    en_single: tuple[str, ...] = ("en-nli", "en-sentiment", "en-qa", "en-copa", "en-deprel")
    en_single_text: str = "the five English single-task conditions"
    pairs: tuple[tuple[str, str], ...] = (("ml-qa", "en-qa"), ("ml-copa", "en-copa"), ("ml-deprel", "en-deprel"))


def build_claims(
    measures: Sequence[str] = MEASURES,
    primary_tasks: Sequence[str] = ("pos", "ner"),
    names: ClaimConditions = ClaimConditions(),  # noqa: B008 (frozen: a shared default is safe)
    xtreme: Sequence[str] = (),
) -> tuple[Claim, ...]:
    """The ledger's claims, measured on ``measures`` (each its own row) with the research question's pairs
    ``names.pairs`` on ``primary_tasks``; ``xtreme``: the XTREME target measures the preset has (P6, P5b). The
    defaults give :data:`CLAIMS`, the laptop presets' ledger; :func:`claims_for` gives a preset's."""
    measures = tuple(measures)
    text = _measures_text(measures)
    pos = primary_tasks[0] if primary_tasks else "pos"
    en_single = tuple(names.en_single)
    ml_side = tuple(a for a, _ in names.pairs)
    en_side = tuple(b for _, b in names.pairs)
    pairs_text = ", ".join(a.split("-", 1)[1] if a.startswith("ml-") else a for a in ml_side)
    xs = dict.fromkeys(a.split("-", 1)[1] for a in ml_side)

    def q_id(task: str) -> str:
        return "Q2" if task in ("ner", "panx") else "Q1"

    def pair_id(a: str) -> str:
        return a.split("-", 1)[1] if a.startswith("ml-") else a

    hellaswag = (
        per_measure(
            Claim(
                "P3-hellaswag",
                "HellaSwag as intermediate task improves the XTREME average by +7.0.",
                7.0,
                "points, XTREME average",
                brief_source(),
                f"{names.hellaswag} − no-intermediate; {text}",
                (names.hellaswag,),
                ("no-intermediate",),
                provenance=BRIEF,
            ),
            measures,
        )
        if names.hellaswag
        else (
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
        )
    )
    commonsense_statement = "MNLI, SQuAD and HellaSwag (a commonsense task) are the best intermediate tasks."
    commonsense_source = f"{ABSTRACT_SOURCE} (as the issue-14 audit summarises it)"
    commonsense = (
        per_measure(
            Claim(
                "P3b-commonsense",
                commonsense_statement,
                None,
                "qualitative",
                commonsense_source,
                f"{names.commonsense} (XCOPA English ≈ COPA, the nearest commonsense task) − no-intermediate; {text}",
                (names.commonsense,),
                ("no-intermediate",),
                provenance=ABSTRACT,
            ),
            measures,
        )
        if names.commonsense
        else (
            Claim(
                "P3b-commonsense",
                commonsense_statement,
                None,
                "qualitative",
                commonsense_source,
                "none: a ranking of the tasks; P1, P2 and P3 test its three tasks one by one",
                untestable="a ranking claim: P1-squad, P2-mnli and P3-hellaswag test its tasks one by one",
                provenance=ABSTRACT,
            ),
        )
    )
    bucc = (
        (
            Claim(
                "P5b-bucc",
                "Intermediate training gives large gains on BUCC bitext mining.",
                None,
                "qualitative (large)",
                ABSTRACT_SOURCE,
                f"mean over {names.en_single_text} − no-intermediate on {T.family_label('bucc2018')} (after phase ii "
                "vs the pretrained encoder)",
                en_single,
                ("no-intermediate",),
                family="bucc2018",
                provenance=ABSTRACT,
            ),
        )
        if "bucc2018" in xtreme
        else (
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
        )
    )
    p6_statement = (
        "On the XTREME test set the best-per-task submission gains most on TyDiQA-GoldP (XLM-R 65.1 → 76.0 F1, "
        "+10.9) and gains on XNLI too, by less (79.2 → 80.4, +1.2)."
    )
    p6 = (
        tuple(
            Claim(
                f"P6-tydiqa-xnli/{m}",
                p6_statement,
                10.9 if m == "tydiqa" else 1.2,
                "points, TyDiQA-GoldP F1" if m == "tydiqa" else "points, XNLI accuracy",
                SUBMISSION_SOURCE,
                f"the English condition with the highest seed-mean Δ vs no-intermediate on {T.family_label(m)} (chosen "
                "on the same seeds: direction only; the published gains are on the test set, these on XTREME's "
                "splits as the preset scores them)",
                en_single + (names.multitask,),
                ("no-intermediate",),
                family=m,
                provenance=PAPER_TABLE,
                test_kind=DIRECTION_ONLY,
                choose_best=True,
            )
            for m in ("tydiqa", "xnli")
            if m in xtreme
        )
        if {"tydiqa", "xnli"} <= set(xtreme)
        else (
            Claim(
                "P6-tydiqa-xnli",
                p6_statement,
                10.9,
                "points, TyDiQA-GoldP F1 (XNLI: +1.2 accuracy)",
                SUBMISSION_SOURCE,
                "none: neither target task is evaluated by the offline presets",
                untestable="no TyDiQA or XNLI target results offline (both need hub data)",
                provenance=PAPER_TABLE,
            ),
        )
    )
    retrieval = "tatoeba" if "tatoeba" in measures or not xtreme else None
    return (
        (
            *per_measure(
                Claim(
                    "P1-squad",
                    "SQuAD as intermediate task improves the XTREME average over XLM-R Large by +8.2.",
                    8.2,
                    "points, XTREME average",
                    brief_source(),
                    f"{names.squad_text} − no-intermediate; {text}",
                    (names.squad,),
                    ("no-intermediate",),
                    provenance=BRIEF,
                ),
                measures,
            ),
            *per_measure(
                Claim(
                    "P2-mnli",
                    "MNLI as intermediate task improves the XTREME average by +7.5.",
                    7.5,
                    "points, XTREME average",
                    brief_source(),
                    f"{names.mnli_text} − no-intermediate; {text}",
                    (names.mnli,),
                    ("no-intermediate",),
                    provenance=BRIEF,
                ),
                measures,
            ),
            *hellaswag,
            *commonsense,
            *per_measure(
                Claim(
                    "P4-multitask",
                    "Multi-task intermediate training on all nine tasks improves the XTREME average by +8.7.",
                    8.7,
                    "points, XTREME average",
                    brief_source(),
                    f"{names.multitask} (all English intermediate tasks) − no-intermediate; {text}",
                    (names.multitask,),
                    ("no-intermediate",),
                    provenance=BRIEF,
                ),
                measures,
            ),
        )
        + (
            (
                Claim(
                    "P5-tatoeba",
                    "Intermediate training gives large gains on sentence retrieval (Tatoeba).",
                    None,
                    "qualitative (large)",
                    ABSTRACT_SOURCE,
                    f"mean over {names.en_single_text} − no-intermediate on Tatoeba top-1 "
                    "(after phase ii vs the pretrained encoder)",
                    en_single,
                    ("no-intermediate",),
                    family=retrieval,
                    provenance=ABSTRACT,
                ),
            )
            if retrieval
            else ()
        )
        + bucc
        + p6
        + (
            *per_measure(
                Claim(
                    "P7-best-per-target",
                    "Choosing the best intermediate task per target task gives +5.4 on XTREME.",
                    5.4,
                    "points, XTREME score",
                    ABSTRACT_SOURCE,
                    f"per target task ({', '.join(T.family_label(m, short=True) for m in measures)}, each on its own) "
                    "the English condition with the highest seed-mean Δ vs no-intermediate (the choice is made on "
                    "the same seeds, so no interval: direction only)"
                    if measures != MEASURES
                    else "per target task (POS, NER, Tatoeba, each on its own) the English condition with the highest "
                    "seed-mean Δ vs no-intermediate (the choice is made on the same seeds, so no interval: direction "
                    "only)",
                    en_single + (names.multitask,),
                    ("no-intermediate",),
                    provenance=ABSTRACT,
                    test_kind=DIRECTION_ONLY,
                    choose_best=True,
                ),
                measures,
            ),
            *per_measure(
                Claim(
                    "P8-mlm-not-better",
                    "Continued multilingual MLM does not consistently outperform English intermediate training.",
                    None,
                    "qualitative (non-superiority)",
                    f"{ABSTRACT_SOURCE}: neither continued multilingual MLM nor machine-translated intermediate data "
                    "consistently outperforms English intermediate training",
                    f"ml-mlm − mean over {names.en_single_text}; {text}. "
                    "The paper mixed MLM into intermediate training; here ml-mlm replaces it",
                    ("ml-mlm",),
                    en_single,
                    provenance=ABSTRACT,
                    test_kind=NON_SUPERIORITY,
                ),
                measures,
            ),
            *(
                Claim(
                    f"P9-translated-not-better/{pair_id(a)}/{m}",
                    "Machine-translated intermediate data does not consistently outperform English intermediate data.",
                    None,
                    "qualitative (non-superiority)",
                    f"{ABSTRACT_SOURCE}: neither continued multilingual MLM nor machine-translated intermediate data "
                    "consistently outperforms English intermediate training",
                    f"{a} − {b}, one pair (no pooling over pairs), on {T.family_label(m)}. "
                    + (
                        "ml-X are human-translated (XQuAD, XCOPA, PUD), not machine-translated, and size-matched"
                        if a.startswith("ml-")
                        else "size-matched to the English side"
                    ),
                    (a,),
                    (b,),
                    family=m,
                    provenance=ABSTRACT,
                    test_kind=NON_SUPERIORITY,
                )
                for a, b in names.pairs
                for m in measures
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
                untestable=None if xtreme else "no XLM-R Large: a smaller encoder is used here (see the encoder card)",
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
                "preset's task registry (xitcore/tasks/registry.py) names them, whose en-anli trains on ANLI rounds "
                "1–3",
                f"mirrored by {', '.join(en_single)} (+ {names.multitask})",
                kind="method",
                needs_mlm=False,
                provenance=ABSTRACT,
                test_kind=NO_TEST,
            ),
        )
        + tuple(
            Claim(
                f"{q_id(fam)}-ml-vs-en-{fam}",
                "Research question: multilingual intermediate data (ml-*) helps zero-shot "
                "POS more than the same amount of English intermediate data (en-*)."
                if fam == "pos"
                else "Research question: ml-* helps zero-shot NER more than en-*."
                if fam == "ner"
                else f"Research question: multilingual intermediate data helps {T.family_label(fam, short=True)} "
                "more than the same amount of English intermediate data.",
                None,
                "hypothesis",
                "this project",
                f"ml-X − en-X over X ∈ {', '.join(xs)} on zero-shot POS accuracy, pooled with its heterogeneity; the "
                "verdicts are the single pairs' (Q3-*-pos, primary family)"
                if fam == "pos" and names.pairs == ClaimConditions().pairs
                else f"ml-X − en-X over X ∈ {', '.join(xs)} on NER span F1 (es, nl), pooled with its heterogeneity; "
                "the verdicts are the single pairs' (Q3-*-ner, primary family)"
                if fam == "ner" and names.pairs == ClaimConditions().pairs
                else f"P-X − en-X over {pairs_text} on {T.family_label(fam)}, pooled with its heterogeneity; the "
                f"verdicts are the single pairs' (Q3-*-{fam}, primary family)",
                ml_side,
                en_side,
                family=fam,
                kind="question",
                test_kind=POOLED,
                pooled=True,
            )
            for fam in primary_tasks
        )
        + tuple(
            Claim(
                f"Q3-{pair_id(a)}-{fam}",
                f"Research question, single pair: {a} helps zero-shot {_upper(fam)} more than {b}.",
                None,
                "hypothesis",
                "this project",
                f"{a} − {b} on {T.family_label(fam)}",
                (a,),
                (b,),
                family=fam,
                kind="question",
            )
            for a, b in names.pairs
            for fam in primary_tasks
        )
        + (
            Claim(
                "Q4-xcopa",
                "Research question: native-language COPA items (ml-copa) beat English ones (en-copa) on zero-shot "
                "XCOPA.",
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
                f"Q5-en-{pos}",
                f"Research question: English intermediate training helps zero-shot {_upper(pos)} at all.",
                None,
                "hypothesis",
                "this project",
                f"mean over {names.en_single_text} − no-intermediate on zero-shot {_upper(pos)}",
                en_single,
                ("no-intermediate",),
                family=pos,
                kind="question",
            ),
            Claim(
                f"Q6-mlm-{pos}",
                f"Research question: continued multilingual MLM (ml-mlm) helps zero-shot {_upper(pos)}.",
                None,
                "hypothesis",
                "this project",
                f"ml-mlm − no-intermediate on zero-shot {_upper(pos)}",
                ("ml-mlm",),
                ("no-intermediate",),
                family=pos,
                kind="question",
            ),
            # A control rather than a claim: if phase (i) itself does not beat a random encoder, no later phase can
            # be credited with transfer. The MLM-floor check is off: the comparison is what tests phase (i).
            Claim(
                f"C1-pretraining-{pos}",
                f"Control: MLM pre-training helps zero-shot {_upper(pos)} over a randomly initialised "
                "encoder of the same shape, fine-tuned the same way.",
                None,
                "control",
                "this project",
                f"no-intermediate − no-pretraining on zero-shot {_upper(pos)}",
                ("no-intermediate",),
                ("no-pretraining",),
                family=pos,
                kind="question",
                needs_mlm=False,
            ),
        )
    )


def _upper(family: str) -> str:
    """A measure's name in a claim's statement: POS, NER, UD-POS, PAN-X, XNLI ..."""
    return {"udpos": "UD-POS", "panx": "PAN-X", "tydiqa": "TyDiQA-GoldP", "pawsx": "PAWS-X"}.get(family, family.upper())


CLAIMS: tuple[Claim, ...] = build_claims()

#: the paper's nine English intermediate tasks as the paper preset names its conditions (en-anli: ANLI+)
PAPER_EN_SINGLE = (
    "en-anli",
    "en-mnli",
    "en-qqp",
    "en-sst2",
    "en-squad",
    "en-hellaswag",
    "en-cosmosqa",
    "en-commonsenseqa",
    "en-ccg",
)


def claims_for(spec, conditions: Sequence[str] = ()) -> tuple[Claim, ...]:
    """The ledger of a preset whose declared families (``spec``: ``AnalysisConfig``) and ``conditions`` (those of
    its params folder, and any with results) are given: :data:`CLAIMS` for the laptop presets' measures (POS, NER,
    Tatoeba); with XTREME measures (the paper preset), the same claims measured on each XTREME target, with the
    paper's own conditions where the preset has them (``en-squad`` for SQuAD, ``en-mnli`` for MNLI, ``en-hellaswag``,
    its nine English tasks) and the primary pairs ``P-X`` − ``en-X`` the preset declares."""
    measures = [m for m in spec.secondary_tasks if m != "xcopa"]
    xtreme = [m for m in dict.fromkeys([*spec.primary_tasks, *spec.secondary_tasks]) if m in T.XTREME_FAMILIES]
    laptop = tuple(measures) == MEASURES and list(spec.primary_tasks) == ["pos", "ner"]
    if not xtreme and laptop and list(spec.primary_prefixes) in ([], ["ml"]):
        return CLAIMS
    have = set(conditions)
    pairs = tuple(T.primary_pairs(have, spec)) if have else ClaimConditions().pairs
    names = ClaimConditions(pairs=pairs)
    if xtreme:
        en = tuple(c for c in PAPER_EN_SINGLE if c in have) or names.en_single
        names = dataclasses.replace(
            names,
            squad="en-squad" if "en-squad" in have else names.squad,
            squad_text="en-squad (SQuAD v1.1, the paper's task)" if "en-squad" in have else names.squad_text,
            mnli="en-mnli" if "en-mnli" in have else names.mnli,
            mnli_text="en-mnli (MNLI, the paper's task)" if "en-mnli" in have else names.mnli_text,
            hellaswag="en-hellaswag" if "en-hellaswag" in have else None,
            commonsense=None,
            en_single=en,
            en_single_text=f"the paper's English intermediate tasks run here ({len(en)})",
        )
    return build_claims(measures or MEASURES, list(spec.primary_tasks), names, xtreme)


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


def _method_reason(claim: Claim, df: pd.DataFrame, pretrained: str | None = None) -> str:
    if claim.id == "M1-xlmr-large":
        return "a statement of method, not an effect; this preset's encoder (model.init): " + (pretrained or "?")
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
        problem = _method_reason(claim, df, pretrained)
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
    inlang = [c for c in claim.treatment + claim.reference if c in an.in_language]
    in_language = None
    if problem is None and inlang:
        in_language = problem = (
            f"{', '.join(inlang)}: in-language condition (eval.allow_in_language_syntax), not zero-shot; shown apart "
            "on the answer page"
        )
    if problem is None and claim.needs_mlm and pretrained is None:
        problem = mlm_floor_problem(df, claim.treatment + claim.reference)
    label = T.family_label(claim.family)
    # conditions whose intermediate task was not learnt (English dev not above chance): a single-condition side
    # makes the claim "not put to the test"; a group (or a pooled set of pairs) leaves them out, with a note
    untested = {c: an.untested[c] for c in claim.treatment + claim.reference if c in an.untested}
    treatment, reference = claim.treatment, claim.reference
    not_put = ""
    if problem is None and untested:
        if claim.pooled:
            keep = [(a, b) for a, b in zip(treatment, reference) if a not in untested and b not in untested]
            treatment, reference = tuple(a for a, _ in keep), tuple(b for _, b in keep)
        else:
            if len(treatment) > 1 or claim.choose_best:
                treatment = tuple(c for c in treatment if c not in untested)
            if len(reference) > 1:
                reference = tuple(c for c in reference if c not in untested)
            if not treatment or not reference or set(treatment + reference) & set(untested):
                not_put = "; ".join(f"{c}: {why}" for c, why in untested.items())
        left = sorted(set(claim.treatment + claim.reference) - set(treatment + reference))
        if left and not not_put:
            note = f"left out as {S.NOT_PUT}: {', '.join(left)}"
        if not_put:
            treatment, reference = claim.treatment, claim.reference  # its numbers are shown as measured
    if problem is None:
        if claim.pooled:
            pairs = []
            for a, b in zip(treatment, reference):
                f = an.find(a, b, claim.family)
                pairs.append(f.stats if f is not None else T.family_delta(df, claim.family, a, b))
            pooled = S.heterogeneity(pairs, confidence)
            if pooled.k < 2:
                problem = f"fewer than 2 pairs with 2 or more paired seeds on {label}"
            note = "; ".join(
                x
                for x in (
                    note,
                    "single pairs: "
                    + ", ".join(
                        f"{a} − {b} {st.mean:+.2f}" for (a, b), st in zip(zip(treatment, reference), pairs) if st.n
                    ),
                )
                if x
            )
        elif claim.choose_best:
            deltas, chosen = best_deltas(df, treatment, reference, claim.family)
            if chosen is None:
                problem = f"no {label} results for both sides"
            note = "; ".join(x for x in (note, f"chosen: {claim.family}→{chosen}") if x)
        else:
            deltas = family_deltas(df, claim.family, treatment, reference)
            if deltas.empty:
                problem = f"no {label} results for both sides"
            elif len(treatment) == 1 and len(reference) == 1:
                f = an.find(treatment[0], reference[0], claim.family)
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
    if in_language:
        v = Verdict(IN_LANGUAGE, in_language)
    if not_put and v.verdict not in (NOT_TESTABLE, NOT_RUN):
        v = dataclasses.replace(v, verdict=NOT_PUT, reason=f"{S.NOT_PUT}: {not_put}; {v.reason}")
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
        "family": family if v.verdict not in (NOT_TESTABLE, IN_LANGUAGE) else "",
        "p Holm": p_holm if v.verdict not in (NOT_TESTABLE, IN_LANGUAGE) else float("nan"),
        "verdict": v.verdict,
        "reason": v.reason + (f"; {note}" if note and pooled is None else ""),
        "seeds": ",".join(str(int(s)) for s in deltas.index) if len(deltas) else "",
        "_deltas": list(deltas.values),
        "_margin": margin,
        "_not_put": not_put,
    }
    return row


def ledger_table(
    df: pd.DataFrame,
    claims: Sequence[Claim] | None = None,
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
    are :data:`NOT_RUN` (:func:`evaluate_claim`). ``claims`` default: the preset's (:func:`claims_for`: its
    declared measures and pairs); a generated claim on a measure that a condition it compares has results of but
    not on that measure (the preset does not score it there) is left out, and ``attrs["not_evaluated"]`` names it.
    ``attrs["comparisons"]`` counts the tested rows.
    """
    T.check_frame(df)
    if preset is not None:
        attrs = dict(df.attrs)
        df = df[df["preset"] == preset]
        df.attrs = attrs
    elif df["preset"].nunique() > 1:
        raise ValueError(
            f"results hold several presets ({', '.join(map(str, sorted(df['preset'].unique())))}); pass preset="
        )
    an = T.analyse(df, analysis)
    df = T.plain(df)  # what attrs say (in-language conditions, dev checks) is in ``an`` now
    left_out: list[str] = []
    if claims is None:
        claims, left_out = _preset_claims(df, an.spec, not_run)
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
            if out.at[i, "_not_put"]:  # the adjusted p is shown; the verdict is not drawn
                v = Verdict(NOT_PUT, f"{S.NOT_PUT}: {out.at[i, '_not_put']}; {v.reason}")
            out.at[i, "verdict"], out.at[i, "reason"] = v.verdict, v.reason
    out = out.drop(columns=["_deltas", "_margin", "_not_put"])
    tested = out["p Holm"].notna()
    for col in ("Δ mean", "Δ sd", "CI low", "CI high"):
        out[col] = out[col].astype(float).round(3)
    for col in ("p", "p Holm"):
        out[col] = out[col].astype(float).round(4)
    out.loc[~tested, "p"] = float("nan")
    out.attrs["comparisons"] = int(tested.sum())
    out.attrs["alpha"] = an.spec.alpha
    out.attrs["not_evaluated"] = left_out
    return out


def _xtreme_pair(claim: Claim) -> bool:
    return claim.family in T.XTREME_FAMILIES and not claim.pooled and len(claim.treatment + claim.reference) == 2


def _preset_claims(df: pd.DataFrame, spec, not_run: Sequence[str] | None) -> tuple[tuple[Claim, ...], list[str]]:
    """The claims of ``df``'s preset (:func:`claims_for`), less those on a measure that a condition they compare
    has results of but not on that measure (the preset does not score it there, e.g. the paper preset's ``ml-qa``
    runs the shipped POS/NER targets, not UD-POS): ``(claims, ids left out)``."""
    from . import preset_conditions

    presets = sorted({str(p) for p in df["preset"].dropna().unique()})
    known = set(df["condition"]) | set(not_run or ())
    if len(presets) == 1:
        known |= set(preset_conditions(presets[0]))
    claims = claims_for(spec, sorted(c for c in known if not T.is_baseline(c)))
    have = {c: set(T.families_present(g)) for c, g in df.groupby("condition")}
    keep, left = [], []
    for c in claims:
        scored = [have[x] for x in c.treatment + c.reference if x in have]
        lacking = [c.family not in h for h in scored]
        # a measure none of its conditions has, or (one pair, XTREME target) one that a side is not scored on
        if c.untestable is None and scored and (all(lacking) or (any(lacking) and _xtreme_pair(c))):
            left.append(c.id)
            continue
        keep.append(c)
    return tuple(keep), left


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
    """One Markdown line: how many comparisons the ledger tests, in which families, and how many pass; which rows
    read no verdict because a condition's intermediate task was not learnt, and which claims were left out because
    their conditions are not scored on that measure in this preset."""
    m = int(ledger.attrs.get("comparisons", ledger["p Holm"].notna().sum()))
    left = ledger.attrs.get("not_evaluated") or []
    more = (
        f"\n\n*Left out: {len(left)} claim(s) on a measure that a condition they compare is not scored on in this "
        f"preset ({', '.join(left[:6])}{', …' if len(left) > 6 else ''}).*"
        if left
        else ""
    )
    untested = ledger.loc[ledger["verdict"] == NOT_PUT, "id"].tolist()
    if untested:
        more += (
            f"\n\n*{S.NOT_PUT}: {', '.join(untested)}: a condition compared did not score above chance on its "
            "English dev set (the answer page's *Did phase ii learn its task?*); numbers shown, no verdict.*"
        )
    if not m:
        return (
            "*No claim was tested in these runs (all are not testable, not run in this store, direction only, "
            "pooled or method).*"
        ) + more
    alpha = float(ledger.attrs.get("alpha", S.ALPHA))
    decided = ledger["verdict"] != NOT_PUT
    k = int(((ledger["p Holm"] < alpha) & decided).sum())
    fams = sorted({f for f in ledger.loc[ledger["p Holm"].notna(), "family"] if f})
    return (
        (
            f"*The ledger tests {m} claim(s). Each carries the Holm-adjusted p of its family ({'; '.join(fams)}): a "
            "comparison that belongs to a family the preset declares has the same adjusted p here as on the answer "
            f"page and in the comparison tables. Verdicts follow that adjusted p: {k} of {m} have p Holm < "
            f"{alpha:.2g} and a verdict.*"
        )
        + "".join(f"\n\n* *Power, {fam}:* {_power(ledger, fam, alpha)}." for fam in fams)
        + more
    )


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
