"""An interactive explorer of the results table (ipywidgets), built on plain, testable functions.

``filter_results``, ``redraw`` and ``export`` do all the work and need no browser; ``build_widgets``
only wires ipywidgets controls to them.  In the HTML book the explorer chapter shows
``redraw(default_state(df))`` as a static figure; the controls work when the notebook is opened
in JupyterLab (``.venv/bin/jupyter lab notebooks/explore.ipynb``, then *Run All*).

Seeds: rows with seed 0 are shared by every seed of a condition (baselines, the MLM checkpoint and its
evaluations), so a seed selection always keeps them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from . import figures as F
from . import project_root
from . import tables as T

#: where the "save figure / CSV" button writes: this folder of the project (``xitcore.book.project_root``, wherever
#: the kernel was started; a relative folder typed in the explorer is read from there too; git-ignored)
EXPORT_DIR = "explorer-exports"
TASK_LABELS = {"pos": "UPOS", "ner": "NER", "tatoeba": "Tatoeba retrieval", "xcopa": "XCOPA", "mlm": "MLM"}


@dataclass
class ExplorerState:
    """What the explorer shows: the table plus the current selection."""

    df: pd.DataFrame = field(repr=False)
    conditions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    task: str = "pos"
    metric: str = "accuracy"
    phase: str = "target"
    seeds: tuple[int, ...] | None = None  # None: every seed


def options(df: pd.DataFrame, task: str | None = None) -> dict[str, list[str]]:
    """The values each control can take (for one task, if given)."""
    T.check_frame(df)
    sub = df if task is None else df[df["task"] == task]
    return {
        "conditions": T.ordered_conditions(sub["condition"].unique()),
        "languages": T.ordered_languages(sub["language"].unique()),
        "tasks": sorted(df["task"].unique(), key=lambda t: (list(TASK_LABELS).index(t) if t in TASK_LABELS else 99, t)),
        "metrics": sorted(sub["metric"].unique()),
        "phases": [p for p in T.PHASES if p in set(sub["phase"])] + sorted(set(sub["phase"]) - set(T.PHASES)),
        "seeds": sorted(int(x) for x in set(sub["seed"]) if int(x) != T.SHARED_SEED),
    }


def filter_results(
    df: pd.DataFrame,
    conditions: Sequence[str] | None,
    languages: Sequence[str] | None,
    task: str,
    metric: str,
    phase: str | None,
    seeds: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Rows matching the selection. ``None`` means "all"; an empty selection gives no rows.

    ``seeds`` keeps those seeds' rows plus the rows every seed shares (seed 0: baselines, MLM checkpoint)."""
    T.check_frame(df)
    out = df[(df["task"] == task) & (df["metric"] == metric)]
    if phase is not None:
        out = out[out["phase"] == phase]
    if conditions is not None:
        out = out[out["condition"].isin(list(conditions))]
    if languages is not None:
        out = out[out["language"].isin(list(languages))]
    if seeds is not None:
        out = out[out["seed"].isin([int(x) for x in seeds] + [T.SHARED_SEED])]
    return out.reset_index(drop=True)


def default_state(df: pd.DataFrame) -> ExplorerState:
    """POS accuracy on the target checkpoint, every condition and baseline, every language."""
    task = "pos" if (df["task"] == "pos").any() else (str(df["task"].iloc[0]) if len(df) else "pos")
    opts = options(df, task)
    metric = "accuracy" if "accuracy" in opts["metrics"] else (opts["metrics"][0] if opts["metrics"] else "")
    phase = "target" if "target" in opts["phases"] else (opts["phases"][-1] if opts["phases"] else "target")
    langs = [l for l in opts["languages"] if l not in T.AGGREGATES]
    return ExplorerState(df, tuple(opts["conditions"]), tuple(langs), task, metric, phase)


def selection(state: ExplorerState) -> pd.DataFrame:
    """The rows ``state`` selects (what the figure shows and the CSV export holds)."""
    return filter_results(
        state.df, state.conditions, state.languages, state.task, state.metric, state.phase, state.seeds
    )


def export_folder(folder: str | Path | None = None) -> Path:
    """The folder ``export`` writes to: ``folder`` (relative: from the project's root), else the project's
    ``explorer-exports/``."""
    path = Path(folder or EXPORT_DIR).expanduser()
    return path if path.is_absolute() else project_root() / path


