"""A damaged run record loses nothing else: results and `xit results` name it and the command that redoes it."""

import json

import pytest
from conftest import TINY

from xitcore.results import load_results, summary_table
from xitcore.runstore import RunStore, atomic_write_json

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)


def _small_store(runs):
    """Two conditions of the tiny preset, written through the run store with made-up numbers (no training)."""
    store = RunStore(runs)
    mlm = store.run("mlm", {"c": 0}, lambda w: {"final_heldout_loss": 5.0, "initial_heldout_loss": 7.0})
    tat = store.run("tatoeba", {"c": 0}, lambda w: {"top1": {"de": 40.0}, "avg": 40.0})
    for cond, shift in (("none", 0.0), ("mlqa", 1.0)):
        pos = store.run(
            "target",
            {"t": "pos", "c": cond},
            lambda w, shift=shift: {
                "languages": {
                    "en": {"accuracy": 90.0 + shift, "seqeval_f1": 80.0},
                    "de": {"accuracy": 60.0 + shift, "seqeval_f1": 50.0},
                }
            },
        )
        ner = store.run(
            "target",
            {"t": "ner", "c": cond},
            lambda w, shift=shift: {
                "languages": {
                    "es": {"span_f1": 40.0 + shift, "span_f1_strict": 45.0, "precision": 40.0, "recall": 40.0}
                }
            },
        )
        atomic_write_json(
            runs / "index" / "tiny" / f"{cond}.json",
            {
                "preset": "tiny",
                "condition": cond,
                "mlm": mlm.rel,
                "tatoeba": {"mlm": tat.rel},
                "seeds": {"1": {"intermediate": None, "tatoeba": {}, "targets": {"pos": pos.rel, "ner": ner.rel}}},
            },
        )
    return store


def test_results_keep_every_other_row_and_name_the_damaged_step(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XIT_PARAMS_ROOT", str(TINY.parent))
    runs = tmp_path / "runs"
    _small_store(runs)
    before = load_results(runs, report=False)
    idx = json.loads((runs / "index/tiny/none.json").read_text())
    bad = runs / idx["seeds"]["1"]["targets"]["pos"] / "metrics.json"
    bad.write_text(bad.read_text()[:25])  # cut short, as by an interrupted copy
    capsys.readouterr()

    df = load_results(runs)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and df.attrs["damaged"] == err
    line = err[0]
    assert str(bad) in line and "target pos" in line and "does not parse (JSONDecodeError" in line
    # the params file as typed from the working directory (the repository root under pytest), else absolute
    params = [f"{TINY / 'none.yaml'}", "tests/fixtures/params/tiny/none.yaml"]
    assert any(line.endswith(f"; redo it with: xit --runs-dir {runs} run {p} --seeds 1") for p in params), line
    # every other row is there: only the 6 rows of the damaged step (en, de, avg x 2 metrics) are missing
    lost = before[(before.condition == "none") & (before.task == "pos")]
    assert len(lost) == 6
    assert len(df) == len(before) - len(lost)
    key = ["condition", "task", "language", "metric"]
    kept = before.drop(lost.index).set_index(key).value
    assert df.set_index(key).value.sort_index().equals(kept.sort_index())

    # the same line is not repeated when the same process reads the store again (xit results reads twice)
    summary = summary_table(runs, "tiny")
    assert capsys.readouterr().err == ""
    assert summary.loc["mlqa", "de"] == "61.0" and summary.loc["none", "NER F1 avg (conlleval)"] == "40.0"
    assert summary.loc["none", "NER F1 avg (strict IOB2)"] == "45.0"


def test_xit_results_prints_the_other_rows_and_one_line(tmp_path, monkeypatch, capsys):
    from xitcore.cli import main

    monkeypatch.setenv("XIT_PARAMS_ROOT", str(TINY.parent))
    runs = tmp_path / "runs"
    store = _small_store(runs)
    mlm = store.all_steps("mlm")[0]
    (mlm.path / "metrics.json").write_text("")  # an empty file: a copy that never arrived
    capsys.readouterr()
    assert main(["--runs-dir", str(runs), "results", "--preset", "tiny", "--csv"]) == 0
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"{mlm.path / 'metrics.json'} (mlm)" in lines[0]
    # a shared step: one line, with the command of one condition and a note on the other one
    assert "redo it with: xit --runs-dir" in lines[0] and "(or the same for 1 other condition(s)" in lines[0]
    assert "mlm,mlm" not in out and out.count("\n") == 1 + 2 * (6 + 2 * 2 + 2)  # header + pos, ner, tatoeba rows

    # xit run's store redoes the step and keeps the bad file aside
    assert not mlm.done
    store.run("mlm", {"c": 0}, lambda w: {"final_heldout_loss": 4.0}, log=lambda m: None)
    assert mlm.done and [p.read_text() for p in mlm.path.glob("metrics.json.damaged-*")] == [""]
    assert load_results(runs).attrs["damaged"] == []


def test_a_damaged_condition_index_is_named_and_the_other_condition_kept(tmp_path, capsys):
    runs = tmp_path / "runs"
    _small_store(runs)
    (runs / "index/tiny/mlqa.json").write_text("{")
    df = load_results(runs)
    assert set(df.condition) == {"none"}
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "index/tiny/mlqa.json (condition index; all its rows)" in line and "mlqa.yaml" in line


def test_ner_records_from_before_both_modes_are_shown_as_strict(tmp_path):
    runs = tmp_path / "runs"
    store = RunStore(runs)
    ner = store.run("target", {"t": "ner"}, lambda w: {"languages": {"es": {"span_f1": 42.0, "precision": 1.0}}})
    atomic_write_json(
        runs / "index" / "p" / "c.json",
        {"preset": "p", "condition": "c", "seeds": {"1": {"targets": {"ner": ner.rel}}}},
    )
    df = load_results(runs)
    assert sorted(zip(df.language, df.metric, df.value)) == [
        ("avg", "span_f1_strict", 42.0),
        ("es", "span_f1_strict", 42.0),
    ]


if __name__ == "__main__":
    pytest.main([__file__])
