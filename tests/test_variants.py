"""Variants never overwrite: a condition's results are those of its params file as committed; a --set, a seed
outside the file's list or a --name makes a variant <condition>~<suffix>, indexed beside it (config.Origin)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, TINY

from xitcore.config import load_condition
from xitcore.errors import ConfigError
from xitcore.pipeline import run_condition
from xitcore.results import load_results


@pytest.mark.quick
def test_what_makes_a_variant_and_its_name():
    assert load_condition(TINY / "none.yaml").condition == "none"
    # Seeds from the file's list and execution-only keys compute the same thing: the condition itself.
    same = load_condition(TINY / "none.yaml", {"seeds": [1], "num_threads": 2, "device": "cpu"})
    assert same.condition == "none" and not same.origin.variant
    lr = load_condition(TINY / "none.yaml", {"target": {"lr": 0.01}})
    assert lr.condition == "none~lr-0.01" and lr.origin.overrides == {"target.lr": 0.01}
    both = load_condition(TINY / "none.yaml", {"mlm": {"steps": 5}, "intermediate": {"steps": 9}})
    assert both.condition == "none~intermediate.steps-9_mlm.steps-5"  # two keys end in "steps": whole keys
    seeds = load_condition(TINY / "none.yaml", {"seeds": [1, 4]})
    assert seeds.condition == "none~extra-seeds" and seeds.origin.overrides == {"seeds": [4]}
    named = load_condition(TINY / "none.yaml", {"target": {"lr": 0.01}}, name="hot")
    assert named.condition == "none~hot"
    # An override equal to the file's value changes nothing.
    assert load_condition(TINY / "none.yaml", {"target": {"lr": lr.target.lr / 10}}).condition == "none"
    with pytest.raises(ConfigError, match="variant name 'a b' is not allowed"):
        load_condition(TINY / "none.yaml", name="a b")


@pytest.fixture
def runs(tiny_runs, tmp_path):
    """A copy of the shared tiny run store (condition tiny/none, seed 1), so a test may add to it."""
    dest = tmp_path / "runs"
    shutil.copytree(tiny_runs, dest)
    return dest


def test_a_set_variant_leaves_the_condition_unchanged(runs):
    index = runs / "index" / "tiny" / "none.json"
    before_index, before = index.read_bytes(), load_results(runs)  # (other tests may have left variants)
    run_condition(load_condition(TINY / "none.yaml", {"target": {"lr": 0.01}}), runs)
    assert index.read_bytes() == before_index
    variant = json.loads((runs / "index" / "tiny" / "none~lr-0.01.json").read_text())
    assert variant["variant_of"] == "none" and variant["overrides"] == {"target.lr": 0.01}
    assert variant["params_file"] == "tests/fixtures/params/tiny/none.yaml"
    after = load_results(runs)
    assert after.equals(before) and after.attrs["variants"] == sorted({*before.attrs["variants"], "tiny/none~lr-0.01"})
    both = load_results(runs, variants=True)
    assert set(both.condition) >= {"none", "none~lr-0.01"}
    row = both[both.condition == "none~lr-0.01"].iloc[0]
    assert row.variant_of == "none" and row.overrides == "target.lr=0.01" and len(row.config) == 8
    assert both[both.condition == "none"].config.iloc[0] != row.config
    # The variant really trained with its own setting: different target steps, different POS scores.
    pos = both[(both.task == "pos") & (both.language == "avg") & (both.metric == "accuracy")]
    assert pos.set_index("condition").run["none"] != pos.set_index("condition").run["none~lr-0.01"]


def test_seeds_outside_the_params_file_never_enter_the_condition(runs):
    index = runs / "index" / "tiny" / "none.json"
    idx = json.loads(index.read_text())
    idx["seeds"]["4"] = idx["seeds"]["1"]  # as an older xit wrote an extra seed into the condition
    index.write_text(json.dumps(idx))
    df = load_results(runs)
    assert set(df[df.condition == "none"].seed) == {0, 1}  # 0: the seed-independent MLM rows


def test_a_deleted_params_file_retires_the_condition_and_keeps_its_runs(runs, tmp_path, capsys):
    params = tmp_path / "params" / "none.yaml"
    params.parent.mkdir()
    shutil.copy(TINY / "none.yaml", params)
    index = runs / "index" / "tiny" / "none.json"
    idx = json.loads(index.read_text())
    index.write_text(json.dumps({**idx, "params_file": str(params)}))
    assert "none" in set(load_results(runs).condition)
    params.unlink()
    steps = sorted(p for p in runs.rglob("metrics.json"))
    df = load_results(runs)
    assert "none" not in set(df.condition)
    assert df.attrs["retired"] == [f"tiny/none: its params file {params} no longer exists; its runs are kept"]
    assert "left out of the results" in capsys.readouterr().err
    assert sorted(p for p in runs.rglob("metrics.json")) == steps and index.is_file()


def test_a_variant_name_taken_by_another_config_is_refused_before_anything_runs(runs):
    run_condition(load_condition(TINY / "none.yaml", {"target": {"lr": 0.01}}, name="mine"), runs)
    listing = sorted(p.relative_to(runs) for p in runs.rglob("*"))
    with pytest.raises(ConfigError, match=r"variant tiny/none~mine is already indexed with another config"):
        run_condition(load_condition(TINY / "none.yaml", {"target": {"lr": 0.02}}, name="mine"), runs)
    assert sorted(p.relative_to(runs) for p in runs.rglob("*")) == listing


def test_the_cli_shows_variants_only_when_asked(runs):
    others = len(load_results(runs).attrs["variants"])  # left by other tests in the shared store
    run_condition(load_condition(TINY / "none.yaml", {"seeds": [1]}, name="again"), runs)  # same config
    env = {**os.environ, "XIT_PARAMS_ROOT": str(REPO / "tests/fixtures/params")}

    def xit(*args):
        cmd = [sys.executable, "-m", "xitcore.cli", "--runs-dir", str(runs), *args]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)

    plain = xit("results")
    assert plain.returncode == 0 and "none~again" not in plain.stdout
    assert f"{others + 1} variant(s) not shown" in plain.stdout
    shown = xit("results", "--variants")
    lines = shown.stdout.splitlines()
    assert shown.returncode == 0 and any(line.startswith("none~again") for line in lines)
    config = {line.split()[0]: line.split()[1] for line in lines if line.startswith("none")}
    assert config["none"] == config["none~again"]  # the same config: the same identity
    bad = xit("run", str(TINY / "none.yaml"), "--name", "no spaces", "--dry-run")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "variant name" in bad.stderr
