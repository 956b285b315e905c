"""The condition chapter, executed by the papermill CLI against the real pipeline on the tiny preset."""
import json
import os
import subprocess
import sys

from conftest import REPO, TINY


def test_papermill_cli_executes_condition_chapter_on_tiny_runs(tiny_runs, tmp_path):
    out = tmp_path / "none.ipynb"
    env = dict(os.environ, XIT_PARAMS_ROOT=str(TINY.parent), TQDM_DISABLE="1")
    papermill = os.path.join(os.path.dirname(sys.executable), "papermill")
    p = subprocess.run([papermill, "notebooks/condition.ipynb", str(out), "-f", str(TINY / "none.yaml"),
                        "-p", "seeds", "[1]", "-p", "runs_dir", str(tiny_runs), "-p", "device", "cpu"],
                       cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = json.dumps(nb)
    assert "runs/target/" in text and "baseline:punct-majority" in text  # real run records, baselines beside
    assert "done in" in text  # the pipeline ran (steps reused from the session's tiny run store)
