"""End to end on the tiny preset (real shipped data, tiny model): all phases, resume, reuse, results table."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TINY, listing_changes, store_listing

from xitcore.config import load_condition
from xitcore.pipeline import run_condition
from xitcore.results import load_results
from xitcore.runstore import RunStore


@pytest.mark.quick
def test_no_intermediate_condition_end_to_end(tiny_runs):
    idx = json.loads((tiny_runs / "index/tiny/none.json").read_text())
    mlm = json.loads((tiny_runs / idx["mlm"] / "metrics.json").read_text())
    assert mlm["final_heldout_loss"] < mlm["initial_heldout_loss"]  # 4 steps still move the loss
    assert mlm["unigram_entropy"] > 0
    meta = json.loads((tiny_runs / idx["mlm"] / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["versions"]["torch"] and meta["git_sha"]
    pos = json.loads((tiny_runs / idx["seeds"]["1"]["targets"]["pos"] / "metrics.json").read_text())
    assert set(pos["languages"]) == {"en", "de"}
    for m in pos["languages"].values():
        assert 0 <= m["accuracy"] <= 100 and m["words"] > 1000  # every word of the evaluation half is scored
    ner = json.loads((tiny_runs / idx["seeds"]["1"]["targets"]["ner"] / "metrics.json").read_text())
    assert set(ner["languages"]) == {"es"}
    corpus = json.loads((tiny_runs / idx["corpus"] / "metrics.json").read_text())
    assert set(corpus["languages"]) == {"en", "de", "es"}
    df = load_results(tiny_runs)
    got = set(zip(df.condition, df.task))
    assert {("none", "pos"), ("none", "ner"), ("none", "tatoeba"), ("baseline:punct-majority", "pos")} <= got
    assert df[(df.condition == "none") & (df.task == "pos")].run.str.startswith("runs/target/").all()


def test_intermediate_conditions_share_phase_one(tiny_runs):
    before = {s.rel for s in RunStore(tiny_runs).all_steps("mlm")}
    for name in ("multi", "mlqa", "mlm"):
        idx = run_condition(load_condition(TINY / f"{name}.yaml"), tiny_runs)
        inter = json.loads((tiny_runs / idx["seeds"]["1"]["intermediate"] / "metrics.json").read_text())
        assert inter["phase"] == "intermediate"
        if name == "multi":
            assert set(inter["tasks"]) == {"qa", "copa", "deprel", "nli"}
            assert "it" in inter["xcopa"]
        if name == "mlqa":
            assert len(inter["tasks"]["qa"]["languages"]) == 11 and "en" not in inter["tasks"]["qa"]["languages"]
    assert {s.rel for s in RunStore(tiny_runs).all_steps("mlm")} == before  # MLM reused, not redone
    df = load_results(tiny_runs)
    assert {"multi", "mlqa", "mlm"} <= set(df.condition)
    assert set(df[df.condition == "multi"].phase) >= {"intermediate", "target", "mlm"}


@pytest.mark.quick
def test_rerun_reuses_every_step(tiny_runs):
    t0 = time.time()
    store = RunStore(tiny_runs)
    stamps = {s.rel: (s.path / "metrics.json").stat().st_mtime for s in store.all_steps()}
    run_condition(load_condition(TINY / "none.yaml"), tiny_runs)
    assert {s.rel: (s.path / "metrics.json").stat().st_mtime for s in store.all_steps()} == stamps
    assert time.time() - t0 < 30


def test_crash_leaves_no_metrics_and_rerun_resumes(tiny_runs, monkeypatch):
    import xitcore.pipeline as pl

    cfg = load_condition(TINY / "none.yaml", {"seeds": [7]})
    real = pl.step_target
    calls = []

    def boom(work):
        raise RuntimeError("simulated crash during phase iii")

    def crashing(store, cfg, source, task, seed, frozen=None):
        calls.append(task)
        node = real(store, cfg, source, task, seed, frozen)
        if task == "ner":
            node.fn = boom
        return node

    monkeypatch.setattr(pl, "step_target", crashing)
    with pytest.raises(RuntimeError):
        run_condition(cfg, tiny_runs)
    monkeypatch.setattr(pl, "step_target", real)
    seven = {s.config()["target"]: s for s in RunStore(tiny_runs).all_steps("target") if s.config()["seed"] == 7}
    assert seven["pos"].done and not seven["ner"].done  # the crash left no metrics.json
    assert json.loads((seven["ner"].path / "meta.json").read_text())["status"] == "failed"
    pos_done = [seven["pos"]]
    stamp = (pos_done[0].path / "metrics.json").stat().st_mtime
    idx = run_condition(cfg, tiny_runs)
    assert (pos_done[0].path / "metrics.json").stat().st_mtime == stamp
    assert (tiny_runs / idx["seeds"]["7"]["targets"]["ner"] / "metrics.json").is_file()


def _untimed(record):
    """A run record without its timings (the only fields two runs of the same step may differ in)."""
    if isinstance(record, dict):
        return {k: _untimed(v) for k, v in record.items() if k not in ("train_seconds", "seconds")}
    if isinstance(record, list):
        return [_untimed(v) for v in record]
    return record


def test_killed_process_resumes_without_redoing_finished_steps(tiny_runs, tmp_path):
    """SIGKILL a real `xit run` in phase iii while its second target step trains, the first one finished. The
    rerun leaves the finished step exactly as it was (not one file rewritten or touched), finishes the other,
    and the condition's results are those of an uninterrupted run of the same command."""
    import shutil

    runs, plain = tmp_path / "runs", tmp_path / "plain"
    shutil.copytree(tiny_runs, runs)  # phase (i) is done there already
    shutil.copytree(tiny_runs, plain)
    over = {"seeds": [11], "target": {"epochs": 40}}
    args = [sys.executable, "-m", "xitcore.cli", "--runs-dir", str(runs), "run", str(TINY / "none.yaml")]
    args += ["--seeds", "11", "--set", "target.epochs=40"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    targets_before = {m.parent for m in runs.glob("target/*/meta.json")}
    steps_before = {k: v for k, v in store_listing(runs).items() if len(Path(k).parts) >= 2 and k[:6] != "index/"}

    def new_targets(status):
        out = []
        for meta in runs.glob("target/*/meta.json"):
            if meta.parent not in targets_before and json.loads(meta.read_text())["status"] == status:
                out.append(meta.parent)
        return out

    p = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.time() + 180
    finished = running = []
    while time.time() < deadline and p.poll() is None:
        finished, running = new_targets("finished"), new_targets("running")
        if finished and running:
            finished_listing = {d: store_listing(d) for d in finished}
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.1)
    out = p.communicate(timeout=30)[0]
    assert finished and running, f"never one target finished and one running: {out[-2000:]}"
    assert p.returncode == -signal.SIGKILL
    (half,) = running
    assert not (half / "metrics.json").exists()  # no half-written result

    # Meanwhile the uninterrupted run: the same condition, seed and --set, in a copy of the same store.
    p2 = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    plain_index = run_condition(load_condition(TINY / "none.yaml", over), plain)
    out2 = p2.communicate(timeout=600)[0]
    assert p2.returncode == 0, out2[-3000:]
    assert (half / "metrics.json").is_file()
    for d, listing in finished_listing.items():  # the finished step was not run again: nothing in it changed
        changes = listing_changes(listing, store_listing(d))
        assert not changes, f"{d.name} was redone:\n" + "\n".join(changes)

    now = store_listing(runs)
    changes = listing_changes(steps_before, {k: now.get(k) for k in steps_before})
    assert not changes, "steps finished before the first run (phase i, ...) changed:\n" + "\n".join(changes)

    index = json.loads(next((runs / "index" / "tiny").glob("none~*.json")).read_text())
    steps, plain_steps = index["seeds"]["11"]["targets"], plain_index["seeds"]["11"]["targets"]
    assert steps == plain_steps and sorted(steps) == ["ner", "pos"]  # the same steps (keys) ...
    assert {runs / rel for rel in steps.values()} == {half, *finished}
    for rel in steps.values():  # ... with the same records
        got, expected = (json.loads((store / rel / "metrics.json").read_text()) for store in (runs, plain))
        assert _untimed(got) == _untimed(expected), rel
    variant = plain_index["condition"]
    rows = [load_results(store, variants=True) for store in (runs, plain)]
    rows = [df[df.condition == variant].reset_index(drop=True) for df in rows]
    assert len(rows[0]) > 5 and rows[0].equals(rows[1])


