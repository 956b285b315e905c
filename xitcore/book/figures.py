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


def source_note(df: pd.DataFrame, limit: int = 3) -> str:
    """One line naming the run records behind ``df``: "source: runs/a, runs/b, … (n runs)"."""
    runs = T.runs_of(df) if "run" in df.columns else []
    if not runs:
        return "source: no run records (0 runs)"
    shown = ", ".join(runs[:limit]) + (", …" if len(runs) > limit else "")
    return f"source: {shown} ({len(runs)} run{'s' if len(runs) != 1 else ''})"


def palette(conditions: Sequence[str]) -> dict[str, tuple]:
    """Stable colours: reference grey, en-* blues, en-multitask purple, ml-* oranges, others greens."""
    conds = T.ordered_conditions(conditions)
    en = [c for c in conds if c.startswith("en-") and c != "en-multitask"]
    ml = [c for c in conds if c.startswith("ml-")]
    other = [
        c
        for c in conds
        if c not in en and c not in ml and c not in (REFERENCE, "en-multitask") and not T.is_baseline(c)
    ]
    pal: dict[str, tuple] = {REFERENCE: (0.35, 0.35, 0.35), "en-multitask": (0.45, 0.2, 0.6)}
    for group, cmap in ((en, "Blues"), (ml, "Oranges"), (other, "Greens")):
        if group:
            cols = sns.color_palette(cmap, n_colors=len(group) + 2)[2:]
            pal.update(dict(zip(group, cols)))
    for b, st in BASELINE_STYLE.items():
        pal[b] = matplotlib.colors.to_rgb(st["color"])
    return {c: pal[c] for c in conds}


def _new(width: float = 8.0, height: float = 4.2) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), layout="constrained", dpi=100)
    ax = fig.subplots()
    return fig, ax


def _finish(fig: Figure, title: str, data: pd.DataFrame, note: str = "") -> Figure:
    src = source_note(data)
    fig.suptitle(title, fontsize=11)
    caption = src + (f" — {note}" if note else "")
    fig.text(0.005, -0.01, textwrap.fill(caption, 150), ha="left", va="top", fontsize=7, color="#444444")
    fig.xit_title = title
    fig.xit_source = src
    fig.xit_caption = caption
    return fig


def empty_figure(message: str, data: pd.DataFrame | None = None, title: str = "") -> Figure:
    fig, ax = _new(6, 1.6)
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    return _finish(fig, title or message, data if data is not None else pd.DataFrame(columns=T.COLUMNS))


def _legend(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title=None)


def per_language(
    data: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    conditions: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    note: str = "",
) -> Figure:
    """Seed mean ± sd per language and condition (points with error bars); baseline rows in
    ``data`` are drawn as horizontal reference marks instead of points."""
    T.check_frame(data)
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
    fig, ax = _new(max(7.0, 0.55 * len(langs) + 3.5), 4.2)
    if not runs.empty:
        per = runs.groupby(["condition", "language", "seed"], as_index=False)["value"].mean()
        sns.pointplot(
            data=per,
            x="language",
            y="value",
            hue="condition",
            order=langs,
            hue_order=conds,
            palette=palette(conds),
            errorbar="sd",
            dodge=0.5 if len(conds) > 1 else False,
            linestyle="none",
            markers="o",
            markersize=4,
            err_kws={"linewidth": 1.2},
            capsize=0.1,
            ax=ax,
        )
    pos = {l: i for i, l in enumerate(langs)}
    for b, g in base.groupby("condition"):
        m = g.groupby("language")["value"].mean()
        st = BASELINE_STYLE.get(b, dict(color="#666666", label=b))
        ax.scatter(
            [pos[l] for l in m.index],
            m.values,
            marker="_",
            s=500,
            linewidths=2.0,
            color=st["color"],
            label=st["label"],
            zorder=1,
        )
    source = [l for l in langs if T.is_source(l)]
    for l in source:
        ax.axvspan(pos[l] - 0.5, pos[l] + 0.5, color="#eeeeee", zorder=0)
    ax.set_xlabel("language (shaded: English, the training language)" if source else "language")
    ax.set_ylabel(ylabel)
    _legend(ax)
    return _finish(fig, title, pd.concat([runs, base]), note or "points: seed mean; bars: ± sd over seeds")


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


