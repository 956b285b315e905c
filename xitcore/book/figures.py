"""Figures for the book, drawn with seaborn from the long results table (docs/DESIGN.md).

Every function returns a ``matplotlib.figure.Figure`` (created without pyplot, so a notebook
shows it once, when it is the value of a cell) whose caption names the run records the plotted
numbers come from (``source_note``).  The caption is also kept as ``fig.xit_source`` and the
title as ``fig.xit_title``.  Empty selections give a figure that says so rather than an error.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib
import matplotlib.colors
import matplotlib.ticker
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from . import tables as T  # noqa: E402
from .tables import BASELINES, REFERENCE, SCRIPT  # noqa: E402,F401


def _png(fig: Figure) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _register_png_formatter() -> None:
    """Make IPython kernels show these (pyplot-free) figures as PNG when they are a cell's value."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is not None and hasattr(ip, "display_formatter"):
        ip.display_formatter.formatters["image/png"].for_type(Figure, _png)


_register_png_formatter()

BASELINE_STYLE = {
    "baseline:majority": dict(color="#222222", label="majority-tag baseline"),
    "baseline:punct-majority": dict(color="#999999", label="punct + majority baseline"),
}

#: the book's column at a 1400 px window shows 784 CSS px of figure: draw for it, at 100 dpi, so that
#: a figure is shown at its natural size and its text at the sizes below (about 12-15 px)
DPI = 100
COLUMN_IN = 7.7
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
CAPTION_SIZE = 8.5
#: characters of caption per line at CAPTION_SIZE across the column
CAPTION_CHARS = 108

#: task family of an intermediate task (the part of a condition's name after ``en-``/``ml-``/``mt-``)
TASK_FAMILY = {
    "qa": "QA",
    "squad": "QA",
    "deprel": "syntax",
    "ccg": "syntax",
    "copa": "commonsense",
    "hellaswag": "commonsense",
    "commonsenseqa": "commonsense",
    "cosmosqa": "commonsense",
    "nli": "NLI",
    "mnli": "NLI",
    "anli": "NLI",
    "sentiment": "sentiment",
    "sst2": "sentiment",
    "qqp": "paraphrase",
    "multitask": "multi-task",
    "mlm": "MLM",
}
#: one hue per task family; English conditions take its dark shade, multilingual ones its light shade
FAMILY_HUE = {
    "QA": "#2166ac",
    "syntax": "#c0392b",
    "commonsense": "#1a9850",
    "NLI": "#7b3294",
    "sentiment": "#a6611a",
    "paraphrase": "#01857a",
    "multi-task": "#c51b7d",
    "MLM": "#b8860b",
}
OTHER_HUES = ("#5e3c99", "#e08214", "#4d9221", "#2c7bb6", "#d01c8b")
REFERENCE_COLOUR = "#222222"
MARKERS = {"en": "o", "ml": "^", "reference": "s", "other": "D"}


def source_note(df: pd.DataFrame, limit: int = 3) -> str:
    """One line naming the run records behind ``df``: "source: runs/a, runs/b, … (n runs)"."""
    runs = T.runs_of(df) if "run" in df.columns else []
    if not runs:
        return "source: no run records (0 runs)"
    shown = ", ".join(runs[:limit]) + (", …" if len(runs) > limit else "")
    return f"source: {shown} ({len(runs)} run{'s' if len(runs) != 1 else ''})"


def side(condition: str) -> str:
    """``en`` (English intermediate data), ``ml`` (multilingual or machine-translated), ``reference`` or
    ``other`` (no-pretraining and the like)."""
    c = str(condition)
    if c == REFERENCE:
        return "reference"
    if c.startswith("en-"):
        return "en"
    if c.startswith(("ml-", "mt-", "tt-")):
        return "ml"
    return "other"


def task_family(condition: str) -> str | None:
    """The task family of a condition's intermediate task (``en-qa`` and ``ml-qa``: ``QA``), or None."""
    if side(condition) not in ("en", "ml"):
        return None
    task = str(condition).split("-", 1)[1].split("-")[0]
    return TASK_FAMILY.get(task, task)


