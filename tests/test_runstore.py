"""Run store: keyed by config hash, finished steps skipped, failures leave no metrics, atomic writes."""
import json

import pytest

from xitcore.runstore import RunStore, atomic_write_json


def test_same_payload_same_dir_and_finished_step_is_skipped(tmp_path):
    store = RunStore(tmp_path)
    calls = []

    def fn(work):
        calls.append(1)
        (work / "artefact.txt").write_text("model")
        return {"acc": 0.5}

    a = store.run("target", {"lr": 1, "seed": 1}, fn, seed=1)
    b = store.run("target", {"seed": 1, "lr": 1}, fn, seed=1)  # key order does not matter
    assert a.path == b.path and calls == [1]
    assert a.metrics() == {"acc": 0.5} and (a.path / "artefact.txt").read_text() == "model"
    meta = json.loads((a.path / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["seed"] == 1 and "torch" in meta["versions"]
    assert json.loads((a.path / "config.json").read_text()) == {"lr": 1, "seed": 1}
    c = store.run("target", {"lr": 2, "seed": 1}, fn)
    assert c.path != a.path and calls == [1, 1]


def test_failure_leaves_no_metrics_and_keeps_earlier_results(tmp_path):
    store = RunStore(tmp_path)
    ok = store.run("mlm", {"a": 1}, lambda w: {"loss": 1.0})

    def boom(work):
        (work / "partial.bin").write_bytes(b"half")
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        store.run("target", {"b": 2}, boom)
    step = store.step("target", {"b": 2})
    assert not step.done and not (step.path / "partial.bin").exists()
    assert json.loads((step.path / "meta.json").read_text())["status"] == "failed"
    assert ok.done and ok.metrics() == {"loss": 1.0}
    again = store.run("target", {"b": 2}, lambda w: {"acc": 1})  # rerun completes
    assert again.done


def test_atomic_write_never_leaves_partial_file(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"x": 1})

    class Unserialisable:
        def __repr__(self):
            raise ValueError("cannot serialise")

    with pytest.raises(Exception):
        atomic_write_json(target, {"x": Unserialisable()})
    assert json.loads(target.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
