"""Real run records for the book tests: the tiny preset's settings, run under the paper preset's names.

A params root is written whose ``paper/`` preset holds the tiny preset's ``_preset.yaml`` (renamed ``paper``)
and three of ``params/paper``'s condition files, copied verbatim (``backend: local``, XLM-R-scale
``intermediate.steps`` and all); ``SETS`` brings the intermediate phase down to the tiny scale, as a user's
``--set`` would, and only seed 1 is run.  ``no-intermediate`` and ``en-qa`` are run into a copy of the session's
tiny run store (phase i is reused, so this costs one tiny QA intermediate phase and its targets); ``ml-qa``
is never run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "params" / "tiny"
RUN = ("no-intermediate", "en-qa")
NOT_RUN = "ml-qa"
SETS = ("intermediate.steps=3", "intermediate.warmup_steps=1")

_CACHE: dict[str, tuple[Path, Path]] = {}


@contextlib.contextmanager
def params_root(path: Path):
    """``$XIT_PARAMS_ROOT`` set to ``path`` inside the block."""
    saved = os.environ.get("XIT_PARAMS_ROOT")
    os.environ["XIT_PARAMS_ROOT"] = str(path)
    try:
        yield path
    finally:
        if saved is None:
            os.environ.pop("XIT_PARAMS_ROOT", None)
        else:
            os.environ["XIT_PARAMS_ROOT"] = saved


def write_paper_params(root: Path) -> Path:
    folder = root / "params" / "paper"
    folder.mkdir(parents=True)
    preset = yaml.safe_load((TINY / "_preset.yaml").read_text())
    preset["preset"] = "paper"
    (folder / "_preset.yaml").write_text(yaml.safe_dump(preset, sort_keys=False))
    for name in (*RUN, NOT_RUN):
        shutil.copy(REPO / "params" / "paper" / f"{name}.yaml", folder)
    return root / "params"


def paper_runs(tiny_runs: Path, tmp_path_factory) -> tuple[Path, Path]:
    """``(params root, run store)``, made once per test session."""
    if "paper" not in _CACHE:
        from xitcore.book.build import parse_sets
        from xitcore.config import load_condition
        from xitcore.pipeline import run_condition

        root = tmp_path_factory.mktemp("paper")
        params = write_paper_params(root)
        runs = root / "runs"
        shutil.copytree(tiny_runs, runs, ignore=shutil.ignore_patterns("index"))
        with params_root(params):
            for name in RUN:  # one seed, as `xit run --seeds 1` (seeds are not part of the config compared)
                cfg = load_condition(params / "paper" / f"{name}.yaml", {**parse_sets(SETS), "seeds": [1]})
                run_condition(cfg, runs)
        _CACHE["paper"] = (params, runs)
    return _CACHE["paper"]


def pos_accuracy(runs: Path, condition: str, language: str) -> float:
    """The seed-1 POS accuracy of ``condition`` in ``language``, read straight from its run record."""
    import json

    folder = runs / "index" / "paper"  # SETS make en-qa a variant, en-qa~<suffix> (xitcore.config.Origin)
    path = folder / f"{condition}.json"
    path = path if path.exists() else next(folder.glob(f"{condition}~*.json"))
    index = json.loads(path.read_text())
    record = json.loads((runs / index["seeds"]["1"]["targets"]["pos"] / "metrics.json").read_text())
    return float(record["languages"][language]["accuracy"])
