"""Time per step from the measured-throughput table, else the latency-bound estimate; each job's time to request;
the paper grid's dry run: requirements once, jobs labelled measured or estimated, a --timeout-min that fits."""

import math
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, TINY

from xitcore.config import load_condition
from xitcore.errors import ConfigError, DataError
from xitcore.plan import Assumptions, build_plan, encoder_shape, request_minutes, trainable_params
from xitcore.throughput import Row, Shape, lookup, read_table, upsert, write_table

TINY_SHAPE = Shape(1, 32, 2, 64, 600)  # tests/fixtures/params/tiny: 1 layer × 32, 2 heads, ffn 64, 600 pieces
N = 8544  # its non-embedding parameters


def _row(**kw) -> Row:
    base = dict(
        device="cpu",
        device_name="Test CPU",
        threads=1,
        precision="fp32",
        model="tiny",
        layers=1,
        hidden=32,
        heads=2,
        ffn=64,
        vocab=600,
        trainable_params=27744,
        workload="tagging",
        batch_size=8,
        seq_len=48,
        tokens_per_step=500.0,
        seconds_per_step=0.25,
        tokens_per_second=2000.0,
        steps=10,
        measured="2026-01-01",
        commit="abc1234",
    )
    return Row(**{**base, **kw})


@pytest.mark.quick
def test_table_round_trip_upsert_and_lookup(tmp_path):
    path = tmp_path / "t.tsv"
    old, other = _row(), _row(batch_size=16, seconds_per_step=0.4)
    write_table([old, other], path)
    assert read_table(path) == [old, other]
    new = _row(seconds_per_step=0.3, measured="2026-02-01")  # the same key measured again: replaces
    assert upsert(new, path)[1] is True
    assert upsert(_row(device="cuda", device_name="H100", threads=2), path)[1] is False  # a new key: added
    rows = read_table(path)
    assert len(rows) == 3 and new in rows and old not in rows
    key = dict(device="cpu", precision="fp32", shape=TINY_SHAPE, workload="tagging", batch_size=8, seq_len=48)
    assert lookup(rows, **key) == new
    assert lookup(rows, **{**key, "batch_size": 4}) is None
    assert lookup(rows, **{**key, "precision": "bf16"}) is None
    assert lookup(rows, **key, device_name="h100") is None  # a CPU row is never a GPU's
    assert lookup(rows, **{**key, "device": "cuda"}, device_name="h100").device_name == "H100"
    assert read_table(tmp_path / "missing.tsv") == []


@pytest.mark.quick
def test_a_damaged_table_is_one_line(tmp_path):
    path = tmp_path / "t.tsv"
    write_table([_row()], path)
    path.write_text(path.read_text().replace("0.25", "fast"))
    with pytest.raises(DataError, match=r"t.tsv:2 column seconds_per_step: 'fast' is not a float$"):
        read_table(path)
    path.write_text("device\tthreads\ncpu\t1\n")
    with pytest.raises(DataError, match="header lacks column"):
        read_table(path)


@pytest.mark.quick
def test_committed_table_is_consistent():
    """Every committed row parses, is labelled with its device, and its three rates agree."""
    rows = read_table()
    assert len({r.key() for r in rows}) == len(rows)
    for r in rows:
        assert r.device in ("cpu", "cuda") and r.device_name and r.workload in ("tagging", "mlm")
        assert r.precision in ("fp32", "bf16") and r.steps >= 1 and r.seconds_per_step > 0
        assert r.tokens_per_step / r.seconds_per_step == pytest.approx(r.tokens_per_second, rel=0.01)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r.measured) and r.commit
        if r.device == "cpu":
            assert r.threads >= 1 and r.where().startswith("CPU ")


@pytest.mark.quick
def test_unmeasured_gpu_step_is_latency_bound_and_says_so(tmp_path):
    cfg = load_condition(TINY / "none.yaml")
    a = Assumptions(device="cuda", table=())
    plan = build_plan(cfg, tmp_path / "runs", a)
    target = plan.step_of("target")
    assert target.device == "cuda" and target.measured is None and target.source == "estimated"
    # floor: 1 layer × 1.5 ms + trainable parameters × 32 bytes at 3.35 TB/s + 5 ms; FLOP time far below it
    trainable = N + 600 * 32  # the layer and the word embeddings (nothing frozen in the tiny preset)
    assert trainable_params(cfg) == trainable
    floor = 1.5e-3 + trainable * 32 / 3.35e12 + 5e-3
    assert 6 * N * target.tokens_per_step / a.sustained < floor
    assert target.train_s == pytest.approx(target.train_steps * floor)
    assert target.infer_s == pytest.approx(2 * N * target.infer_tokens / a.sustained)
    assert target.hours == pytest.approx((target.train_s + target.infer_s) / 3600)
    assert target.timing.startswith(f"not measured: estimated {floor * 1e3:.3g} ms per step (latency floor;")
    assert f"{floor * 1e3:.3g}" == "6.5"


