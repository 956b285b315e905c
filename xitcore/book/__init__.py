"""The book layer: claims ledger, figures, explorer and the jupyter-book build.

Modules: ``tables`` (pandas views of the long results table), ``figures`` (seaborn figures
whose captions name their source runs), ``claims`` (the seed paper's claims and computed
verdicts), ``explorer`` (ipywidgets explorer on plain functions), ``build`` (jupytext +
papermill + jupyter-book).  The chapters in ``notebooks/*.md`` read results only: they call
``xitcore.results.load_results``, the helpers below and the ``xitcore.book`` modules, and never
import the pipeline or the training code.

The helpers here find a chapter's runs (the condition indexes ``<runs>/index/<preset>/<condition>.json``
that ``xit run`` writes) and fail with one line naming what is missing and the command that makes
it.  They import nothing heavy: ``import xitcore.book`` stays cheap for the build and the chapters.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from ..errors import XitError


class MissingRuns(XitError):
    """A chapter's runs are missing (or do not match what the book asks for): one line, with the command
    that makes them.  In a notebook, IPython shows only that line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


#: the folder names that mark a clone of this project (what :func:`project_root` looks for)
_PROJECT_MARKS = ("pyproject.toml", "params", "notebooks")


def project_root() -> Path:
    """The project a chapter or the explorer works in: the nearest folder at or above the working directory that
    holds ``pyproject.toml``, ``params/`` and ``notebooks/`` (a kernel that JupyterLab starts in ``notebooks/``
    finds the clone above it); else the clone this ``xitcore`` package was installed from."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if all((folder / m).exists() for m in _PROJECT_MARKS):
            return folder
    return Path(__file__).resolve().parents[2]


def default_runs_dir() -> Path:
    """The run store the CLI uses: ``$XIT_RUNS`` (a relative path is read from the project's root), else the
    project's ``runs/`` (:func:`project_root`), wherever the kernel was started."""
    env = os.environ.get("XIT_RUNS")
    if env:
        path = Path(env).expanduser()
        return path if path.is_absolute() else project_root() / path
    return project_root() / "runs"


def find_runs(runs_dir=None) -> str:
    """A chapter's ``runs_dir`` parameter as the folder to read: the value given (papermill ``-p runs_dir``),
    else :func:`default_runs_dir`."""
    return str(runs_dir) if runs_dir not in (None, "") else str(default_runs_dir())


def _where(runs_dir) -> str:
    """Where a run store was looked for, as an error line says it: the full path, and how it was chosen."""
    path = Path(runs_dir).expanduser().resolve()
    if path == default_runs_dir().resolve():
        how = "$XIT_RUNS" if os.environ.get("XIT_RUNS") else "the project's runs/; $XIT_RUNS or runs_dir picks another"
        return f"{path} ({how})"
    return str(path)


def _shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def params_file(preset: str, condition: str) -> str:
    """``params/<preset>/<condition>.yaml`` (under ``$XIT_PARAMS_ROOT`` if set), as the user would type it."""
    from ..config import params_root

    return _shown(params_root() / preset / f"{condition}.yaml")


def _xit(runs_dir) -> str:
    runs = str(runs_dir)
    if runs.rstrip("/") == "runs" or Path(runs).expanduser().resolve() == default_runs_dir().resolve():
        return "xit"  # the store the CLI reads by default (from the project's root)
    return f"xit --runs-dir {shlex.quote(runs)}"


def _set_options(sets: Sequence[str]) -> str:
    return "".join(f" --set {shlex.quote(s)}" for s in sets)


def run_command(
    runs_dir, preset: str, condition: str, sets: Sequence[str] = (), params: str | Path | None = None
) -> str:
    """The command that makes (or completes) one condition's runs: ``xit run params/<preset>/<name>.yaml``."""
    path = _shown(Path(params)) if params is not None else params_file(preset, condition)
    return f"{_xit(runs_dir)} run {shlex.quote(path)}{_set_options(sets)}"


def preset_command(runs_dir, preset: str, conditions: Sequence[str] | None = None, sets: Sequence[str] = ()) -> str:
    """The command that makes the runs of a preset (``--only`` the given conditions)."""
    only = f" --only {','.join(conditions)}" if conditions else ""
    return f"{_xit(runs_dir)} preset {preset}{only}{_set_options(sets)}"


def preset_conditions(preset: str) -> list[str]:
    """The conditions ``preset`` has: one per ``params/<preset>/*.yaml`` (not ``_*.yaml``, the preset defaults)."""
    from ..config import params_root

    return sorted(p.stem for p in (params_root() / preset).glob("*.yaml") if not p.name.startswith("_"))


def not_run(runs_dir, preset: str) -> list[str]:
    """The conditions of ``preset`` with no runs at all in ``runs_dir``: no condition index, neither the
    condition's nor a variant's (``<condition>~<suffix>``)."""
    folder = Path(runs_dir) / "index" / preset
    return [
        c
        for c in preset_conditions(preset)
        if not any(folder.glob(f"{c}.json")) and not any(folder.glob(f"{c}~*.json"))
    ]


def index_path(runs_dir, preset: str, condition: str) -> Path:
    return Path(runs_dir) / "index" / preset / f"{condition}.json"


def condition_index(runs_dir, preset: str, condition: str, *, command: str | None = None) -> dict:
    """The condition index of ``preset/condition`` in ``runs_dir`` (which run records make up each seed).

    Raises :class:`MissingRuns` with one line if there is none, if it does not parse or if it lists no
    seed; ``command`` (default: :func:`run_command`) is the command the line tells the user to run."""
    from ..runstore import metrics_state

    command = command or run_command(runs_dir, preset, condition)
    path = index_path(runs_dir, preset, condition)
    index, why = metrics_state(path)
    if why:
        raise MissingRuns(f"the condition index {path} does not parse ({why}): redo it with  {command}")
    if index is None:
        raise MissingRuns(f"no runs for {preset}/{condition} in {_where(runs_dir)}: run  {command}  first")
    if not index.get("seeds"):
        raise MissingRuns(f"{path} lists no finished seed of {preset}/{condition}: run  {command}  first")
    return index


def preset_indexes(runs_dir, preset: str, conditions: Sequence[str] | None = None) -> dict[str, dict]:
    """``{condition: index}`` for ``conditions`` (None or empty: every condition of ``preset`` with an
    index in ``runs_dir``), in the book's order; :class:`MissingRuns` (one line) if one is missing or there
    is none."""
    from .tables import ordered_conditions

    if not conditions:
        from ..config import committed_name

        # committed conditions only: a variant's index (<condition>~<suffix>.json) is read by name
        found = sorted(
            p.stem for p in (Path(runs_dir) / "index" / preset).glob("*.json") if committed_name(p.stem) == p.stem
        )
        if not found:
            command = preset_command(runs_dir, preset)
            raise MissingRuns(f"no runs of preset {preset} in {_where(runs_dir)}: run  {command}  first")
        conditions = found
    missing = [c for c in conditions if not index_path(runs_dir, preset, c).is_file()]
    if missing:
        raise MissingRuns(
            f"no runs for {', '.join(f'{preset}/{c}' for c in missing)} in {_where(runs_dir)}: run  "
            f"{preset_command(runs_dir, preset, missing)}  first"
        )
    return {c: condition_index(runs_dir, preset, c) for c in ordered_conditions(conditions)}


def index_table(index: dict, runs_prefix: str = "runs"):
    """The run records one condition index names, one row per step (``pandas.DataFrame``)."""
    import pandas as pd

    from .tables import PHASE_LABELS

    def checkpoint(phase: str) -> str:
        return f"tatoeba ({PHASE_LABELS.get(phase, phase)})"

    rows = []
    for step in ("encoder", "corpus", "tokenizer", "mlm", "baselines"):
        if index.get(step):
            rows.append(("shared", step, f"{runs_prefix}/{index[step]}"))
    for phase, rel in (index.get("tatoeba") or {}).items():
        rows.append(("shared", checkpoint(phase), f"{runs_prefix}/{rel}"))
    for seed, entry in sorted(index.get("seeds", {}).items(), key=lambda kv: int(kv[0])):
        if entry.get("intermediate"):
            rows.append((seed, "intermediate", f"{runs_prefix}/{entry['intermediate']}"))
        for task, rel in (entry.get("targets") or {}).items():
            rows.append((seed, f"target {task}", f"{runs_prefix}/{rel}"))
        for phase, rel in (entry.get("tatoeba") or {}).items():
            rows.append((seed, checkpoint(phase), f"{runs_prefix}/{rel}"))
    return pd.DataFrame(rows, columns=["seed", "step", "run record"]).set_index(["seed", "step"])


def as_list(value, name: str = "value"):
    """Normalise a notebook parameter that may arrive as text (``papermill -p conditions "[a, b]"``).

    ``None`` stays ``None``; a string is parsed as YAML; a scalar becomes a one-element list.
    """
    if value is None:
        return None
    if isinstance(value, str):
        import yaml

        value = yaml.safe_load(value)
        if value is None:
            return None
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class ChapterParameterError(MissingRuns):
    """A chapter was given a parameter it does not take (papermill only warns): one line, no traceback."""


#: names IPython defines in every kernel's namespace
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def _assigned_names(source: str) -> list[str] | None:
    """The names a parameters cell assigns (``name = literal`` statements only), or None if ``source`` is any other
    code: papermill's parameter cells hold nothing else."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)):
            return None
        try:
            ast.literal_eval(node.value)
        except ValueError:
            return None
        names += [t.id for t in node.targets]
    return names if tree.body else None


def parameter_names(namespace: dict) -> list[str] | None:
    """The names set by the parameters cells that ran just before the calling cell: the chapter's own
    ``parameters`` cell and papermill's injected one after it (IPython's input history, ``In``); None outside a
    kernel (no history), where the whole namespace is what was given."""
    history = namespace.get("In")
    if not isinstance(history, list) or len(history) < 2:
        return None
    names: list[str] = []
    for source in reversed(history[-3:-1]):  # at most two cells: papermill's injected cell, the chapter's own
        found = _assigned_names(str(source))
        if found is None:
            break
        names += found
    return names


def check_parameters(namespace: dict, *allowed: str) -> None:
    """Fail with one line if papermill gave this chapter a parameter it does not take.

    Call it first in the cell after the ``parameters`` cell, with ``globals()`` and the chapter's parameter
    names. In a kernel only the names the parameters cells set are checked (:func:`parameter_names`), so a second
    *Run All* in the same kernel passes; without a kernel's history every other plain name was injected. Keys of
    a params file given with ``papermill -f params/<preset>/<condition>.yaml`` are accepted while they equal that
    file's own values (the chapter only reads the runs its ``preset`` and ``condition`` name); a different
    value, e.g. ``-p seeds "[4]"``, would be a variant, which a chapter cannot make."""
    import dataclasses
    import types

    from ..config import ExperimentConfig, committed_name, params_root, read_yaml
    from ..errors import XitError

    names = parameter_names(namespace)
    given = {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_") and k not in _KERNEL_NAMES and not isinstance(v, types.ModuleType)
        if names is None or k in names
    }
    unknown = sorted(k for k in given if k not in allowed)
    if not unknown:
        return
    config_keys = {f.name for f in dataclasses.fields(ExperimentConfig)}
    not_keys = [k for k in unknown if k not in config_keys]
    if not_keys:
        raise ChapterParameterError(
            f"chapter parameter '{not_keys[0]}' is unknown; allowed: {', '.join(allowed)} (and, with papermill -f, "
            "the keys of that condition's params file at their committed values)"
        )
    preset, condition = given.get("preset"), committed_name(given.get("condition"))
    path = params_root() / str(preset) / f"{condition}.yaml"
    try:
        committed = read_yaml(path)
    except XitError:
        committed = {}
    for k in unknown:
        if committed.get(k, given[k]) != given[k] or k not in committed:
            raise ChapterParameterError(
                f"chapter parameter '{k}' = {given[k]!r} is not what {_shown(path)} says "
                f"({committed.get(k, 'absent')!r}): a chapter reads the runs of a committed condition or variant; "
                f"make a variant with  xit run {_shown(path)} --set {k}=... (or --seeds), then pass its name as "
                "condition"
            )
