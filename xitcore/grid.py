"""Grid dispatch through submitit: every (condition, seed) unit of a preset runs as one job.

The run store is the single source of truth. A unit whose steps are all finished is not submitted; a job
killed midway leaves its running step without ``metrics.json`` (the store writes it last, atomically), so
submitting the grid again reruns only the unfinished steps. The shared phase-(i) steps run first, in one
job per distinct phase-(i) config, so that unit jobs do not queue on the MLM step's lock. Once the jobs
are over, each condition whose units are all finished gets its index (``runs/index/<preset>/<c>.json``).

Executors: ``local`` (``submitit.LocalExecutor``, one process per job, at most ``max_parallel`` at once)
or ``slurm`` (``submitit.AutoExecutor(cluster="slurm")``; a job that times out or is preempted is requeued
and, again, reruns only what is unfinished). Slurm options pass through: account, QoS, memory and any other
``#SBATCH --key=value`` (submitit's ``slurm_additional_parameters``). The time limit is one value for every job,
or ``timeout_min=None`` ("auto"): each job gets the time the plan asks for it (``xitcore.plan``: the estimate
with its margin, as ``--dry-run`` prints it).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import submitit

from .config import deep_merge, load_condition
from .errors import ConfigError
from .plan import load_like, unit_nodes

EXECUTORS = ("local", "slurm")


def _apply_env(params_root: str | None, num_threads: int) -> None:
    if params_root:
        os.environ["XIT_PARAMS_ROOT"] = params_root
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if num_threads:
        os.environ["OMP_NUM_THREADS"] = str(num_threads)


def run_unit(
    path: str, seed: int, overrides: dict, runs_dir: str, params_root: str | None = None, num_threads: int = 0
) -> tuple[str, int]:
    """Job body: one condition with one seed; finished steps are reused, the index is written later."""
    _apply_env(params_root, num_threads)
    from .pipeline import run_condition

    over = deep_merge(overrides, {"seeds": [seed]})
    if num_threads:
        over = deep_merge(over, {"num_threads": num_threads})  # not part of any step key
    cfg = load_condition(path, over)
    run_condition(cfg, runs_dir, write_index=False)
    return cfg.condition, seed


def run_phase_i(path: str, overrides: dict, runs_dir: str, params_root: str | None = None, num_threads: int = 0) -> str:
    """Job body: the steps every condition shares (corpus, tokenizer, MLM, baselines, Tatoeba after MLM)."""
    _apply_env(params_root, num_threads)
    from .pipeline import run_shared_steps

    over = deep_merge(overrides, {"num_threads": num_threads}) if num_threads else overrides
    return run_shared_steps(load_condition(path, over), runs_dir).rel


class _Requeueable(submitit.helpers.Checkpointable):
    """On a Slurm timeout or preemption, submitit resubmits the same call; finished steps are skipped."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


SBATCH_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
MEM = re.compile(r"^[0-9]+[KMGT]?$")
# sbatch options GridOptions sets itself: --sbatch may not set them a second time
OWN_SBATCH = {
    "time": "--timeout-min",
    "partition": "--slurm-partition",
    "account": "--account",
    "qos": "--qos",
    "mem": "--mem",
    "gpus_per_node": "--gpus",
    "cpus_per_task": "--cpus-per-task",
    "job_name": None,
}


def parse_sbatch(items: list[str] | None) -> dict[str, str | bool]:
    """``--sbatch KEY=VALUE`` (or a bare ``KEY`` for a flag such as ``exclusive``) into submitit's
    ``slurm_additional_parameters``; keys as sbatch spells them, ``-`` or ``_``."""
    out: dict[str, str | bool] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        key = key.strip().lstrip("-").lower()
        if not SBATCH_KEY.match(key):
            raise ConfigError(f"--sbatch '{item}': expected KEY=VALUE with an sbatch option name, e.g. constraint=a100")
        key = key.replace("-", "_")
        if key in OWN_SBATCH:
            own = OWN_SBATCH[key]
            raise ConfigError(f"--sbatch {item}: set it with {own}" if own else f"--sbatch {item}: xit sets {key}")
        out[key] = value if eq else True
    return out


