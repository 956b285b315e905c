"""Run store: one directory per step, keyed by a hash of the resolved config that produced it.

``runs/<kind>/<key>/`` holds ``config.json`` (the step's payload), ``meta.json`` (status, versions,
git SHA, data checksums, seed, timings) and, once finished, ``metrics.json`` plus artefacts.
A step is finished iff ``metrics.json`` exists and parses as a JSON object; it is written last and
atomically, so a crash never leaves a half-written metrics file, and a rerun redoes only unfinished steps.
A ``metrics.json`` that no longer parses (a partial copy between machines, a hand edit) is a damaged record:
the step counts as unfinished, and :meth:`RunStore.run` moves the file aside to
``metrics.json.damaged-<timestamp>`` (never deleting it) before redoing the step.

Inside a step, the training loops of ``xitcore.train`` save a checkpoint every ``XIT_CHECKPOINT_MINUTES``
(default 10) or every ``XIT_CHECKPOINT_EVERY_STEPS`` optimizer steps into ``<step>/.checkpoint/``, which
:meth:`RunStore.run` tells them through :func:`checkpoint_scope`; a rerun after a kill resumes from there, and
the directory is removed once the step has finished. Neither setting is part of any key.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import REPO_ROOT, config_hash
from .errors import ConfigError, XitError


class DamagedRecordError(XitError):
    """A finished step's ``metrics.json`` no longer parses as a JSON object."""


def metrics_state(path: Path) -> tuple[dict | None, str | None]:
    """``(metrics, None)`` if ``path`` holds a JSON object, ``(None, None)`` if it is missing, else
    ``(None, why)`` with a one-line reason (the file is then a damaged record)."""
    path = Path(path)
    if not path.is_file():
        return None, None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{type(e).__name__}: {e}".splitlines()[0]
    if not isinstance(obj, dict):
        return None, f"holds a JSON {type(obj).__name__}, not an object"
    return obj, None


def atomic_write_json(path: Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True, default=_json_default)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        sha = out.stdout.strip() or "unknown"
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for mod in ("torch", "transformers", "tokenizers", "numpy", "xitcore"):
        with contextlib.suppress(Exception):  # a module that is missing or has no version is left out
            out[mod] = __import__(mod).__version__
    return out


