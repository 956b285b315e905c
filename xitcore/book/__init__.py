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

import shlex
from collections.abc import Sequence
from pathlib import Path

from ..errors import XitError


class MissingRuns(XitError):
    """A chapter's runs are missing (or do not match what the book asks for): one line, with the command
    that makes them.  In a notebook, IPython shows only that line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


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
    return "xit" if runs.rstrip("/") == "runs" else f"xit --runs-dir {shlex.quote(runs)}"


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
        raise MissingRuns(f"no runs for {preset}/{condition} in {runs_dir}: run  {command}  first")
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
            raise MissingRuns(f"no runs of preset {preset} in {runs_dir}: run  {command}  first")
        conditions = found
    missing = [c for c in conditions if not index_path(runs_dir, preset, c).is_file()]
    if missing:
        raise MissingRuns(
            f"no runs for {', '.join(f'{preset}/{c}' for c in missing)} in {runs_dir}: run  "
            f"{preset_command(runs_dir, preset, missing)}  first"
        )
    return {c: condition_index(runs_dir, preset, c) for c in ordered_conditions(conditions)}


def index_table(index: dict, runs_prefix: str = "runs"):
    """The run records one condition index names, one row per step (``pandas.DataFrame``)."""
    import pandas as pd

    rows = []
    for step in ("encoder", "corpus", "tokenizer", "mlm", "baselines"):
        if index.get(step):
            rows.append(("shared", step, f"{runs_prefix}/{index[step]}"))
    for phase, rel in (index.get("tatoeba") or {}).items():
        rows.append(("shared", f"tatoeba ({phase} checkpoint)", f"{runs_prefix}/{rel}"))
    for seed, entry in sorted(index.get("seeds", {}).items(), key=lambda kv: int(kv[0])):
        if entry.get("intermediate"):
            rows.append((seed, "intermediate", f"{runs_prefix}/{entry['intermediate']}"))
        for task, rel in (entry.get("targets") or {}).items():
            rows.append((seed, f"target {task}", f"{runs_prefix}/{rel}"))
        for phase, rel in (entry.get("tatoeba") or {}).items():
            rows.append((seed, f"tatoeba ({phase} checkpoint)", f"{runs_prefix}/{rel}"))
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


def check_parameters(namespace: dict, *allowed: str) -> None:
    """Fail with one line if papermill gave this chapter a parameter it does not take.

    Call it first in the cell after the ``parameters`` cell, with ``globals()`` and the chapter's parameter
    names: every other plain name defined by then was injected. Keys of a params file given with
    ``papermill -f params/<preset>/<condition>.yaml`` are accepted while they equal that file's own values
    (the chapter only reads the runs its ``preset`` and ``condition`` name); a different value, e.g.
    ``-p seeds "[4]"``, would be a variant, which a chapter cannot make."""
    import dataclasses
    import types

    from ..config import ExperimentConfig, committed_name, params_root, read_yaml
    from ..errors import XitError

    given = {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_") and k not in _KERNEL_NAMES and not isinstance(v, types.ModuleType)
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
