"""A chapter re-executed by hand, as the reproducibility page shows it: the papermill command line on the
committed twin ``notebooks/condition.ipynb`` (nothing to convert first), on real run records (the tiny
preset's settings under paper-preset names, ``tests/book_runs.py``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from book_runs import NOT_RUN, paper_runs, pos_accuracy
from conftest import REPO, TINY, listing_changes, store_listing

from xitcore.pipeline import LOG_PREFIX

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def paper(tiny_runs, tmp_path_factory):
    return paper_runs(tiny_runs, tmp_path_factory)


@pytest.fixture(scope="module")
def condition_ipynb():
    """The design card's notebook, as cloned: ``papermill notebooks/condition.ipynb ...`` from the root."""
    return Path("notebooks/condition.ipynb")


def _papermill(notebook, out, *args, runs=None):
    env = dict(os.environ, TQDM_DISABLE="1")
    env.pop("XIT_PARAMS_ROOT", None)  # the user's view: params/ of the repository
    env.pop("XIT_RUNS", None)
    if runs is not None:
        env["XIT_RUNS"] = str(runs)  # the store the CLI would read, set in the user's shell
    return subprocess.run(
        [str(BIN / "papermill"), str(notebook), str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _outputs(path):
    nb = json.loads(Path(path).read_text())
    return [o for c in nb["cells"] for o in c.get("outputs", [])]


def test_paper_chapter_from_its_params_file(paper, condition_ipynb, tmp_path):
    """``-f params/paper/en-qa.yaml`` injects every key of the file (``backend: local``, ``seeds``,
    ``intermediate``, ...); the chapter reads preset from it, and the runs from ``runs_dir``. The runs were made
    with ``--set`` options, so they are a variant, ``en-qa~<suffix>``: ``-p condition`` names its index."""
    _, runs = paper
    out = tmp_path / "en-qa.ipynb"
    variant = next((runs / "index" / "paper").glob("en-qa~*.json")).stem
    before = store_listing(runs)
    p = _papermill(
        condition_ipynb, out, "-f", "params/paper/en-qa.yaml", "-p", "runs_dir", str(runs), "-p", "condition", variant
    )
    assert p.returncode == 0, p.stderr[-3000:]
    outputs = _outputs(out)
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = json.dumps(outputs)
    assert f"{pos_accuracy(runs, 'en-qa', 'de'):.1f}" in text  # the number of the run record, as the table shows
    assert "XQuAD English" in text and "runs/target/" in text and "punct-majority" in text  # baselines beside
    # nothing was run: no pipeline log line in the outputs (test_a_pipeline_call_leaves_its_log_line shows that
    # one would be there), and the run store is as it was (a cached run_condition would rewrite the index)
    assert LOG_PREFIX not in text
    changes = listing_changes(before, store_listing(runs))
    assert not changes, "the chapter changed the run store:\n" + "\n".join(changes)


def test_a_pipeline_call_leaves_its_log_line(tiny_runs, capsys):
    """The control for the check above: ``run_condition`` prints its ``[xit]`` lines on stdout, where papermill
    keeps a cell's output, even when every step is reused and with progress bars off."""
    from xitcore.config import load_condition
    from xitcore.pipeline import run_condition

    run_condition(load_condition(TINY / "none.yaml"), tiny_runs)
    out = capsys.readouterr().out
    assert f"{LOG_PREFIX} condition tiny/none done in" in out


def test_the_design_cards_command_reads_the_clis_store(paper, condition_ipynb, tmp_path):
    """``papermill notebooks/condition.ipynb out.ipynb -p condition ...`` with no other step and no runs_dir:
    the chapter reads ``$XIT_RUNS`` as ``xit`` does (else the project's runs/)."""
    _, runs = paper
    out = tmp_path / "en-qa.ipynb"
    variant = next((runs / "index" / "paper").glob("en-qa~*.json")).stem
    p = _papermill(condition_ipynb, out, "-p", "preset", "paper", "-p", "condition", variant, runs=runs)
    assert p.returncode == 0, p.stderr[-3000:]
    text = json.dumps(_outputs(out))
    assert f"{pos_accuracy(runs, 'en-qa', 'de'):.1f}" in text and "runs/target/" in text
    assert "Passed unknown parameter" not in p.stderr


def test_chapter_without_runs_fails_with_one_line(paper, condition_ipynb, tmp_path):
    _, runs = paper
    out = tmp_path / "missing.ipynb"
    p = _papermill(
        condition_ipynb, out, "-p", "preset", "paper", "-p", "condition", NOT_RUN, "-p", "runs_dir", str(runs)
    )
    assert p.returncode != 0
    line = (
        f"MissingRuns: no runs for paper/{NOT_RUN} in {runs}: run  xit --runs-dir {runs} "
        f"run params/paper/{NOT_RUN}.yaml  first"
    )
    assert p.stderr.strip().splitlines()[-1] == line
    errors = [o for o in _outputs(out) if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["traceback"] == [line]  # no traceback: the line alone


def test_a_parameter_the_chapter_does_not_take_fails_with_one_line(paper, condition_ipynb, tmp_path):
    """papermill only warns about an unknown parameter (and would run on); the chapter stops with one line."""
    _, runs = paper
    out = tmp_path / "seed.ipynb"
    args = ["-p", "preset", "paper", "-p", "condition", "en-qa", "-p", "runs_dir", str(runs), "-p", "seed", "1"]
    p = _papermill(condition_ipynb, out, *args)
    assert p.returncode != 0
    line = (
        "ChapterParameterError: chapter parameter 'seed' is unknown; allowed: preset, condition, runs_dir (and, "
        "with papermill -f, the keys of that condition's params file at their committed values)"
    )
    assert p.stderr.strip().splitlines()[-1] == line
    errors = [o for o in _outputs(out) if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["traceback"] == [line]