@dataclass
class Step:
    kind: str
    key: str
    path: Path

    @property
    def done(self) -> bool:
        """Finished: ``metrics.json`` exists and parses (a damaged one counts as unfinished)."""
        return metrics_state(self.path / "metrics.json")[0] is not None

    @property
    def damaged(self) -> str | None:
        """Why this step's ``metrics.json`` does not parse, or None (missing or fine)."""
        return metrics_state(self.path / "metrics.json")[1]

    def metrics(self) -> dict:
        m, why = metrics_state(self.path / "metrics.json")
        if why:
            raise DamagedRecordError(
                f"{self.path / 'metrics.json'} does not parse ({why}); "
                "rerun the condition (xit run params/<preset>/<condition>.yaml) to redo the step"
            )
        if m is None:
            raise FileNotFoundError(f"{self.path / 'metrics.json'}: step {self.rel} has not finished")
        return m

    def config(self) -> dict:
        return json.loads((self.path / "config.json").read_text())

    @property
    def rel(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass
class StepNode:
    """One step of the experiment graph, declared before anything runs: what it is (``kind`` and the
    ``payload`` its key hashes), what it reads (``inputs``: the steps whose artefacts ``fn`` opens), what it
    writes (``step``: its directory) and how (``fn(workdir) -> metrics``). ``prepare`` (optional) runs before
    ``fn`` when the step is not finished, outside the run store: it loads what must be checked before anything
    is written (hub data), so that a failure there leaves no record."""

    kind: str
    payload: dict
    fn: Callable[[Path], dict]
    step: Step
    inputs: tuple[Step, ...] = ()
    seed: int | None = None
    data_files: list[Path] | None = None
    prepare: Callable[[], None] | None = None

    @property
    def key(self) -> str:
        return self.step.key

    @property
    def rel(self) -> str:
        return self.step.rel

    @property
    def path(self) -> Path:
        return self.step.path

    @property
    def done(self) -> bool:
        return self.step.done


class RunStore:
    def __init__(self, root: str | Path = "runs"):
        self.root = Path(root)

    def step(self, kind: str, payload: dict) -> Step:
        key = config_hash({"kind": kind, **payload})
        return Step(kind, key, self.root / kind / key)

    def node(
        self,
        kind: str,
        payload: dict,
        fn: Callable[[Path], dict],
        inputs=(),
        *,
        seed: int | None = None,
        data_files: list[Path] | None = None,
        prepare: Callable[[], None] | None = None,
    ) -> StepNode:
        """Declare a step (nothing runs): see :class:`StepNode`. ``inputs`` may hold None (an absent step)."""
        return StepNode(
            kind,
            payload,
            fn,
            self.step(kind, payload),
            tuple(s.step if isinstance(s, StepNode) else s for s in inputs if s is not None),
            seed,
            data_files,
            prepare,
        )

    def execute(self, node: StepNode, log: Callable[[str], None] = print) -> Step:
        """Run ``node`` unless it is finished (see :meth:`run`); its ``prepare`` first, outside the store."""
        if node.step.done:
            return node.step
        if node.prepare is not None:
            node.prepare()
        return self.run(node.kind, node.payload, node.fn, seed=node.seed, data_files=node.data_files, log=log)

    def all_steps(self, kind: str | None = None) -> list[Step]:
        # runs/index/ holds the per-condition indexes and dot-dirs (.cache, .submitit, .work) scratch, not steps
        kinds = (
            [kind]
            if kind
            else sorted(
                p.name for p in self.root.iterdir() if p.is_dir() and p.name != "index" and not p.name.startswith(".")
            )
            if self.root.is_dir()
            else []
        )
        out = []
        for k in kinds:
            d = self.root / k
            if d.is_dir():
                out += [Step(k, p.name, p) for p in sorted(d.iterdir()) if p.is_dir()]
        return out

    @contextmanager
    def _lock(self, step: Step):
        # One writer per step: a second process waits rather than training the same step twice.
        step.path.mkdir(parents=True, exist_ok=True)
        lock = step.path / ".lock"
        import fcntl

        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def run(
        self,
        kind: str,
        payload: dict,
        fn: Callable[[Path], dict],
        *,
        seed: int | None = None,
        data_files: list[Path] | None = None,
        log: Callable[[str], None] = print,
    ) -> Step:
        """Run ``fn(workdir) -> metrics`` unless the step is finished; return the Step.

        ``fn`` writes artefacts into a fresh scratch dir that replaces the step's artefacts only on
        success, so an interrupted run leaves the previous state (or nothing) and is redone next time.
        """
        step = self.step(kind, payload)
        if step.done:
            return step
        checkpoint_settings()  # a bad XIT_CHECKPOINT_* value fails here, before anything is written
        with self._lock(step):
            if step.done:  # finished by another process while we waited
                return step
            why = step.damaged
            if why:
                aside = set_aside(step.path / "metrics.json")
                log(
                    f"run store: {step.rel}/metrics.json does not parse ({why}); moved to {aside.name}, "
                    f"redoing the step"
                )
            work = step.path / ".work"
            if work.exists():
                shutil.rmtree(work)
            work.mkdir(parents=True)
            atomic_write_json(step.path / "config.json", payload)
            meta = {
                "status": "running",
                "kind": kind,
                "key": step.key,
                "seed": seed,
                "git_sha": git_sha(),
                "versions": versions(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "host": platform.node(),
                "data_checksums": _checksums(data_files or []),
            }
            atomic_write_json(step.path / "meta.json", meta)
            t0 = time.time()
            try:
                with checkpoint_scope(step.path / CHECKPOINT_DIR, step.rel, log):
                    metrics = fn(work)
            except BaseException as e:
                meta.update(status="failed", error=f"{type(e).__name__}: {e}", seconds=round(time.time() - t0, 2))
                atomic_write_json(step.path / "meta.json", meta)
                raise
            # Move artefacts into place, then write metrics last: metrics.json marks completion.
            for item in work.iterdir():
                dest = step.path / item.name
                if dest.exists():
                    shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
                os.replace(item, dest)
            work.rmdir()
            meta.update(
                status="finished", seconds=round(time.time() - t0, 2), finished=time.strftime("%Y-%m-%dT%H:%M:%S%z")
            )
            atomic_write_json(step.path / "meta.json", meta)
            atomic_write_json(step.path / "metrics.json", metrics)
            # Only now: a kill before metrics.json is written resumes from the checkpoints.
            shutil.rmtree(step.path / CHECKPOINT_DIR, ignore_errors=True)
        return step


def set_aside(path: Path) -> Path:
    """Rename a damaged file to ``<name>.damaged-<timestamp>`` next to it (never overwriting); return the new path."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, dest)
    return dest


# ====================================================================== checkpoints inside a step

CHECKPOINT_DIR = ".checkpoint"
CHECKPOINT_MINUTES_ENV = "XIT_CHECKPOINT_MINUTES"
CHECKPOINT_STEPS_ENV = "XIT_CHECKPOINT_EVERY_STEPS"
DEFAULT_CHECKPOINT_MINUTES = 10.0


@dataclass
class CheckpointScope:
    """Where the training loops of the step now running keep their checkpoints, and how often they save.

    Each loop call of the step takes the next number (``loop-<n>`` files), so a step with several loops (a target
    with two training stages) resumes in the one it was in. ``rank`` > 0: a data-parallel rank that is not rank 0
    (it reads rank 0's checkpoint and writes only its own random states). ``minutes`` and ``every_steps`` both 0:
    no checkpoints (and none is read)."""

    directory: Path
    name: str = ""
    log: Callable[[str], None] = print
    minutes: float = DEFAULT_CHECKPOINT_MINUTES
    every_steps: int = 0
    rank: int = 0
    loops: int = 0

    @property
    def enabled(self) -> bool:
        return self.minutes > 0 or self.every_steps > 0

    def next_loop(self) -> int:
        self.loops += 1
        return self.loops - 1


def checkpoint_settings(env: dict | None = None) -> tuple[float, int]:
    """(minutes, every_steps) from ``XIT_CHECKPOINT_MINUTES`` (default 10; 0 turns the clock off) and
    ``XIT_CHECKPOINT_EVERY_STEPS`` (default 0: off); a value that is not a number >= 0 is a ConfigError."""
    env = os.environ if env is None else env
    out = []
    for name, default, cast in (
        (CHECKPOINT_MINUTES_ENV, DEFAULT_CHECKPOINT_MINUTES, float),
        (CHECKPOINT_STEPS_ENV, 0, int),
    ):
        raw = env.get(name, "").strip()
        try:
            value = cast(raw) if raw else default
        except ValueError:
            value = -1
        if not value >= 0:  # also catches nan
            kind = "a number of minutes" if cast is float else "a whole number of steps"
            raise ConfigError(f"{name}={raw!r}: expected {kind} >= 0 (0 turns it off)")
        out.append(value)
    return out[0], out[1]


_SCOPE: ContextVar[CheckpointScope | None] = ContextVar("xit_checkpoint_scope", default=None)


@contextmanager
def checkpoint_scope(
    directory: str | Path,
    name: str = "",
    log: Callable[[str], None] = print,
    *,
    minutes: float | None = None,
    every_steps: int | None = None,
    rank: int = 0,
) -> Iterator[CheckpointScope]:
    """Training loops run inside this save and resume their checkpoints in ``directory`` (settings left None
    come from the environment: :func:`checkpoint_settings`). :meth:`RunStore.run` opens one around each step."""
    env_minutes, env_steps = checkpoint_settings()
    scope = CheckpointScope(
        Path(directory),
        name,
        log,
        env_minutes if minutes is None else minutes,
        env_steps if every_steps is None else every_steps,
        rank,
    )
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_checkpoint_scope() -> CheckpointScope | None:
    """The scope of the step now running in this thread, or None (a loop called outside the run store)."""
    return _SCOPE.get()


_CHECKSUM_CACHE: dict[str, str] = {}


def _checksums(files: list[Path]) -> dict:
    from .data.paths import DATA_ROOT, file_sha256

    out = {}
    for f in files:
        f = Path(f)
        k = str(f)
        if k not in _CHECKSUM_CACHE:
            _CHECKSUM_CACHE[k] = file_sha256(f)
        try:
            name = str(f.resolve().relative_to(Path(DATA_ROOT).resolve()))
        except ValueError:
            name = f.name
        out[name] = _CHECKSUM_CACHE[k]
    return out