@pytest.mark.quick
def test_a_measured_row_times_the_step_and_only_its_key(tmp_path):
    cfg = load_condition(TINY / "none.yaml")
    assert encoder_shape(cfg) == TINY_SHAPE
    unmeasured = build_plan(cfg, tmp_path / "runs", Assumptions(table=())).step_of("target")
    row = _row(tokens_per_step=500.0, seconds_per_step=0.25)  # more tokens than the step's: no extra time
    plan = build_plan(cfg, tmp_path / "runs", Assumptions(table=(row,)))
    target = plan.step_of("target")  # pos, batch 8 × 48 on the CPU (the preset's device)
    assert target.tokens_per_step < 500
    assert target.measured == row and target.source == "measured"
    assert target.train_s == pytest.approx(target.train_steps * 0.25)
    assert target.infer_s == pytest.approx(unmeasured.infer_s)  # evaluation stays estimated
    assert "measured: 250 ms per step at 500 tokens on CPU Test CPU, 1 thread (2026-01-01" in target.timing
    # fewer measured tokens than the step feeds: the difference costs its FLOP time on top
    small = _row(tokens_per_step=100.0)
    t2 = build_plan(cfg, tmp_path / "runs", Assumptions(table=(small,))).step_of("target")
    extra = (t2.tokens_per_step - 100) * 6 * N / 5e10
    assert t2.train_s == pytest.approx(t2.train_steps * (0.25 + extra))
    # another batch size, precision or device: not this key, so not measured
    for other in (_row(batch_size=16), _row(precision="bf16"), _row(device="cuda", device_name="H100")):
        step = build_plan(cfg, tmp_path / "runs", Assumptions(table=(other,))).step_of("target")
        assert step.measured is None and step.train_s == pytest.approx(unmeasured.train_s)


@pytest.mark.quick
def test_jobs_and_their_requests(tmp_path):
    cfgs = [load_condition(TINY / "none.yaml"), load_condition(TINY / "mlm.yaml")]
    row = _row()
    plan = build_plan(cfgs, tmp_path / "runs", Assumptions(table=(row,)))
    assert [j.label for j in plan.jobs] == ["phase i (none)", "none seed 1", "mlm seed 1"]
    none, mlm = plan.job_of("none seed 1"), plan.job_of("mlm seed 1")
    assert [s.kind for s in none.steps] == ["target", "target"]  # pos and ner; phase i is its own job
    assert none.measured  # both targets are tagging, batch 8 × 48: measured
    assert not mlm.measured  # its continued-MLM step has no row
    a = plan.assumptions
    for j in plan.jobs:
        assert j.hours == pytest.approx(sum(s.hours for s in j.steps))
        margin = 1.3 if j.measured else 2.0
        assert j.request_min == 10 * math.ceil((j.hours * 3600 * margin + 900) / 600)
        assert j.request_min == request_minutes(j.hours * 3600, j.measured, a)
    assert plan.timeout_min == max(j.request_min for j in plan.jobs)


@pytest.mark.quick
def test_plan_device_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="plan device 'tpu' is unknown; allowed: cuda, cpu"):
        build_plan(load_condition(TINY / "none.yaml"), tmp_path, Assumptions(device="tpu"))


