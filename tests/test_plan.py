"""The paper and gpu-small presets load (or say what they need), and the offline plan's GPU hours follow the
FLOP model: 6·N·tokens to train, 2·N·tokens to infer, at the stated MFU of an H100."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TINY

from xitcore.config import load_condition, preset_conditions
from xitcore.errors import ConfigError
from xitcore.plan import Assumptions, build_plan, non_embedding_params

PAPER = REPO / "params" / "paper"
GPU_SMALL = REPO / "params" / "gpu-small"
SUSTAINED = 989e12 * 0.40  # the plan's default: 40 % MFU of an H100's dense bf16 peak


def _needs(path: Path) -> list[str]:
    return [l[len("# needs:") :].strip() for l in path.read_text().splitlines() if l.startswith("# needs:")]


@pytest.mark.parametrize(
    "path", sorted(PAPER.rglob("*.yaml")) + sorted(GPU_SMALL.glob("*.yaml")), ids=lambda p: str(p.relative_to(REPO))
)
@pytest.mark.quick
def test_preset_yaml_loads_or_says_what_it_needs(path):
    needs = _needs(path)
    try:
        cfg = load_condition(path)
    except ConfigError as e:
        assert needs, f"{path} does not load and has no '# needs:' line: {e}"
        pytest.skip(f"needs {'; '.join(needs)} ({e})")
    assert not needs, f"{path} loads now: move it to params/paper/ and drop its '# needs:' line"
    assert len(cfg.seeds) >= 3 and cfg.device == "cuda"
    if cfg.preset == "paper":
        assert cfg.model.init == "xlm-roberta-large" and cfg.tokenizer.source == "xlm-roberta-large"
        assert non_embedding_params(cfg.model) == 302_309_376  # XLM-R Large: 560M minus 256M of embeddings
        assert cfg.intermediate.lr == 1e-5 and cfg.intermediate.batch_size in (4,)
    else:
        assert cfg.preset == "gpu-small" and cfg.model.init == "scratch" and cfg.backend == "local"


@pytest.mark.quick
def test_preset_shapes():
    smoke = {p.name for p in preset_conditions("smoke")}
    assert {p.name for p in preset_conditions("gpu-small")} == smoke
    paper = {p.stem for p in PAPER.rglob("*.yaml") if not p.name.startswith("_")}
    nine = {
        "en-mnli",
        "en-squad",
        "en-hellaswag",
        "en-anli",
        "en-ccg",
        "en-commonsenseqa",
        "en-cosmosqa",
        "en-qqp",
        "en-sst2",
    }
    assert nine | {"no-intermediate", "en-multitask", "ml-mlm", "ml-qa"} <= paper
    # The grid runs the condition files directly in params/paper/ (preset_conditions). Exactly the ones it skips
    # (any in a subfolder) say what they need: a skipped file without a '# needs:' line, or a file the grid runs
    # with one, fails here.
    grid = set(preset_conditions("paper"))
    skipped = {p for p in PAPER.rglob("*.yaml") if not p.name.startswith("_")} - grid
    assert grid and {p for p in PAPER.rglob("*.yaml") if _needs(p)} == skipped


@pytest.mark.quick
def test_flop_model_matches_hand_computation(tmp_path):
    """The FLOP model (flop_hours: 6·N·tokens to train, 2·N·tokens to infer at the MFU) and, for a step of
    thousands of tokens per optimizer step on a GPU, the time: FLOP-bound there, so both agree."""
    cfg = load_condition(TINY / "mlm.yaml", {"mlm": {"steps": 100, "batch_size": 8}})
    plan = build_plan(cfg, tmp_path / "runs", Assumptions(table=()))
    n = 1 * (4 * 32 * 32 + 2 * 32 * 64 + 9 * 32 + 64)  # 1 layer, hidden 32, ffn 64
    assert plan.n_params == n == 8544

    def hours(flops, sustained=SUSTAINED):
        return flops / sustained / 3600

    assert plan.step_of("mlm").flop_hours == pytest.approx(hours(6 * n * 100 * 8 * 48))
    assert plan.step_of("intermediate").flop_hours == pytest.approx(hours(6 * n * 3 * 4 * 48))  # continued MLM
    # Target POS: 24 EWT sentences × 12.6 words × 2.0 subwords (trained 600-piece tokenizer) + 2 = 27.2 tokens,
    # 1 epoch / batch 8 = 3 steps; zero-shot on 2 PUD halves (500 × 21.4 words) and EWT test (2077 × 12.1 words).
    train = 3 * 8 * (12.6 * 2 + 2)
    infer = 2 * 500 * (21.4 * 2 + 2) + 2077 * (12.1 * 2 + 2)
    assert plan.step_of("target").flop_hours == pytest.approx(hours(6 * n * train + 2 * n * infer))
    assert plan.gpu_hours == pytest.approx(sum(s.hours for s in plan.steps))
    assert {s.kind for s in plan.steps if s.cpu} == {"corpus", "tokenizer", "baselines", "tokens"}
    slow = build_plan(cfg, tmp_path / "runs", Assumptions(mfu=0.2, table=()))
    assert slow.step_of("mlm").flop_hours == pytest.approx(2 * plan.step_of("mlm").flop_hours)
    # the tiny preset says device cpu: its time is CPU time, 6·N·tokens at the assumed CPU FLOP/s
    mlm = plan.step_of("mlm")
    assert mlm.device == "cpu" and mlm.train_s == pytest.approx(6 * n * 100 * 8 * 48 / 5e10)
    # on a GPU, 100 × 8 × 48 tokens × 6N is far under the floor per step: latency-bound, not FLOP-bound
    gpu = build_plan(cfg, tmp_path / "runs", Assumptions(device="cuda", table=())).step_of("mlm")
    assert gpu.train_s > 10 * gpu.flop_hours * 3600
    assert not (tmp_path / "runs").exists()  # planning writes nothing


@pytest.mark.quick
def test_shared_steps_counted_once(tmp_path):
    cfgs = [load_condition(TINY / "none.yaml"), load_condition(TINY / "mlm.yaml")]
    grid = build_plan(cfgs, tmp_path, Assumptions(table=()))
    alone = [build_plan(c, tmp_path, Assumptions(table=())) for c in cfgs]
    mlm = grid.step_of("mlm")
    assert mlm.phase_i and mlm.shared and sorted(mlm.users) == [("mlm", 1), ("none", 1)]
    assert [s.rel for s in grid.steps].count(mlm.rel) == 1
    assert grid.gpu_hours == pytest.approx(
        sum(p.gpu_hours for p in alone) - alone[0].step_of("mlm").gpu_hours - alone[0].step_of("tatoeba").gpu_hours
    )


@pytest.mark.quick
def test_hub_translated_is_flagged(tmp_path):
    cfg = load_condition(REPO / "params/smoke/ml-qa.yaml", {"backend": "hub"})
    plan = build_plan(cfg, tmp_path)
    assert any("no translated variant of 'qa'" in w and "rajpurkar/squad" in w for w in plan.warnings)


def _dry_run(args, tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(hf),
    }
    env.pop("XIT_PARAMS_ROOT", None)
    p = subprocess.run(
        [sys.executable, "-m", "xitcore.cli", "--runs-dir", str(tmp_path / "runs"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "runs").exists() and not any(hf.iterdir())  # nothing written, nothing downloaded
    return p.stdout


def test_dry_run_paper_condition_offline(tmp_path):
    out = _dry_run(["run", "params/paper/en-squad.yaml", "--dry-run"], tmp_path)
    assert "intermediate squad: hub: rajpurkar/squad split=train (87,599 examples" in out
    assert "encoder: hub model xlm-roberta-large" in out and "N = 302.31M" in out
    assert "tatoeba (retrieval into English): af, ar, bg" in out and "ner (CoNLL-2002 testb)" not in out
    # the paper's targets: the 7 trained XTREME tasks on their English training sets, XTREME (v1) languages
    assert "target udpos train: hub: google/xtreme udpos.English train, 21,253 examples" in out
    assert "target xnli train: hub: nyu-mll/glue mnli train, 392,702 examples" in out
    assert "panx (XTREME-R target, hub): ar, he, vi" in out and ", qu," not in out  # 40 languages, not 48
    assert "target xquad seed=1 (2 epochs" in out and "max_length 384" in out
    assert "intermediate task squad data=en seed=1 (65700 steps × 4)" in out
    assert "[shared: phase i" in out and "estimated GPU hours:" in out and "40% MFU" in out


def test_dry_run_gpu_small_condition_offline(tmp_path):
    out = _dry_run(["run", "params/gpu-small/ml-qa.yaml", "--dry-run", "--mfu", "0.2"], tmp_path)
    assert "intermediate qa: local: XQuAD, 11 languages rotating by paragraph" in out
    assert "pos (UD PUD evaluation half; + EWT test for English): ar, de, en" in out
    assert "N = 25.22M" in out and "20% MFU" in out
    mlm_line = next(l for l in out.splitlines() if " mlm/" in l)
    assert "0.668 GPU h" in mlm_line  # 96,000 × 256 × 128 tokens × 6N at 20 % MFU: the preset's 40 minutes
