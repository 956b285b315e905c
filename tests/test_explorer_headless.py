"""The explore notebook executes headless (papermill, interactive False) against real tiny runs, in seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_explore_notebook_runs_headless_under_a_time_limit(tiny_runs, tmp_path):
    pytest.importorskip("papermill")
    pytest.importorskip("jupytext")
    bindir = Path(sys.executable).parent
    nb, out = tmp_path / "explore.ipynb", tmp_path / "out.ipynb"
    subprocess.run(
        [str(bindir / "jupytext"), "--to", "ipynb", "-o", str(nb), str(REPO / "notebooks" / "explore.md")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    cmd = [str(bindir / "papermill"), str(nb), str(out), "-p", "preset", "tiny", "-p", "runs_dir", str(tiny_runs)]
    cmd += ["-p", "interactive", "False", "--execution-timeout", "100", "--cwd", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)  # a hang fails here, never blocks CI
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = "".join(
        "".join(o.get("text", "")) for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])
    )
    assert "default selection: task=pos, metric=accuracy, phase=target" in text
    assert "Static rendering (book build)" in text
    pngs = [
        o
        for c in json.loads(out.read_text())["cells"]
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert pngs  # the static figure