def _mix(colour, other, amount: float) -> tuple:
    a, b = np.array(matplotlib.colors.to_rgb(colour)), np.array(matplotlib.colors.to_rgb(other))
    return tuple(float(x) for x in (1 - amount) * a + amount * b)


def palette(conditions: Sequence[str]) -> dict[str, tuple]:
    """Stable colours: one hue per task family (``en-qa`` and ``ml-qa`` share blue), the English condition
    in its dark shade and the multilingual one in its light shade; the reference near-black; others grey."""
    conds = T.ordered_conditions(conditions)
    families = sorted({f for c in conds if (f := task_family(c)) is not None} - set(FAMILY_HUE))
    hues = dict(FAMILY_HUE, **{f: OTHER_HUES[i % len(OTHER_HUES)] for i, f in enumerate(families)})
    seen: dict[tuple, int] = {}
    pal: dict[str, tuple] = {}
    for c in conds:
        if T.is_baseline(c):
            pal[c] = matplotlib.colors.to_rgb(BASELINE_STYLE.get(c, {}).get("color", "#666666"))
        elif side(c) == "reference":
            pal[c] = matplotlib.colors.to_rgb(REFERENCE_COLOUR)
        elif side(c) == "other":
            k = seen.setdefault(("other",), 0)
            seen[("other",)] += 1
            pal[c] = _mix("#8c8c8c", "#ffffff", 0.25 * k)
        else:
            key = (task_family(c), side(c))
            k = seen.get(key, 0)
            seen[key] = k + 1
            hue = hues[task_family(c)]
            pal[c] = _mix(hue, "#000000", 0.15 + 0.2 * k) if side(c) == "en" else _mix(hue, "#ffffff", 0.32 + 0.12 * k)
    return {c: pal[c] for c in conds}


def markers(conditions: Sequence[str]) -> list[str]:
    """One marker per condition, in the given order: English ``o``, multilingual ``^``, reference ``s``."""
    return [MARKERS[side(c)] for c in conditions]