@dataclass
class GridOptions:
    executor: str = "local"
    max_parallel: int = 2  # local: concurrent jobs; slurm: 0 = all at once
    timeout_min: int | None = 240  # None: each job its planned request (--timeout-min auto)
    slurm_partition: str | None = None
    gpus: int | None = None  # slurm default 1
    cpus_per_task: int = 4
    folder: str | None = None  # submitit logs; default <runs_dir>/.submitit/<preset>
    poll_s: float = 0.5
    account: str | None = None  # sbatch --account
    qos: str | None = None  # sbatch --qos
    mem: str | None = None  # sbatch --mem, e.g. 64G
    sbatch: dict = field(default_factory=dict)  # any other sbatch option: parse_sbatch(["constraint=a100"])
    mfu: float = 0.40  # timeout_min None: the plan's assumed MFU where throughput is not measured

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ConfigError(f"--executor '{self.executor}' is unknown; allowed: {', '.join(EXECUTORS)}")
        if self.timeout_min is not None and self.timeout_min < 1:
            raise ConfigError(f"--timeout-min must be >= 1 or auto, got {self.timeout_min}")
        if self.max_parallel < 0:
            raise ConfigError(f"--max-parallel must be >= 0, got {self.max_parallel}")
        if self.mem is not None and not MEM.match(self.mem):
            raise ConfigError(f"--mem '{self.mem}': expected sbatch's form, a number with K, M, G or T, e.g. 64G")
        given = (("--account", self.account), ("--qos", self.qos), ("--mem", self.mem), ("--sbatch", self.sbatch))
        slurm_only = [n for n, v in given if v]
        if slurm_only and self.executor != "slurm":
            raise ConfigError(f"{', '.join(slurm_only)} apply to --executor slurm only; got --executor {self.executor}")


@dataclass
class GridResult:
    submitted: list[tuple[str, int]] = field(default_factory=list)
    already_done: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (what, reason with its log path)
    indexed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def make_executor(opts: GridOptions, folder: Path):
    timeout = opts.timeout_min or 240  # auto: replaced per job before each submission
    if opts.executor == "local":
        ex = submitit.LocalExecutor(folder=str(folder))
        ex.update_parameters(timeout_min=timeout)
        return ex
    try:
        ex = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    except RuntimeError as e:  # no srun here
        raise ConfigError(f"--executor slurm: {e}; allowed on this machine: local") from None
    params = {
        "timeout_min": timeout,
        "gpus_per_node": 1 if opts.gpus is None else opts.gpus,
        "cpus_per_task": opts.cpus_per_task,
        "name": "xit",
    }
    if opts.slurm_partition:
        params["slurm_partition"] = opts.slurm_partition
    for name in ("account", "qos", "mem"):
        if getattr(opts, name):
            params[f"slurm_{name}"] = getattr(opts, name)
    if opts.sbatch:
        params["slurm_additional_parameters"] = dict(opts.sbatch)
    ex.update_parameters(**params)
    return ex