def _xit(args, tmp_path, env_extra=None):
    hf = tmp_path / "hf"
    hf.mkdir(exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(hf), **(env_extra or {})}
    env.pop("XIT_PARAMS_ROOT", None)
    env.pop("XIT_CCGBANK", None)
    return subprocess.run(
        [sys.executable, "-m", "xitcore.cli", "--runs-dir", str(tmp_path / "runs"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_paper_grid_dry_run_jobs_requests_and_requirements(tmp_path):
    p = _xit(["grid", "paper", "--dry-run", "--account", "proj", "--sbatch", "constraint=h100"], tmp_path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert not (tmp_path / "runs").exists()
    # CCGbank stated once, in the requirements, naming both conditions; nothing repeated among the warnings
    req = out.split("\nrequirements:\n")[1].split("\n\n")[0].splitlines()
    ccg = [l for l in req if "CCGbank" in l]
    assert len(ccg) == 1 and "en-ccg, en-multitask" in ccg[0] and "LDC" in ccg[0] and "XIT_CCGBANK" in ccg[0]
    assert "not set here" in ccg[0]
    assert any(l.strip().startswith("hub:") and "HF_HUB_OFFLINE=1" in l for l in req)
    warnings = out.split("\nwarnings:\n")[1].split("\n\n")[0].splitlines() if "\nwarnings:\n" in out else []
    assert len(warnings) == len(set(warnings)) and not any("size unknown" in w for w in warnings[1:])
    assert "has no hub backend" not in out  # ccg loads from its local copy whatever the backend
    # one job per (condition, seed) plus phase i, each with its time and request, labelled
    jobs = re.findall(r"^  (\S.*?)\s+(\d+)\s+(\d+:\d\d)\s+(\d+:\d\d)\s+(measured|estimated.*)$", out, re.M)
    from xitcore.config import preset_conditions

    phase_i = [j for j in jobs if j[0].startswith("phase i")]  # one per distinct pre-training set-up (mC4: its own)
    assert 1 <= len(phase_i) <= 2 and len(jobs) - len(phase_i) == len(preset_conditions("paper")) * 3
    assert all(src == "estimated (not measured)" for *_, src in jobs)  # no GPU row for XLM-R Large yet

    def minutes(hm):
        h, m = hm.split(":")
        return 60 * int(h) + int(m)

    for label, _, time, request, _ in jobs:
        assert minutes(request) >= 2 * minutes(time) + 15 - 1, label  # margin 2 for estimates + 15 min start-up
    longest = max(minutes(r) for *_, r, _ in jobs)
    assert f"time to request: --timeout-min {longest} " in out
    assert (
        f"submit: xit grid paper --executor slurm --timeout-min {longest} --account proj --sbatch constraint=h100"
        in out
    )
    multitask = next(j for j in jobs if j[0] == "en-multitask seed 1")
    assert minutes(multitask[2]) > 5 * 60  # 891,669 steps at batch 4 cannot take minutes
    assert "not measured: estimated" in out and "latency floor" in out
    assert "measure it: python scripts/bench_train.py --preset-shape xlmr-large --device cuda --precision bf16" in out
    m = re.search(r"estimated GPU hours: ([\d.]+) in total", out)
    assert m and float(m.group(1)) > 20  # latency-bound: far above the FLOP model's 2.3


def test_grid_timeout_min_must_be_minutes_or_auto(tmp_path):
    p = _xit(["grid", "smoke", "--dry-run", "--timeout-min", "soon"], tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == "xit: error: --timeout-min must be a number of minutes >= 1 or auto, got 'soon'"


@pytest.mark.quick
def test_unknown_sizes_are_one_line_however_many_steps(tmp_path):
    """RTE on the hub (nyu-mll/glue rte) has no size in the plan: the intermediate step of every seed reads it, and
    the warnings say so once, in one line, with every other warning also once."""
    cfg = load_condition(REPO / "params/smoke/en-nli.yaml", {"backend": "hub", "seeds": [1, 2, 3]})
    plan = build_plan(cfg, tmp_path / "runs", Assumptions(table=()))
    assert len([s for s in plan.steps if s.kind == "intermediate"]) == 3
    unknown = [w for w in plan.warnings if "size unknown" in w]
    assert len(unknown) == 1 and unknown[0].endswith("nli (hub: nyu-mll/glue/rte split=train)")
    assert len(plan.warnings) == len(set(plan.warnings))
    assert any("size unknown to the plan: 30 words per example assumed" in d for d in plan.datasets)


@pytest.mark.quick
def test_machine_translation_time_is_flagged_as_not_counted(tmp_path):
    cfg = load_condition(REPO / "params/paper/mt-mnli.yaml")
    plan = build_plan(cfg, tmp_path / "runs", Assumptions(table=()))
    (w,) = [w for w in plan.warnings if "machine translation" in w]
    assert w.startswith(f"mt-mnli: machine translation of the intermediate data ({cfg.intermediate.mt_model}")
    assert "not in these times" in w
    plain = build_plan(load_condition(REPO / "params/paper/en-mnli.yaml"), tmp_path / "runs", Assumptions(table=()))
    assert not any("machine translation" in w for w in plain.warnings)