def delta_heatmap(
    df: pd.DataFrame,
    reference: str = REFERENCE,
    task: str = "pos",
    metric: str = "accuracy",
    phases: Sequence[str] = ("target",),
    title: str | None = None,
) -> Figure:
    """Condition × language heatmap of the seed-mean difference to ``reference`` (annotated)."""
    title = title or f"Δ {task} {metric} vs {reference} (seed means, points)"
    mat = T.delta_matrix(df, reference, task, metric, phases)
    data = T.rows(df[~T.baseline_mask(df)], task, metric, phases)
    if mat.empty:
        return empty_figure(f"no {task} {metric} results for {reference} and another condition", data, title)
    fig, ax = _new(max(6.0, 0.6 * mat.shape[1] + 3), max(2.4, 0.45 * mat.shape[0] + 1.6))
    lim = float(np.nanmax(np.abs(mat.values))) if np.isfinite(mat.values).any() else 1.0
    sns.heatmap(
        mat,
        annot=True,
        fmt="+.1f",
        cmap="RdBu_r",
        center=0,
        vmin=-lim,
        vmax=lim,
        linewidths=0.5,
        cbar_kws={"label": f"Δ {metric} (points)"},
        annot_kws={"fontsize": 7},
        ax=ax,
    )
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("language")
    ax.set_ylabel("condition")
    return _finish(fig, title, data, f"positive = better than {reference}")


def tatoeba_by_phase(df: pd.DataFrame, conditions: Sequence[str] | None = None) -> Figure:
    """Tatoeba top-1 (mean over languages) at each checkpoint: after MLM, intermediate, target."""
    data = T.rows(df[~T.baseline_mask(df)], "tatoeba", "top1", exclude=T.AGGREGATES)
    if conditions is not None:
        data = data[data["condition"].isin(list(conditions))]
    title = "Tatoeba retrieval top-1 (xx→en, mean over languages) by checkpoint"
    if data.empty:
        return empty_figure("no Tatoeba results", data, title)
    per = data.groupby(["condition", "phase", "seed"], as_index=False)["value"].mean()
    phases = [p for p in T.PHASES if p in set(per["phase"])] + sorted(set(per["phase"]) - set(T.PHASES))
    conds = T.ordered_conditions(per["condition"].unique())
    fig, ax = _new(7.5, 4.0)
    sns.pointplot(
        data=per,
        x="phase",
        y="value",
        hue="condition",
        order=phases,
        hue_order=conds,
        palette=palette(conds),
        errorbar="sd",
        dodge=0.4 if len(conds) > 1 else False,
        markers="o",
        markersize=4,
        capsize=0.08,
        ax=ax,
    )
    ax.set_xlabel("checkpoint evaluated")
    ax.set_ylabel("top-1 accuracy (%)")
    _legend(ax)
    return _finish(fig, title, data, "points: seed mean; bars: ± sd over seeds")


def by_group(
    df: pd.DataFrame,
    conditions: Sequence[str] | None = None,
    mapping: dict = SCRIPT,
    group_name: str = "script",
    task: str = "pos",
    metric: str = "accuracy",
) -> Figure:
    """Zero-shot score per language group (script or family), mean over the group's languages."""
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
    fig, ax = _new(7.5, 4.0)
    if not runs.empty:
        sns.pointplot(
            data=runs,
            x=group_name,
            y="value",
            hue="condition",
            order=groups,
            hue_order=conds,
            palette=palette(conds),
            errorbar="sd",
            dodge=0.5 if len(conds) > 1 else False,
            linestyle="none",
            markers="o",
            markersize=4,
            capsize=0.1,
            ax=ax,
        )
    pos = {s: i for i, s in enumerate(groups)}
    for b, bg in base.groupby("condition"):
        st = BASELINE_STYLE.get(b, dict(color="#666666", label=b))
        m = bg.groupby(group_name)["value"].mean()
        ax.scatter(
            [pos[s] for s in m.index],
            m.values,
            marker="_",
            s=500,
            linewidths=2.0,
            color=st["color"],
            label=st["label"],
            zorder=1,
        )
    present = set(data["language"])
    members = {s: sorted(l for l, v in mapping.items() if v == s and l in present) for s in groups}
    ax.set_xticks(range(len(groups)), [f"{s}\n({' '.join(members[s])})" for s in groups], fontsize=8)
    ax.set_xlabel(group_name)
    ax.set_ylabel(f"{metric} (%)")
    _legend(ax)
    return _finish(fig, title, data)


