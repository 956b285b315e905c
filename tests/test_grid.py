"""Grid dispatch through submitit's local executor: a job SIGKILLed while it trains leaves no metrics, and
submitting the grid again reruns only that unit; every step directory exists exactly once."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("submitit")

from conftest import REPO

from xitcore.config import load_condition, preset_conditions
from xitcore.errors import ConfigError
from xitcore.grid import GridOptions, make_executor, run_grid
from xitcore.plan import build_plan

FIXTURES = REPO / "tests" / "fixtures" / "params"
GRID = FIXTURES / "tinygrid"


def _lock_holder(lock: Path) -> int | None:
    """Pid of the process that has ``lock`` open (the worker training that step), found through /proc."""
    target = str(lock.resolve())
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (d / "fd").iterdir()):
                return int(d.name)
        except OSError:
            continue
    return None


def _running_slow_step(runs: Path) -> Path | None:
    """The slow condition's intermediate step dir (continued MLM, 300 steps) once its step function runs."""
    for work in runs.glob("intermediate/*/.work"):
        try:
            ic = json.loads((work.parent / "config.json").read_text())["intermediate"]
            running = json.loads((work.parent / "meta.json").read_text())["status"] == "running"  # fn started
        except (OSError, ValueError, KeyError):
            continue
        if running and ic["kind"] == "mlm" and ic["steps"] == 300:
            return work.parent
    return None


def _step_dirs(runs: Path) -> list[str]:
    return sorted(
        f"{k.name}/{d.name}"
        for k in runs.iterdir()
        if k.is_dir() and k.name != "index" and not k.name.startswith(".")
        for d in k.iterdir()
        if d.is_dir()
    )


def test_grid_killed_job_resubmitted_without_duplicates(tmp_path, monkeypatch):
    monkeypatch.setenv("XIT_PARAMS_ROOT", str(FIXTURES))
    runs = tmp_path / "runs"
    paths = preset_conditions("tinygrid")
    assert [p.stem for p in paths] == ["copa", "deprel", "none", "slow"]
    opts = GridOptions(executor="local", max_parallel=2, timeout_min=10, poll_s=0.2)

    logs, out = [], {}
    worker = threading.Thread(target=lambda: out.update(first=run_grid("tinygrid", paths, runs, opts, log=logs.append)))
    worker.start()
    pid, slow, deadline = None, None, time.time() + 150
    while pid is None and time.time() < deadline and worker.is_alive():
        slow = _running_slow_step(runs)
        if slow is not None:  # the slow step's function is running: find the process that holds its lock
            pid = _lock_holder(slow / ".lock")
        time.sleep(0.1)
    assert pid is not None, f"the slow step never started; log: {logs}"
    time.sleep(1.5)  # past loading (~0.5 s), well inside its ~5 s of training
    os.kill(pid, signal.SIGKILL)
    worker.join(timeout=150)
    first = out["first"]

    # The killed job: reported, its step left without metrics (meta still says running), no index for it.
    assert [what for what, _ in first.failed] == ["slow seed 1"], logs
    assert not (slow / "metrics.json").exists()
    assert json.loads((slow / "meta.json").read_text())["status"] == "running"
    assert sorted(first.indexed) == ["copa", "deprel", "none"]
    assert not (runs / "index" / "tinygrid" / "slow.json").exists()
    finished = {p: p.stat().st_mtime_ns for p in runs.glob("*/*/metrics.json")}

    # Resubmission: only the killed unit runs; phase i and the finished units are not submitted again.
    logs.clear()
    second = run_grid("tinygrid", paths, runs, opts, log=logs.append)
    assert second.ok, second.failed
    assert second.submitted == [("slow", 1)]
    assert sorted(second.already_done) == [("copa", 1), ("deprel", 1), ("none", 1)]
    assert not any("phase i" in line for line in logs), logs
    assert sorted(second.indexed) == ["copa", "deprel", "none", "slow"]
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items()), "a finished step was rerun"
    assert json.loads((slow / "meta.json").read_text())["status"] == "finished"

    # No duplicates: exactly one directory per planned step, each finished, no scratch left.
    plan = build_plan([load_condition(p) for p in paths], runs)
    planned = sorted(s.rel for s in plan.steps)
    assert len(planned) == len(set(planned))
    assert _step_dirs(runs) == planned
    assert all((runs / r / "metrics.json").is_file() and not (runs / r / ".work").exists() for r in planned)
    assert all(s.done for s in plan.steps) and plan.gpu_hours_todo == 0
    index = json.loads((runs / "index" / "tinygrid" / "slow.json").read_text())
    assert index["seeds"]["1"]["intermediate"] == f"intermediate/{slow.name}"  # the killed step's dir, reused


def test_grid_bad_executor_is_one_line_exit_2(tmp_path):
    env = {**os.environ, "XIT_PARAMS_ROOT": str(FIXTURES)}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "xitcore.cli",
            "grid",
            "tinygrid",
            "--executor",
            "kubernetes",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert p.returncode == 2
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert lines == ["xit: error: --executor 'kubernetes' is unknown; allowed: local, slurm"]
    assert not (tmp_path / "runs").exists()


