"""scripts/bench_train.py with tiny settings: both frameworks measured, a ratio printed, JSON written."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


def test_bench_prints_both_numbers_and_ratio_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "scripts/bench_train.py", "--preset-shape", "tiny", "--steps", "2", "--warmup-steps", "1",
           "--threads", "1", "--languages", "en", "--max-sentences", "300", "--cache-dir", str(tmp_path / "cache"),
           "--out", str(out)]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(out.read_text())
    rows = {(r["workload"], r["framework"]): r for r in res["rows"]}
    assert set(rows) == {(w, f) for w in ("mlm", "tagging") for f in ("xit", "hf-trainer")}
    for (w, f), r in rows.items():
        assert r["steps"] == 2 and r["real_tokens"] > 0 and r["tokens_per_second"] > 0
        assert re.search(rf"^{w}\s*\| {f}\s*\| 2\s*\| 8\s*\| {r['real_tokens']}\s", p.stdout, re.M), p.stdout
        assert "mfu" not in r  # CPU: no MFU
    # Ours packs MLM blocks: every timed token is real (2 steps x 8 rows x 48); HF pads sentences per batch.
    assert rows["mlm", "xit"]["real_tokens"] == 2 * 8 * 48 and rows["mlm", "xit"]["pad_share"] == 0
    assert rows["mlm", "hf-trainer"]["real_tokens"] < rows["mlm", "hf-trainer"]["padded_tokens"]
    for w in ("mlm", "tagging"):
        ratio = rows[w, "xit"]["tokens_per_second"] / rows[w, "hf-trainer"]["tokens_per_second"]
        assert abs(res["ratio_xit_over_hf"][w] - ratio) < 1e-3
        assert f"{w}: ratio xit / HF Trainer = {ratio:.2f}x" in p.stdout
    assert "non-pad" in res["tokens_counted"]


def test_bench_rejects_cuda_without_a_gpu_in_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    p = subprocess.run([sys.executable, "scripts/bench_train.py", "--device", "cuda"], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1].endswith("--device cuda: no CUDA device here; allowed: cpu")