def test_preset_with_two_workers_runs_each_pretraining_setup_once(tmp_path):
    """`xit preset` with 2 workers: a condition with its own phase i (no MLM steps, the no-pretraining
    control) gets its own MLM step, every (condition, seed) is indexed, and the persistent workers exit
    cleanly (no leaked-semaphore warning)."""
    import shutil

    root = tmp_path / "params"
    (root / "tiny").mkdir(parents=True)
    shutil.copy(TINY / "_preset.yaml", root / "tiny" / "_preset.yaml")
    # Two seeds in the params files themselves: `--seeds` outside a file's list would make variants instead.
    (root / "tiny" / "none.yaml").write_text((TINY / "none.yaml").read_text().replace("seeds: [1]", "seeds: [1, 2]"))
    (root / "tiny" / "nopre.yaml").write_text(
        "preset: tiny\ncondition: nopre\nseeds: [1, 2]\nmlm: {steps: 0}\nintermediate: {kind: none}\n"
    )
    runs = tmp_path / "runs"
    env = {**os.environ, "XIT_PARAMS_ROOT": str(root)}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "xitcore.cli",
            "--runs-dir",
            str(runs),
            "preset",
            "tiny",
            "--jobs",
            "2",
            "--no-book",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert "leaked semaphore" not in p.stderr
    mlm = [json.loads((d / "config.json").read_text())["mlm"]["steps"] for d in (runs / "mlm").iterdir()]
    assert sorted(mlm) == [0, 4]
    for cond in ("none", "nopre"):
        idx = json.loads((runs / "index" / "tiny" / f"{cond}.json").read_text())
        assert sorted(idx["seeds"]) == ["1", "2"]
        assert all(s["targets"]["pos"] for s in idx["seeds"].values())


def test_target_step_result_does_not_depend_on_earlier_random_draws(tiny_runs, tmp_path):
    """Grid workers persist across units: a step must not inherit the random state its predecessors left."""
    import torch

    from xitcore.config import load_condition
    from xitcore.pipeline import step_corpus, step_mlm, step_target, step_tokenizer
    from xitcore.runstore import RunStore

    cfg = load_condition(TINY / "none.yaml")
    store = RunStore(tiny_runs)
    corpus = step_corpus(store, cfg)
    mlm = step_mlm(store, cfg, step_tokenizer(store, cfg, corpus), corpus)
    results = []
    for name, draws in (("a", 1000), ("b", 7)):
        torch.manual_seed(draws)
        torch.rand(draws)
        out = RunStore(tmp_path / name)
        step = out.execute(step_target(out, cfg, mlm, "pos", 1))
        m = json.loads((step.path / "metrics.json").read_text())
        results.append((m["languages"], m["pos_first_loss"], m["pos_last_loss"]))
    assert results[0] == results[1]