def en_vs_ml(
    df: pd.DataFrame, pairs: Sequence[str] = ("qa", "copa", "deprel"), families: Sequence[str] = ("pos", "ner")
) -> Figure:
    """The research question at a glance: en-X vs ml-X (size-matched) on zero-shot POS and NER."""
    recs, used = [], []
    for fam in families:
        for x in pairs:
            for side in ("en", "ml"):
                cond = f"{side}-{x}"
                s = T.per_seed(df, fam, cond)
                used.append(T.family_rows(df[df["condition"] == cond], fam))
                recs += [
                    dict(family=T.FAMILIES[fam]["label"], pair=x, side=f"{side}-*", seed=k, value=v)
                    for k, v in s.items()
                ]
    data = pd.concat(used) if used else pd.DataFrame(columns=T.COLUMNS)
    title = "English vs multilingual intermediate data (size-matched pairs)"
    if not recs:
        return empty_figure("no en-X / ml-X results", data, title)
    r = pd.DataFrame(recs)
    fams = list(dict.fromkeys(r["family"]))
    fig = Figure(figsize=(4.0 * len(fams) + 1.5, 3.8), layout="constrained", dpi=100)
    axes = np.atleast_1d(fig.subplots(1, len(fams), sharey=False))
    for ax, fam in zip(axes, fams):
        sub = r[r["family"] == fam]
        sns.pointplot(
            data=sub,
            x="pair",
            y="value",
            hue="side",
            order=list(pairs),
            hue_order=["en-*", "ml-*"],
            palette={"en-*": sns.color_palette("Blues")[4], "ml-*": sns.color_palette("Oranges")[4]},
            errorbar="sd",
            dodge=0.3,
            linestyle="none",
            markers="o",
            markersize=5,
            capsize=0.1,
            ax=ax,
        )
        ax.set_title(fam, fontsize=9)
        ax.set_xlabel("intermediate task X")
        ax.set_ylabel("mean over zero-shot languages (%)")
        if ax is not axes[-1] and ax.get_legend():
            ax.get_legend().remove()
    _legend(axes[-1])
    return _finish(fig, title, data, "points: seed mean of the zero-shot language average; bars: ± sd")


def mlm_floor(df: pd.DataFrame) -> Figure:
    """MLM loss per condition/phase beside the unigram-entropy floor."""
    data = df[df["task"] == "mlm"]
    title = "MLM loss vs the unigram-entropy floor"
    loss = data[data["metric"].isin(T.LOSS_METRICS)]
    floor = data[data["metric"] == "unigram_entropy"]
    if loss.empty:
        return empty_figure("no MLM loss results", data, title)
    fig, ax = _new(7.0, 3.6)
    per = loss.groupby(["condition", "phase", "seed"], as_index=False)["value"].mean()
    per["checkpoint"] = per["condition"] + " / " + per["phase"]
    sns.barplot(data=per, y="checkpoint", x="value", errorbar="sd", color="#6a8fbf", ax=ax)
    if not floor.empty:
        ax.axvline(floor["value"].mean(), color="#b03030", linestyle="--", label="unigram entropy (floor)")
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel("loss (nats/token, as recorded)")
    ax.set_ylabel("")
    return _finish(fig, title, data, "a model that learnt language sits clearly left of the floor")


def save_png(fig: Figure, path) -> None:
    fig.savefig(path, format="png", bbox_inches="tight")
