"""Run store: keyed by config hash, finished steps skipped, failures leave no metrics, atomic writes."""

import json

import pytest

from xitcore.runstore import RunStore, atomic_write_json

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


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

    with pytest.raises(ValueError, match="cannot serialise"):
        atomic_write_json(target, {"x": Unserialisable()})
    assert json.loads(target.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_damaged_metrics_is_unfinished_and_set_aside_on_rerun(tmp_path):
    from xitcore.runstore import DamagedRecordError

    store = RunStore(tmp_path)
    calls = []

    def fn(work):
        calls.append(1)
        (work / "model.bin").write_bytes(b"weights %d" % len(calls))
        return {"acc": 0.5 * len(calls)}

    step = store.run("target", {"lr": 1}, fn)
    other = store.run("target", {"lr": 2}, fn)
    assert step.done and calls == [1, 1]
    (step.path / "metrics.json").write_text('{"acc": 0.')  # a partial copy
    assert not step.done and step.damaged.startswith("JSONDecodeError")
    assert other.done and other.metrics() == {"acc": 1.0}  # the other step is untouched
    with pytest.raises(DamagedRecordError, match="metrics.json does not parse"):
        step.metrics()
    logged = []
    again = store.run("target", {"lr": 1}, fn, log=logged.append)
    assert calls == [1, 1, 1] and again.done and again.metrics() == {"acc": 1.5} and again.damaged is None
    aside = sorted(p.name for p in step.path.glob("metrics.json.damaged-*"))
    assert len(aside) == 1 and (step.path / aside[0]).read_text() == '{"acc": 0.'  # kept, not deleted
    assert len(logged) == 1 and "does not parse" in logged[0] and aside[0] in logged[0]
    assert store.run("target", {"lr": 1}, fn) and calls == [1, 1, 1]  # finished again: reused


def test_metrics_that_parse_to_a_non_object_are_damaged_too(tmp_path):
    store = RunStore(tmp_path)
    step = store.run("mlm", {"a": 1}, lambda w: {"loss": 1.0})
    (step.path / "metrics.json").write_text("null")
    assert not step.done and "not an object" in step.damaged
    (step.path / "metrics.json").write_bytes(b"\xff\xfe")
    assert not step.done and step.damaged.startswith("UnicodeDecodeError")
    store.run("mlm", {"a": 1}, lambda w: {"loss": 2.0}, log=lambda m: None)
    store.run("mlm", {"a": 1}, lambda w: {"loss": 3.0}, log=lambda m: None)  # finished: nothing moved
    assert step.metrics() == {"loss": 2.0} and len(list(step.path.glob("metrics.json.damaged-*"))) == 1