def _styled(fn):
    """Draw inside the book's matplotlib style (font sizes for the column)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper


def _new(width: float = COLUMN_IN, height: float = 3.6) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), layout="constrained", dpi=DPI)
    ax = fig.subplots()
    return fig, ax


def spread_note(data: pd.DataFrame, keys: Sequence[str] = ("condition", "language"), extra: str = "") -> str:
    """The caption's word on points and bars, as the data are: "± sd over seeds" only where a point averages two
    or more seeds (one seed selected: the points are that seed's scores, with no bar)."""
    runs = data[~T.baseline_mask(data)] if len(data) else data
    many = len(runs) and int(runs.groupby(list(keys))["seed"].nunique().max()) > 1
    note = "points: seed mean; bars: ± sd over seeds" if many else "points: one seed's scores (no spread to show)"
    return note + (f"; {extra}" if extra else "")


def _finish(fig: Figure, title: str, data: pd.DataFrame, note: str = "") -> Figure:
    src = source_note(data)
    fig.suptitle(textwrap.fill(title, 80))  # a legend sits in the right margin, centred: below this title
    caption = src + (f" — {note}" if note else "")
    width_in = fig.get_size_inches()[0]
    chars = max(60, int(CAPTION_CHARS * width_in / COLUMN_IN))
    # a figure-level x label: constrained layout keeps room for it below everything, inside the figure
    fig.supxlabel(textwrap.fill(caption, chars), x=0.005, ha="left", fontsize=CAPTION_SIZE, color="#444444")
    fig.xit_title = title
    fig.xit_source = src
    fig.xit_caption = caption
    return fig


@_styled
def empty_figure(message: str, data: pd.DataFrame | None = None, title: str = "") -> Figure:
    fig, ax = _new(COLUMN_IN, 1.4)
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    return _finish(fig, title or message, data if data is not None else pd.DataFrame(columns=T.COLUMNS))


def _legend(fig: Figure, axes, ncols: int | None = None) -> None:
    """One legend for the figure, in the right margin, vertically centred (so it never meets the title), from the
    first axes' artists."""
    axes = list(np.atleast_1d(axes))
    for ax in axes:
        if ax.get_legend():
            ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside right center", ncols=ncols or 1, frameon=False)


def _percent_axis(ax, axis: str = "y") -> None:
    """A percentage axis from 0 to 100 on every page, so that pages compare and seed noise is not blown up."""
    (ax.set_ylim if axis == "y" else ax.set_xlim)(0, 100)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(matplotlib.ticker.MultipleLocator(20))
    ax.grid(axis=axis, color="#e6e6e6", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)


def _symmetric(ax, values: Sequence[float], floor: float = 2.0, axis: str = "y") -> float:
    """Limits symmetric about 0, at least ± ``floor`` points (small noise is not magnified); the half-range."""
    finite = [abs(v) for v in values if v is not None and np.isfinite(v)]
    lim = max([floor, *finite]) * 1.12
    (ax.set_ylim if axis == "y" else ax.set_xlim)(-lim, lim)
    (ax.axhline if axis == "y" else ax.axvline)(0, color="#555555", linewidth=0.9, zorder=1)
    return lim


def _pointplot(ax, data: pd.DataFrame, x: str, order: Sequence[str], conds: Sequence[str], horizontal=False):
    """Seed mean ± sd per ``x`` and condition: one colour and marker per condition (see :func:`palette`)."""
    n = len(conds)
    kwargs = dict(x="value", y=x) if horizontal else dict(x=x, y="value")
    sns.pointplot(
        data=data,
        **kwargs,
        hue="condition",
        order=list(order),
        hue_order=list(conds),
        palette=palette(conds),
        markers=markers(conds),
        errorbar="sd",
        dodge=min(0.8, 0.12 * n + 0.1) if n > 1 else False,
        linestyle="none",
        markersize=4.5 if n > 3 else 5.5,
        err_kws={"linewidth": 1.1},
        capsize=0.08 if n < 4 else 0,
        orient="h" if horizontal else "v",
        ax=ax,
    )


def _baseline_marks(ax, base: pd.DataFrame, key: str, pos: dict, horizontal=False) -> None:
    for b, g in base.groupby("condition"):
        m = g.groupby(key)["value"].mean()
        st = BASELINE_STYLE.get(b, dict(color="#666666", label=b))
        at = [pos[k] for k in m.index if k in pos]
        vals = [v for k, v in m.items() if k in pos]
        ax.scatter(
            vals if horizontal else at,
            at if horizontal else vals,
            marker="|" if horizontal else "_",
            s=260,
            linewidths=2.0,
            color=st["color"],
            label=st["label"],
            zorder=1,
        )


@_styled
def per_language(
    data: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    conditions: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    note: str = "",
    percent: bool | None = None,
) -> Figure:
    """Seed mean ± sd per language and condition (points with error bars); baseline rows in
    ``data`` are drawn as horizontal reference marks instead of points.  A percentage (``ylabel`` with
    ``%``, or ``percent=True``) is drawn on a fixed 0–100 axis; with many languages and more than two
    conditions the languages are split over two rows that share that axis."""
    T.check_frame(data)
    percent = ("%" in ylabel) if percent is None else percent
    data = data[~data["language"].isin(T.AGGREGATES)]
    base = data[T.baseline_mask(data)]
    runs = data[~T.baseline_mask(data)]
    if conditions is not None:
        runs = runs[runs["condition"].isin(list(conditions))]
    if languages is not None:
        runs = runs[runs["language"].isin(list(languages))]
        base = base[base["language"].isin(list(languages))]
    if runs.empty and base.empty:
        return empty_figure(f"no results for: {title}", data, title)
    langs = T.ordered_languages(list(runs["language"]) + list(base["language"]))
    conds = T.ordered_conditions(runs["condition"].unique())
    rows = 2 if len(langs) > 9 else 1  # at most 9 languages a row: their labels never collide
    half = (len(langs) + 1) // 2
    chunks = [langs] if rows == 1 else [langs[:half], langs[half:]]
    fig = Figure(figsize=(COLUMN_IN, 3.2 if rows == 1 else 5.2), layout="constrained", dpi=DPI)
    axes = np.atleast_1d(fig.subplots(rows, 1, sharey=True))
    per = runs.groupby(["condition", "language", "seed"], as_index=False)["value"].mean() if not runs.empty else runs
    for ax, chunk in zip(axes, chunks):
        sub = per[per["language"].isin(chunk)] if not per.empty else per
        if not sub.empty:
            _pointplot(ax, sub, "language", chunk, conds)
        pos = {l: i for i, l in enumerate(chunk)}
        _baseline_marks(ax, base[base["language"].isin(chunk)], "language", pos)
        for l in (l for l in chunk if T.is_source(l)):
            ax.axvspan(pos[l] - 0.5, pos[l] + 0.5, color="#eeeeee", zorder=0)
        ax.set_xlim(-0.5, len(chunk) - 0.5)
        ax.set_xlabel("")
        ax.set_ylabel(ylabel)
        if percent:
            _percent_axis(ax)
    source = any(T.is_source(l) for l in langs)
    axes[-1].set_xlabel("language (shaded: English, the training language)" if source else "language")
    _legend(fig, axes)
    return _finish(fig, title, pd.concat([runs, base]), note or spread_note(runs))


def pos_by_language(
    df: pd.DataFrame,
    conditions: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    phase: str = "target",
) -> Figure:
    """Zero-shot UPOS accuracy per PUD language per condition, with the two trivial baselines."""
    data = T.rows(df, "pos", "accuracy", phase)
    return per_language(
        data,
        title="UPOS accuracy per language (trained on English only)",
        ylabel="accuracy (%)",
        conditions=conditions,
        languages=languages,
    )


def ner_by_language(df: pd.DataFrame, conditions: Sequence[str] | None = None, metric: str = "span_f1") -> Figure:
    data = T.rows(df[~T.baseline_mask(df)], "ner", metric, "target")
    return per_language(
        data, title="NER span F1 (PER/ORG/LOC; trained on English IEER)", ylabel="span F1 (%)", conditions=conditions
    )


@_styled
def delta_heatmap(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    title: str | None = None,
) -> Figure:
    """Condition × language heatmap of the seed-mean difference to ``reference`` (annotated)."""
    title = title or f"Δ {PANEL_LABELS.get((task, metric), f'{task} {metric}')} vs {reference} (seed means, points)"
    mat = T.delta_matrix(df, reference, task, metric, phases)
    data = T.rows(df[~T.baseline_mask(df)], task, metric, phases)
    if mat.empty:
        return empty_figure(f"no {task} {metric} results for {reference} and another condition", data, title)
    fig, ax = _new(COLUMN_IN, max(2.2, 0.34 * mat.shape[0] + 1.5))
    lim = max(2.0, float(np.nanmax(np.abs(mat.values)))) if np.isfinite(mat.values).any() else 2.0
    sns.heatmap(
        mat,
        annot=True,
        fmt="+.1f",
        cmap="RdBu_r",
        center=0,
        vmin=-lim,
        vmax=lim,
        linewidths=0.5,
        cbar_kws={"label": "Δ (points)", "fraction": 0.04, "pad": 0.02},
        annot_kws={"fontsize": 8 if mat.shape[1] > 12 else 9},
        ax=ax,
    )
    ax.set_xticklabels(
        [t.get_text().replace("\n", " ").replace("0-shot mean", "0-shot\nmean") for t in ax.get_xticklabels()]
    )
    ax.tick_params(axis="x", rotation=0, labelsize=8.5)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("language")
    ax.set_ylabel("")
    return _finish(fig, title, data, f"positive = better than {reference}; colour scale at least ± 2 points")


@_styled
def tatoeba_by_phase(df: pd.DataFrame, conditions: Sequence[str] | None = None) -> Figure:
    """Tatoeba top-1 (mean over languages) at each checkpoint: after MLM, intermediate, target."""
    data = T.rows(df[~T.baseline_mask(df)], "tatoeba", "top1", exclude=T.AGGREGATES)
    if conditions is not None:
        data = data[data["condition"].isin(list(conditions))]
    title = "Tatoeba top-1 by checkpoint (xx→en, mean over languages)"
    if data.empty:
        return empty_figure("no Tatoeba results", data, title)
    per = data.groupby(["condition", "phase", "seed"], as_index=False)["value"].mean()
    phases = [p for p in T.PHASES if p in set(per["phase"])] + sorted(set(per["phase"]) - set(T.PHASES))
    conds = T.ordered_conditions(per["condition"].unique())
    fig, ax = _new(COLUMN_IN, 3.2)
    sns.pointplot(
        data=per,
        x="phase",
        y="value",
        hue="condition",
        order=phases,
        hue_order=conds,
        palette=palette(conds),
        markers=markers(conds),
        errorbar="sd",
        dodge=0.3 if len(conds) > 1 else False,
        markersize=5,
        capsize=0.06,
        linewidth=1.4,
        ax=ax,
    )
    ax.set_xticks(range(len(phases)), [PHASE_LABELS.get(p, p) for p in phases])
    ax.set_xlabel("")
    ax.set_ylabel("top-1 accuracy (%)")
    _percent_axis(ax)
    _legend(fig, ax)
    return _finish(fig, title, data, spread_note(data, ("condition", "phase")))


#: panel titles of (task, metric)
PANEL_LABELS = {
    ("pos", "accuracy"): "POS accuracy",
    ("ner", "span_f1"): "NER span F1",
    ("ner", "span_f1_strict"): "NER span F1 (strict)",
    ("tatoeba", "top1"): "Tatoeba top-1",
    ("xcopa", "accuracy"): "XCOPA accuracy",
}
#: how the checkpoints are named on figure axes (``tables.PHASE_LABELS`` on two lines)
PHASE_LABELS = {
    "mlm": "pretrained\n(phase i)",
    "intermediate": "after phase ii\n(intermediate)",
    "target": "after phase iii\n(target)",
}


@_styled
def by_group(
    df: pd.DataFrame,
    conditions: Sequence[str] | None = None,
    mapping: dict = SCRIPT,
    group_name: str = "script",
    task: str = "pos",
    metric: str = "accuracy",
) -> Figure:
    """Zero-shot score per language group (script or family), mean over the group's languages; groups as
    rows (their languages named beside them), a 0–100 axis."""
    d = T.select(df, conditions=conditions, baselines=True) if conditions is not None else df
    g = T.by_group(d, mapping, task=task, metric=metric, group_name=group_name)
    data = T.rows(d, task, metric, "target", zero_shot=True)
    title = f"Zero-shot {task.upper()} {metric} by {group_name} (English excluded)"
    if g.empty:
        return empty_figure(f"no {task} results", data, title)
    runs = g[~T.baseline_mask(g)]
    base = g[T.baseline_mask(g)]
    groups = sorted(g[group_name].unique(), key=lambda s: (s != "Latin", s))
    conds = T.ordered_conditions(runs["condition"].unique())
    fig, ax = _new(COLUMN_IN, 0.42 * len(groups) * max(1.0, len(conds) / 5) + 1.6)
    if not runs.empty:
        _pointplot(ax, runs, group_name, groups, conds, horizontal=True)
    pos = {s: i for i, s in enumerate(groups)}
    _baseline_marks(ax, base, group_name, pos, horizontal=True)
    present = set(data["language"])
    members = {s: " ".join(sorted(l for l, v in mapping.items() if v == s and l in present)) for s in groups}
    ax.set_yticks(range(len(groups)), [f"{s} ({members[s]})" for s in groups])
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.set_ylabel("")
    ax.set_xlabel(f"zero-shot {metric} (%), mean over the group's languages")
    _percent_axis(ax, "x")
    _legend(fig, ax)
    return _finish(fig, title, data, spread_note(runs, ("condition", group_name), "marks: the trivial baselines"))


def en_ml_pairs(df: pd.DataFrame, prefixes: Sequence[str] = ("ml",)) -> list[str]:
    """The intermediate tasks X run both as ``en-X`` and as ``P-X`` (P in ``prefixes``) in ``df``, in the book's
    order; in-language conditions never."""
    conds = set(df["condition"]) - set(T.in_language_conditions(df))
    return [
        c[3:]
        for c in T.ordered_conditions(conds)
        if c.startswith("en-") and any(f"{p}-{c[3:]}" in conds for p in prefixes)
    ]


@_styled
def en_vs_ml(
    df: pd.DataFrame,
    pairs: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    reference: str = REFERENCE,
) -> Figure:
    """The research question at a glance: for each size-matched pair, ``en-X`` and its multilingual sides ``P-X``
    (the preset's ``analysis.primary_prefixes``: ml, mt, tt) as the paired difference to ``reference`` (zero-shot
    average, mean over seeds with its 95 % interval, see ``tables.STATISTICS``), one panel per target task
    (default: the preset's primary target tasks that have results); colours as everywhere (task-family hue,
    English dark, multilingual light)."""
    spec = T.analysis_spec(df)
    prefixes = list(spec.primary_prefixes) or ["ml"]
    pairs = list(pairs) if pairs is not None else en_ml_pairs(df, prefixes)
    families = list(families) if families is not None else T.families_present(df, spec.primary_tasks)
    title = f"English vs multilingual intermediate data: Δ to {reference}"
    recs, used = [], []
    sides = ["en", *prefixes]
    for fam in families:
        ref = T.per_seed(df, fam, reference)
        for x in pairs:
            for s in sides:
                cond = f"{s}-{x}"
                st = T.paired_stats(T.paired_differences(T.per_seed(df, fam, cond), ref))
                if st.n:
                    used.append(T.family_rows(df[df["condition"].isin([cond, reference])], fam))
                    recs.append(dict(family=fam, pair=x, condition=cond, side="en" if s == "en" else "ml", st=st))
    data = pd.concat(used) if used else pd.DataFrame(columns=T.COLUMNS)
    if not recs:
        return empty_figure(f"no en-X / ml-X pair with {reference} results", data, title)
    fams = list(dict.fromkeys(r["family"] for r in recs))
    fig = Figure(figsize=(COLUMN_IN, 3.3), layout="constrained", dpi=DPI)
    axes = np.atleast_1d(fig.subplots(1, len(fams)))
    pal = palette([r["condition"] for r in recs])
    for ax, fam in zip(axes, fams):
        sub = [r for r in recs if r["family"] == fam]
        shown = [x for x in pairs if any(r["pair"] == x for r in sub)]  # the pairs this target task has
        for r in sub:
            k = sides.index(r["condition"].split("-", 1)[0])
            x = shown.index(r["pair"]) + (k - (len(sides) - 1) / 2) * 0.28 / max(1, len(sides) - 1)
            st = r["st"]
            err = [[st.mean - st.lo], [st.hi - st.mean]] if st.n > 1 else None
            ax.errorbar(
                x,
                st.mean,
                yerr=err,
                fmt=MARKERS[r["side"]],
                color=pal[r["condition"]],
                markersize=7,
                capsize=3,
                linewidth=1.4,
                label=f"{r['side']}-X: {'English' if r['side'] == 'en' else 'multilingual'} data",
            )
        _symmetric(ax, [v for r in sub for v in (r["st"].lo, r["st"].hi, r["st"].mean)])
        ax.set_xticks(range(len(shown)), shown)
        ax.set_xlim(-0.6, len(shown) - 0.4)
        ax.set_title(T.family_label(fam, short=True), fontsize=10)
        ax.set_xlabel("intermediate task X")
        ax.set_ylabel(f"Δ to {reference} (points)")
    handles = [
        matplotlib.lines.Line2D([], [], marker=MARKERS[s], linestyle="none", color="#555555", markersize=7, label=lab)
        for s, lab in (("en", "en-X: English\nintermediate data"), ("ml", "ml-X: the same\ntask, other\nlanguages"))
    ]
    axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    note = "points: mean over seeds of the paired difference of the zero-shot average; bars: 95 % t-interval"
    return _finish(fig, title, data, note + "; hue = task family, dark = English, light = multilingual")


@_styled
def delta_by_language(
    df: pd.DataFrame,
    condition: str,
    reference: str = REFERENCE,
    tasks: Sequence[tuple[str, str, Sequence[str]]] = (
        ("pos", "accuracy", ("target",)),
        ("ner", "span_f1", ("target",)),
        ("tatoeba", "top1", ("intermediate", "mlm")),
    ),
) -> Figure:
    """One condition against ``reference``: the per-language paired difference (mean over seeds, 95 %
    t-interval, ``tables.STATISTICS``) and the zero-shot average, one panel per target task; y symmetric
    about 0 and at least ± 2 points, so that seed noise is not magnified."""
    title = f"{condition} − {reference}, per language (95 % intervals over seeds)"
    panels, used = [], []
    for task, metric, phases in tasks:
        st = T.delta_stats(df, reference, task, metric, phases, conditions=[condition])
        if not st.empty:
            panels.append((task, metric, st))
            used.append(T.rows(df[df["condition"].isin([condition, reference])], task, metric, phases))
    data = pd.concat(used) if used else pd.DataFrame(columns=T.COLUMNS)
    if not panels:
        return empty_figure(f"no results of both {condition} and {reference}", data, title)
    big = [p for p in panels if len(p[2]) > 8]
    small = [p for p in panels if len(p[2]) <= 8]
    layout = [[p] for p in big] + ([small] if small else [])
    fig = Figure(figsize=(COLUMN_IN, 2.5 * len(layout) + 0.6), layout="constrained", dpi=DPI)
    sub = fig.subfigures(len(layout), 1, squeeze=False)[:, 0]
    colour = palette([condition]).get(condition, (0.2, 0.2, 0.2))
    for sf, row in zip(sub, layout):
        axes = np.atleast_1d(sf.subplots(1, len(row), width_ratios=[max(3, len(p[2])) for p in row]))
        for ax, (task, metric, st) in zip(axes, row):
            xs = np.arange(len(st))
            zs = st["language"] == T.ZERO_SHOT_MEAN
            for mask, face in ((~zs, colour), (zs, "white")):
                part = st[mask.values]
                ax.errorbar(
                    xs[mask.values],
                    part["mean"],
                    yerr=[
                        part["mean"] - part["lo"].fillna(part["mean"]),
                        part["hi"].fillna(part["mean"]) - part["mean"],
                    ],
                    fmt=MARKERS.get(side(condition), "o"),
                    color=colour,
                    markerfacecolor=face,
                    markersize=6,
                    capsize=2.5,
                    linewidth=1.2,
                    linestyle="none",
                )
            _symmetric(ax, list(st["lo"]) + list(st["hi"]) + list(st["mean"]))
            ax.set_xticks(xs, [l.replace(T.ZERO_SHOT_MEAN, "0-shot\nmean") for l in st["language"]])
            ax.tick_params(axis="x", labelsize=8.5)
            ax.set_xlim(-0.6, len(st) - 0.4)
            for i, l in enumerate(st["language"]):
                if T.is_source(l):
                    ax.axvspan(i - 0.5, i + 0.5, color="#eeeeee", zorder=0)
            ax.set_title(PANEL_LABELS.get((task, metric), f"{task} {metric}"), fontsize=10)
            ax.set_ylabel("Δ (points)")
    note = "points: mean over seeds of the paired difference; bars: 95 % t-interval (exploratory, unadjusted); "
    note += "hollow: the zero-shot average; shaded: English"
    return _finish(fig, title, data, note)


#: the fold groups (tables.fold_relation) as a figure labels them
FOLD_GROUP_LABELS = {
    T.FOLD_OTHER: "in another fold's\ntraining",
    T.FOLD_NEVER: "in no fold's\ntraining",
    T.OWN_TRAINING: "in its own\ntraining",
    T.NEVER_TRAINED: "never in its\ntraining",
    T.SOURCE_GROUP: "English",
}


@_styled
def fold_groups(
    df: pd.DataFrame,
    condition: str,
    reference: str | None = None,
    tasks: Sequence[tuple[str, str, Sequence[str]]] = (
        ("pos", "accuracy", ("target",)),
        ("ner", "span_f1", ("target",)),
        ("udpos", "accuracy", ("target",)),
        ("panx", "span_f1", ("target",)),
    ),
) -> Figure:
    """A language-fold (or in-language) condition against ``reference`` (default: the first of
    :func:`xitcore.book.tables.fold_comparators`, its English side ``en-X`` where there is one), per language, the
    languages grouped by what phase ii trained on (:func:`xitcore.book.tables.fold_relation`): the paired
    difference (mean over seeds, 95 % t-interval, exploratory) per language, one panel per target task with
    results, a band per group, so a reader sees where a gain comes from."""
    relation = T.fold_relation(df, condition)
    if reference is None:
        reference = next(iter(T.fold_comparators(df, condition)), REFERENCE)
    title = f"{condition} − {reference} per language, grouped by what its phase ii trained on"
    if not relation:
        return empty_figure(f"{condition} has no language folds and is not in-language", None, title)
    rank = {g: i for i, g in enumerate(T.FOLD_GROUPS)}
    order = {l: i for i, l in enumerate(relation)}
    panels, used = [], []
    for task, metric, phases in tasks:
        st = T.delta_stats(df, reference, task, metric, phases, conditions=[condition], zero_shot_mean=False)
        st = st[st["language"].isin(list(relation))]
        if st.empty:
            continue
        st = st.assign(group=st["language"].map(relation))
        st = st.sort_values("language", key=lambda c: c.map(lambda l: (rank[relation[l]], order[l]))).reset_index()
        panels.append((task, metric, st))
        used.append(T.rows(T.plain(df)[df["condition"].isin([condition, reference])], task, metric, phases))
    data = pd.concat(used) if used else pd.DataFrame(columns=T.COLUMNS)
    if not panels:
        return empty_figure(f"no per-language results of both {condition} and {reference}", data, title)
    fig = Figure(figsize=(COLUMN_IN, 2.7 * len(panels) + 0.6), layout="constrained", dpi=DPI)
    axes = np.atleast_1d(fig.subplots(len(panels), 1, squeeze=False)[:, 0])
    colour = palette([condition]).get(condition, (0.2, 0.2, 0.2))
    for ax, (task, metric, st) in zip(axes, panels):
        xs = np.arange(len(st))
        lo, hi = st["lo"].fillna(st["mean"]), st["hi"].fillna(st["mean"])
        ax.errorbar(
            xs,
            st["mean"],
            yerr=[st["mean"] - lo, hi - st["mean"]],
            fmt=MARKERS.get(side(condition), "o"),
            color=colour,
            markersize=6,
            capsize=2.5,
            linewidth=1.2,
            linestyle="none",
        )
        lim = _symmetric(ax, list(st["lo"]) + list(st["hi"]) + list(st["mean"]))
        for k, (group, part) in enumerate(st.groupby("group", sort=False)):
            first, last = int(part.index.min()), int(part.index.max())
            if k % 2 == 0:
                ax.axvspan(first - 0.5, last + 0.5, color="#f0f0f0", zorder=0)
            ax.text(
                (first + last) / 2, lim * 0.96, FOLD_GROUP_LABELS.get(group, group), ha="center", va="top", fontsize=7
            )
        ax.set_xticks(xs, list(st["language"]))
        ax.tick_params(axis="x", labelsize=8.5)
        ax.set_xlim(-0.6, len(st) - 0.4)
        ax.set_title(PANEL_LABELS.get((task, metric), f"{task} {metric}"), fontsize=10)
        ax.set_ylabel("Δ (points)")
    note = "points: mean over seeds of the paired difference; bars: 95 % t-interval (exploratory, unadjusted); "
    note += "bands: the languages' relation to the condition's phase-ii training languages"
    return _finish(fig, title, data, note)


@_styled
def mlm_floor(df: pd.DataFrame) -> Figure:
    """MLM loss per condition/phase beside the unigram-entropy floor."""
    data = df[df["task"] == "mlm"]
    title = "MLM loss vs the unigram-entropy floor"
    loss = data[data["metric"].isin(T.LOSS_METRICS)]
    floor = data[data["metric"] == "unigram_entropy"]
    if loss.empty:
        return empty_figure("no MLM loss results", data, title)
    per = loss.groupby(["condition", "phase", "seed"], as_index=False)["value"].mean()
    per["checkpoint"] = per["condition"] + " / " + per["phase"]
    fig, ax = _new(COLUMN_IN, 0.3 * per["checkpoint"].nunique() + 1.6)
    sns.barplot(data=per, y="checkpoint", x="value", errorbar="sd", color="#6a8fbf", ax=ax)
    if not floor.empty:
        ax.axvline(floor["value"].mean(), color="#b03030", linestyle="--", label="unigram entropy (floor)")
        ax.legend(frameon=False, loc="lower right")
    ax.set_xlabel("loss (nats/token, as recorded)")
    ax.set_ylabel("")
    return _finish(fig, title, data, "a model that learnt language sits clearly left of the floor")


def save_png(fig: Figure, path) -> None:
    fig.savefig(path, format="png", bbox_inches="tight")