def _threads(opts: GridOptions, cfg) -> int:
    """Torch threads per job when the params leave it to torch: share the machine's cores between local jobs."""
    if cfg.num_threads:
        return 0
    if opts.executor == "slurm":
        return opts.cpus_per_task
    return max(1, (os.cpu_count() or 1) // max(1, opts.max_parallel))


def _all_done(cfg, seed: int, runs_dir) -> bool:
    return all(node.done for node in unit_nodes(load_like(cfg, seed), runs_dir))


def _phase_i_done(cfg, runs_dir) -> tuple[str, bool]:
    from .plan import PHASE_I_KINDS

    steps = [
        n
        for n in unit_nodes(load_like(cfg, cfg.seeds[0]), runs_dir)
        if n.kind in PHASE_I_KINDS or (n.kind == "tatoeba" and n.payload.get("phase") == "mlm")
    ]
    return "|".join(n.rel for n in steps), all(n.done for n in steps)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


def _run_jobs(ex, calls: list, opts: GridOptions, log, timeouts: dict | None = None) -> list[tuple[object, str | None]]:
    """Submit ``calls`` [(label, fn, args)] with at most max_parallel running; return [(label, error or None)].
    ``timeouts``: minutes per label (``--timeout-min auto``), set on the executor before each submission."""
    limit = opts.max_parallel or len(calls)
    pending, running, out = list(calls), [], []
    while pending or running:
        while pending and len(running) < limit:
            label, fn, args = pending.pop(0)
            if timeouts and label in timeouts:
                ex.update_parameters(timeout_min=timeouts[label])
            job = ex.submit(_Requeueable(fn), *args)
            limit_note = f" (time limit {timeouts[label]} min)" if timeouts and label in timeouts else ""
            log(f"submitted {label} as job {job.job_id}{limit_note}")
            running.append((label, job))
        time.sleep(opts.poll_s)
        for label, job in list(running):
            if not job.done():
                continue
            running.remove((label, job))
            try:
                job.result()
                out.append((label, None))
                log(f"finished {label}")
            except Exception as e:  # a killed or failed job: its unfinished steps are rerun next time
                reason = f"{_one_line(e)} (log: {job.paths.stderr})"
                out.append((label, reason))
                log(f"FAILED {label}: {reason}")
    return out


def job_timeouts(cfgs: list, runs_dir, opts: GridOptions) -> dict[str, int]:
    """Minutes to request per job label, from the plan (what ``--dry-run`` prints as each job's request)."""
    from .plan import Assumptions, build_plan

    plan = build_plan(cfgs, runs_dir, Assumptions(mfu=opts.mfu))
    return {j.label: j.request_min for j in plan.jobs if not j.done}


def run_grid(
    preset: str, paths: list[Path], runs_dir: str, opts: GridOptions, overrides: dict | None = None, log=print
) -> GridResult:
    """Run every unfinished (condition, seed) unit of ``paths`` through submitit; write finished conditions' indexes."""
    from .config import params_root
    from .pipeline import run_condition

    overrides = overrides or {}
    runs_dir = str(runs_dir)
    cfgs = [load_condition(p, overrides) for p in paths]  # validate every condition before submitting any
    folder = Path(opts.folder or Path(runs_dir) / ".submitit" / preset)
    ex = make_executor(opts, folder)
    timeouts = job_timeouts(cfgs, runs_dir, opts) if opts.timeout_min is None else None
    root = str(params_root())
    result = GridResult()

    groups: dict[str, tuple] = {}
    for p, cfg in zip(paths, cfgs):
        key, done = _phase_i_done(cfg, runs_dir)
        if not done and key not in groups:
            groups[key] = (p, cfg)
    calls = [
        (f"phase i ({cfg.condition})", run_phase_i, (str(p), overrides, runs_dir, root, _threads(opts, cfg)))
        for p, cfg in groups.values()
    ]
    result.failed = [(label, err) for label, err in _run_jobs(ex, calls, opts, log, timeouts) if err]
    if result.failed:  # units would only queue on the unfinished shared steps
        return result

    calls = []
    for p, cfg in zip(paths, cfgs):
        for seed in cfg.seeds:
            if _all_done(cfg, seed, runs_dir):
                result.already_done.append((cfg.condition, seed))
                continue
            result.submitted.append((cfg.condition, seed))
            calls.append(
                (
                    f"{cfg.condition} seed {seed}",
                    run_unit,
                    (str(p), seed, overrides, runs_dir, root, _threads(opts, cfg)),
                )
            )
    log(f"grid {preset}: {len(calls)} unit(s) to run, {len(result.already_done)} already finished")
    result.failed += [(label, err) for label, err in _run_jobs(ex, calls, opts, log, timeouts) if err]

    for cfg in cfgs:  # index a condition only once every seed is finished: run_condition then reuses every step
        if all(_all_done(cfg, s, runs_dir) for s in cfg.seeds):
            run_condition(cfg, runs_dir)
            result.indexed.append(cfg.condition)
    return result
