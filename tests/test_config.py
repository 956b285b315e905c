"""Bad params get one clear error line naming the key and what is allowed; nothing is written."""

import subprocess
import sys

import pytest
from conftest import REPO, TINY

from xitcore.config import load_condition, parse_override, preset_conditions
from xitcore.errors import ConfigError

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

BAD = [
    ({"modle": {"hidden_size": 8}}, "params key 'modle' is unknown"),
    ({"model": {"hiden_size": 8}}, "params key 'model.hiden_size' is unknown"),
    ({"model": {"hidden_size": "big"}}, "params key 'model.hidden_size' must be an integer"),
    ({"mlm": {"lr": "fast"}}, "params key 'mlm.lr' must be a number"),
    ({"seeds": 3}, "params key 'seeds' must be a list"),
    ({"seeds": ["a"]}, "params key 'seeds[0]' must be an integer"),
    ({"intermediate": {"kind": "task", "tasks": ["squad2"]}}, "intermediate task 'squad2' is unknown; allowed:"),
    ({"intermediate": {"kind": "magic"}}, "intermediate.kind 'magic' is unknown; allowed: none, task, multitask, mlm"),
    ({"intermediate": {"kind": "task", "tasks": ["nli"], "data": "translated"}}, "has no translated variant"),
    ({"eval": {"pos_languages": ["xx"]}}, "eval.pos_languages: language 'xx' is unknown; allowed:"),
    ({"eval": {"ner_languages": ["de"]}}, "eval.ner_languages: language 'de' is unknown"),
    ({"target": {"tasks": ["parsing"]}}, "target task 'parsing' is unknown; allowed: pos, ner"),
    ({"device": "tpu"}, "device 'tpu' is unknown"),
    ({"target": {"task_epochs": {"parsing": 1.0}}}, "target.task_epochs: task 'parsing' is unknown; allowed: pos, ner"),
    ({"target": {"task_epochs": {"ner": "one"}}}, "params key 'target.task_epochs.ner' must be a number"),
    ({"target": {"task_epochs": {"ner": 0}}}, "target.task_epochs.ner must be > 0"),
    ({"target": {"task_epochs": [1.0]}}, "params key 'target.task_epochs' must be a mapping"),
    ({"model": {"hidden_size": 30, "num_heads": 4}}, "must be divisible"),
]


@pytest.mark.parametrize("override,message", BAD)
def test_bad_params_raise_one_line(override, message):
    with pytest.raises(ConfigError) as e:
        load_condition(TINY / "none.yaml", override)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_every_shipped_condition_resolves():
    from xitcore.config import preset_conditions

    conds = preset_conditions("smoke")
    assert len(conds) >= 10
    names = set()
    for p in conds:
        cfg = load_condition(p)
        assert cfg.preset == "smoke" and len(cfg.seeds) >= 3
        names.add(cfg.condition)
    assert {"no-intermediate", "en-multitask", "ml-mlm"} <= names
    assert sum(n.startswith("en-") for n in names) >= 5


def test_per_task_epochs_override_the_shared_value():
    cfg = load_condition(TINY / "none.yaml", {"target": {"epochs": 2.0, "task_epochs": {"ner": 1}}})
    assert cfg.target.epochs_for("ner") == 1.0 and cfg.target.epochs_for("pos") == 2.0
    assert parse_override("target.task_epochs.ner=0.5") == {"target": {"task_epochs": {"ner": 0.5}}}


def test_override_parsing():
    assert parse_override("mlm.steps=7") == {"mlm": {"steps": 7}}
    assert parse_override("target.tasks=[pos]") == {"target": {"tasks": ["pos"]}}
    with pytest.raises(ConfigError, match="preset 'huge' is unknown"):
        preset_conditions("huge")


def test_missing_and_malformed_params_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_condition(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("intermediate: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_condition(bad)
    code = tmp_path / "code.yaml"
    code.write_text("seeds: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError):  # safe_load refuses python tags
        load_condition(code)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "TINY/none.yaml", "--set", "model.hiden_size=3"], "params key 'model.hiden_size' is unknown"),
        (["run", "TINY/none.yaml", "--set", "eval.pos_languages=[klingon]"], "language 'klingon' is unknown"),
        (["run", "TINY/none.yaml", "--seeds", "a,b"], "--seeds must be comma-separated integers"),
        (["preset", "smoke", "--only", "en-foo"], "condition(s) en-foo unknown"),
        (["run", "TINY/nothere.yaml"], "does not exist"),
    ],
)
def test_cli_bad_input_exit_2_and_nothing_written(tmp_path, args, needle):
    runs = tmp_path / "runs"
    args = [a.replace("TINY", str(TINY)) for a in args]
    p = subprocess.run(
        [sys.executable, "-m", "xitcore.cli", "--runs-dir", str(runs), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("xit: error: ") and needle in lines[0], p.stderr
    assert not runs.exists()


def test_dry_run_prints_plan(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "xitcore.cli",
            "--runs-dir",
            str(tmp_path / "r"),
            "run",
            str(REPO / "params/smoke/en-multitask.yaml"),
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert "intermediate multitask nli+sentiment+qa+copa+deprel" in p.stdout
    assert not (tmp_path / "r").exists()