def test_grid_dry_run_submits_nothing(tmp_path):
    env = {**os.environ, "XIT_PARAMS_ROOT": str(FIXTURES)}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "xitcore.cli",
            "--runs-dir",
            str(tmp_path / "runs"),
            "grid",
            "tinygrid",
            "--dry-run",
            "--only",
            "none,slow",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert "tinygrid/none" in p.stdout and "tinygrid/slow" in p.stdout and "tinygrid/copa" not in p.stdout
    assert "intermediate mlm mlm data=en seed=1 (300 steps × 4)" in p.stdout
    assert "shared: phase i" in p.stdout and "estimated CPU hours" in p.stdout  # the tinygrid preset: device cpu
    assert not (tmp_path / "runs").exists()


@pytest.mark.quick
def test_slurm_executor_parameters(tmp_path, monkeypatch):
    opts = GridOptions(executor="slurm", slurm_partition="gpu", timeout_min=90, cpus_per_task=8)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="--executor slurm: .*srun.*; allowed on this machine: local"):
        make_executor(opts, tmp_path / "logs")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 1\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    params = make_executor(opts, tmp_path / "logs")._executor.parameters  # nothing is submitted
    assert params["partition"] == "gpu" and params["time"] == 90 and params["cpus_per_task"] == 8
    assert params["gpus_per_node"] == 1 and params["job_name"] == "xit"


def _fake_srun(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "srun").write_text("#!/bin/sh\nexit 1\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))


@pytest.mark.quick
def test_slurm_options_pass_through_to_sbatch(tmp_path, monkeypatch):
    """--account, --qos, --mem and --sbatch KEY=VALUE reach submitit's executor and the #SBATCH lines it writes."""
    from submitit.slurm.slurm import _make_sbatch_string

    from xitcore.grid import parse_sbatch

    _fake_srun(tmp_path, monkeypatch)
    extra = parse_sbatch(["constraint=h100", "mail-type=END", "--exclusive"])
    assert extra == {"constraint": "h100", "mail_type": "END", "exclusive": True}
    opts = GridOptions(executor="slurm", account="proj42", qos="high", mem="64G", sbatch=extra, timeout_min=90)
    params = make_executor(opts, tmp_path / "logs")._executor.parameters  # nothing is submitted
    assert (params["account"], params["qos"], params["mem"]) == ("proj42", "high", "64G")
    assert params["additional_parameters"] == extra
    text = _make_sbatch_string(command="python -m x", folder=tmp_path / "logs", **params)
    for line in (
        "#SBATCH --account=proj42",
        "#SBATCH --qos=high",
        "#SBATCH --mem=64G",
        "#SBATCH --constraint=h100",
        "#SBATCH --mail-type=END",
        "#SBATCH --exclusive",
        "#SBATCH --time=90",
    ):
        assert line in text.splitlines(), text


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(executor="local", account="proj"), "--account apply to --executor slurm only; got --executor local"),
        (dict(executor="slurm", mem="lots"), "--mem 'lots': expected sbatch's form"),
        (dict(executor="slurm", timeout_min=0), "--timeout-min must be >= 1 or auto"),
    ],
)
@pytest.mark.quick
def test_grid_options_are_checked(kw, message):
    with pytest.raises(ConfigError, match=message):
        GridOptions(**kw)


@pytest.mark.parametrize(
    "item, message",
    [
        ("time=30", "--sbatch time=30: set it with --timeout-min"),
        ("partition=gpu", "set it with --slurm-partition"),
        ("job-name=x", "xit sets job_name"),
        ("bad key=1", "expected KEY=VALUE with an sbatch option name"),
    ],
)
@pytest.mark.quick
def test_sbatch_items_are_checked(item, message):
    from xitcore.grid import parse_sbatch

    with pytest.raises(ConfigError, match=message):
        parse_sbatch([item])


def test_timeout_auto_gives_each_job_its_planned_request(tmp_path, monkeypatch):
    """--timeout-min auto: before each submission the executor gets that job's request from the plan."""
    import xitcore.grid as grid
    from xitcore.plan import Assumptions

    monkeypatch.setenv("XIT_PARAMS_ROOT", str(FIXTURES))
    paths = preset_conditions("tinygrid")
    events = []

    class Job:
        job_id = "1"

        def done(self):
            return True

        def result(self):
            return None

    class Executor:
        def update_parameters(self, **kw):
            events.append(("update", kw))

        def submit(self, fn, *args):
            events.append(("submit", args))
            return Job()

    monkeypatch.setattr(grid, "make_executor", lambda opts, folder: Executor())
    opts = GridOptions(executor="local", timeout_min=None, max_parallel=1, poll_s=0)
    logs, over = [], {"intermediate": {"steps": 30_000_000}}  # long intermediate steps: hours, not minutes
    res = grid.run_grid("tinygrid", paths, tmp_path / "runs", opts, over, log=logs.append)
    plan = build_plan([load_condition(p, over) for p in paths], tmp_path / "runs", Assumptions())
    want = {j.label: j.request_min for j in plan.jobs}
    assert len(want) == 5 and len(set(want.values())) > 1  # phase i + 4 units; not all the same
    submitted = [(events[i - 1][1]["timeout_min"], e[1]) for i, e in enumerate(events) if e[0] == "submit"]
    assert len(submitted) == 5 and len(res.submitted) == 4
    for label, minutes in want.items():
        assert any(line.startswith(f"submitted {label} as job 1 (time limit {minutes} min)") for line in logs), logs
    assert sorted(m for m, _ in submitted) == sorted(want.values())