def export(state: ExplorerState, folder: str | Path | None = None) -> tuple[Path, Path]:
    """Write the current figure (PNG) and its rows (CSV, the long results format) to ``folder``
    (:func:`export_folder`: the project's ``explorer-exports/`` by default).

    The file stem names task, metric and phase plus a short hash of the whole selection, so different
    selections never overwrite each other and the same selection rewrites the same two files."""
    import matplotlib.pyplot as plt

    folder = export_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    what = [state.task, state.metric, state.phase, state.conditions, state.languages, state.seeds]
    tag = hashlib.sha256(json.dumps(what, default=list).encode()).hexdigest()[:8]
    stem = f"{state.task}-{state.metric}-{state.phase}-{tag}".replace(":", "-").replace("/", "-")
    png, csv = folder / f"{stem}.png", folder / f"{stem}.csv"
    selection(state).to_csv(csv, index=False)
    fig = redraw(state)
    fig.savefig(png, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return png, csv


def redraw(state: ExplorerState):
    """The figure for ``state``: per-language seed mean ± sd per condition, baselines as marks."""
    data = selection(state)
    label = TASK_LABELS.get(state.task, state.task)
    title = f"{label} {state.metric}, checkpoint: {T.PHASE_LABELS.get(state.phase, state.phase)}"
    if data.empty:
        return F.empty_figure("nothing matches this selection", data, title)
    unit = "(%)" if state.metric not in ("loss", "unigram_entropy") else ""
    return F.per_language(data, title=title, ylabel=f"{state.metric} {unit}".strip())


def phase_options(phases: Sequence[str]) -> list[tuple[str, str]]:
    """``(label, phase)`` pairs for the checkpoint control: what each checkpoint is (``tables.PHASE_LABELS``)."""
    return [(T.PHASE_LABELS.get(p, p), p) for p in phases]


def _message(text: str, error: bool = False) -> str:
    """HTML for the message line under the buttons: wraps inside the widget area, however long the paths."""
    import html

    colour = "#b00020" if error else "#333333"
    return (
        f'<div style="white-space: normal; overflow-wrap: anywhere; color: {colour}; line-height: 1.4">'
        f"{html.escape(text)}</div>"
    )


def build_widgets(df: pd.DataFrame, state: ExplorerState | None = None, export_dir: str | Path | None = None):
    """ipywidgets controls + output area; every change calls ``redraw`` and shows the new figure; the
    "save figure / CSV" button calls ``export`` into the folder its text box names (:func:`export_folder`: the
    project's ``explorer-exports/`` by default) and says where it wrote under the buttons."""
    import ipywidgets as W
    from IPython.display import display

    state = state or default_state(df)
    opts = options(df, state.task)
    w_cond = W.SelectMultiple(
        options=opts["conditions"],
        value=state.conditions,
        description="conditions",
        rows=min(12, max(4, len(opts["conditions"]))),
    )
    w_lang = W.SelectMultiple(
        options=opts["languages"],
        value=state.languages,
        description="languages",
        rows=min(12, max(4, len(opts["languages"]))),
    )
    w_task = W.Dropdown(options=options(df)["tasks"], value=state.task, description="task")
    w_metric = W.Dropdown(options=opts["metrics"], value=state.metric or None, description="metric")
    w_phase = W.Dropdown(
        options=phase_options(opts["phases"]),
        value=state.phase if state.phase in opts["phases"] else None,
        description="checkpoint",
        style={"description_width": "initial"},
    )
    seed_opts = opts["seeds"]
    w_seeds = W.SelectMultiple(
        options=seed_opts,
        value=tuple(seed_opts if state.seeds is None else [x for x in state.seeds if x in seed_opts]),
        description="seeds",
        rows=min(6, max(2, len(seed_opts))),
    )
    w_folder = W.Text(value=str(export_folder(export_dir)), description="folder", layout=W.Layout(width="60%"))
    w_save = W.Button(
        description="save figure / CSV",
        icon="download",
        tooltip="write a PNG of the figure and a CSV of its rows to the folder",
        layout=W.Layout(width="auto", min_width="max-content"),
    )
    w_saved = W.HTML(value="", layout=W.Layout(width="100%"))
    out = W.Output()
    busy = {"on": False}

    def current() -> ExplorerState:
        return replace(
            state,
            conditions=tuple(w_cond.value),
            languages=tuple(w_lang.value),
            task=w_task.value,
            metric=w_metric.value,
            phase=w_phase.value,
            seeds=tuple(w_seeds.value),
        )

    def show(*_):
        if busy["on"]:
            return
        with out:
            out.clear_output(wait=True)
            display(redraw(current()))

    def on_task(change):
        busy["on"] = True
        try:
            o = options(df, change["new"])
            w_metric.options = o["metrics"]
            w_metric.value = o["metrics"][0] if o["metrics"] else None
            w_phase.options = phase_options(o["phases"])
            w_phase.value = "target" if "target" in o["phases"] else (o["phases"][0] if o["phases"] else None)
            w_cond.options = o["conditions"]
            w_cond.value = tuple(o["conditions"])
            w_lang.options = o["languages"]
            w_lang.value = tuple(l for l in o["languages"] if l not in T.AGGREGATES)
            w_seeds.options = o["seeds"]
            w_seeds.value = tuple(o["seeds"])
        finally:
            busy["on"] = False
        show()

    def on_save(*_):
        try:
            png, csv = export(current(), w_folder.value or None)
        except OSError as e:  # a folder that cannot be written: one line in the widget, not a traceback
            w_saved.value = _message(f"not saved: {e}", error=True)
            return
        w_saved.value = _message(f"saved {png.name} and {csv.name} in {png.parent}")

    w_task.observe(on_task, names="value")
    for w in (w_cond, w_lang, w_metric, w_phase, w_seeds):
        w.observe(show, names="value")
    w_save.on_click(on_save)
    show()
    controls = W.HBox([W.VBox([w_task, w_metric, w_phase, w_seeds]), w_cond, w_lang])
    box = W.VBox([controls, W.HBox([w_save, w_folder]), w_saved, out], layout=W.Layout(max_width="100%"))
    box.xit_redraw = show  # for tests: call to redraw with the current control values
    box.xit_controls = dict(
        conditions=w_cond,
        languages=w_lang,
        task=w_task,
        metric=w_metric,
        phase=w_phase,
        seeds=w_seeds,
        folder=w_folder,
        save=w_save,
        saved=w_saved,
    )
    box.xit_current = current
    return box
