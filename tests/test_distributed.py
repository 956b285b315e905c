"""Data parallel training (2 gloo ranks on CPU), gradient accumulation, fp16 and the compile fallback."""

import json
import math
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp
from conftest import REPO, TINY
from safetensors.torch import load_file, save_file

torch.set_num_threads(1)
CPU = torch.device("cpu")
MLM_ARGS = dict(
    steps=3, batch_size=8, lr=1e-3, warmup=1, weight_decay=0.01, mask_prob=0.15, seed=0, device=CPU, progress=False
)
FT_ARGS = dict(steps=3, batch_size=8, lr=1e-3, warmup=1, seed=1, device=CPU, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tokenizer trained on shipped EWT sentences, packed MLM data from them, and POS features."""
    from xitcore.data.treebanks import UPOS, load_pos_train
    from xitcore.model import train_tokenizer
    from xitcore.tasks.mlm import prepare_mlm_data
    from xitcore.tasks.tagging import encode_tagging

    d = tmp_path_factory.mktemp("tiny")
    ex = load_pos_train()[:300]
    sents = [" ".join(e["words"]) for e in ex]
    tok = train_tokenizer(600, sents, d / "tok")
    data = prepare_mlm_data(tok, {"a": sents[:150], "b": sents[150:]}, 48, alpha=0.3)
    feats = encode_tagging(tok, ex[:120], {l: i for i, l in enumerate(UPOS)}, 48)
    return d / "tok", tok, data, feats


def _mlm_model(tok):
    from xitcore.config import ModelConfig
    from xitcore.model import new_mlm_model

    torch.manual_seed(0)  # every rank starts from the same weights (DDP also broadcasts rank 0's)
    return new_mlm_model(
        ModelConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_length=48, dropout=0.0), tok
    )


def _tagger(tok):
    from xitcore.data.treebanks import UPOS
    from xitcore.model import MultiTaskModel
    from xitcore.tasks import kind_module

    return MultiTaskModel(
        _mlm_model(tok).roberta, {"pos": kind_module("tagging").make_head(32, len(UPOS), dropout=0.0)}
    )


def _record_rows(encoder, seen: list, pad_id: int):
    """Per training forward: the rows the encoder got, padding removed."""

    def hook(module, args, kwargs):
        if module.training:
            seen.append([[t for t in r.tolist() if t != pad_id] for r in kwargs["input_ids"]])

    encoder.register_forward_pre_hook(hook, with_kwargs=True)


def _ddp_worker(rank, world, port, tok_dir, data, feats, out):
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    from xitcore.distributed import init_from_env, loop_kwargs, shutdown
    from xitcore.model import load_tokenizer
    from xitcore.train import finetune, train_mlm

    ctx = init_from_env("cpu")
    tok = load_tokenizer(tok_dir)
    mlm, tagger = _mlm_model(tok), _tagger(tok)
    seen = {"mlm": [], "tagging": []}
    _record_rows(mlm.roberta, seen["mlm"], tok.pad_token_id)
    _record_rows(tagger.encoder, seen["tagging"], tok.pad_token_id)
    train_mlm(mlm, tok, data, **MLM_ARGS, **loop_kwargs(ctx))
    finetune(tagger, {"pos": ("tagging", feats)}, pad_id=tok.pad_token_id, **FT_ARGS, **loop_kwargs(ctx))
    # Test-harness output (not a training artefact): each rank reports what it ended with and what it saw.
    save_file(
        {f"mlm.{k}": v.clone() for k, v in mlm.state_dict().items()}
        | {f"tag.{k}": v.clone() for k, v in tagger.state_dict().items()},
        str(out / f"rank{rank}.safetensors"),
    )
    (out / f"rank{rank}.json").write_text(json.dumps(seen))
    shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_rank_ddp_matches_one_process(tiny, tmp_path):
    from xitcore.train import finetune, train_mlm

    tok_dir, tok, data, feats = tiny
    mp.spawn(_ddp_worker, args=(2, _free_port(), tok_dir, data, feats, tmp_path), nprocs=2, join=True)
    r0, r1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert all(torch.equal(r0[k], r1[k]) for k in r0)  # the ranks end with identical parameters
    s0, s1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))

    # One process with the whole global batch: the same rows and the same update, up to float rounding.
    mlm, tagger = _mlm_model(tok), _tagger(tok)
    start = {k: v.clone() for k, v in mlm.state_dict().items()}
    seen = {"mlm": [], "tagging": []}
    _record_rows(mlm.roberta, seen["mlm"], tok.pad_token_id)
    _record_rows(tagger.encoder, seen["tagging"], tok.pad_token_id)
    train_mlm(mlm, tok, data, **MLM_ARGS)
    finetune(tagger, {"pos": ("tagging", feats)}, pad_id=tok.pad_token_id, **FT_ARGS)
    for w in ("mlm", "tagging"):
        assert len(s0[w]) == len(s1[w]) == len(seen[w]) == 3  # one forward per step on each rank
        for a, b, whole in zip(s0[w], s1[w], seen[w]):
            assert a != b and a + b == whole  # each rank trained on its own half of the same global batch
    assert any(not torch.equal(start[k], v) for k, v in mlm.state_dict().items())  # training moved the weights
    single = {f"mlm.{k}": v for k, v in mlm.state_dict().items()} | {
        f"tag.{k}": v for k, v in tagger.state_dict().items()
    }
    for k, v in single.items():
        torch.testing.assert_close(r0[k], v, atol=2e-5, rtol=1e-4)


def test_grad_accumulation_equals_one_big_batch(tiny):
    from xitcore.train import finetune, train_mlm

    _, tok, data, feats = tiny
    models = {}
    for k in (1, 4):  # 4 micro-batches of 2 rows vs one batch of 8
        m, t = _mlm_model(tok), _tagger(tok)
        res = train_mlm(m, tok, data, grad_accum_steps=k, **MLM_ARGS)
        finetune(t, {"pos": ("tagging", feats)}, pad_id=tok.pad_token_id, grad_accum_steps=k, **FT_ARGS)
        models[k] = (m.state_dict(), t.state_dict(), res)
    start = _mlm_model(tok).state_dict()
    assert any(not torch.equal(start[n], models[1][0][n]) for n in start)
    for i in (0, 1):
        for n, v in models[1][i].items():
            torch.testing.assert_close(models[4][i][n], v, atol=2e-5, rtol=1e-4)
    # The reported training loss is the whole batch's mean either way.
    l1 = [c["train_loss"] for c in models[1][2]["curve"]]
    l4 = [c["train_loss"] for c in models[4][2]["curve"]]
    assert l4 == pytest.approx(l1, abs=1e-3)
    assert models[4][2]["grad_accum_steps"] == 4 and "grad_accum_steps" not in models[1][2]


def test_batch_smaller_than_micro_batches_is_one_line_error(tiny):
    from xitcore.train import train_mlm

    _, tok, data, _ = tiny
    with pytest.raises(ValueError, match=r"batch_size 8 is smaller than grad_accum_steps x world_size \(16 x 1\)"):
        train_mlm(_mlm_model(tok), tok, data, grad_accum_steps=16, **MLM_ARGS)


class _BrokenCompile:
    """Stands in for a torch.compile that fails on this machine, in the forward or in the backward."""

    def __init__(self, module, where):
        self.module, self.where = module, where

    def __call__(self, *args):
        if self.where == "forward":
            raise RuntimeError("InductorError: no working C++ compiler\nsecond line of the trace")
        return _FailInBackward.apply(self.module(*args))


class _FailInBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("compiled backward failed")


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_compile_failure_falls_back_to_eager_with_one_line(tiny, monkeypatch, capsys, where):
    from xitcore.train import train_mlm

    _, tok, data, _ = tiny
    eager = _mlm_model(tok)
    train_mlm(eager, tok, data, **MLM_ARGS)
    capsys.readouterr()
    monkeypatch.setattr(torch, "compile", lambda m: _BrokenCompile(m, where))
    model = _mlm_model(tok)
    train_mlm(model, tok, data, compile=True, **MLM_ARGS)
    err = [l for l in capsys.readouterr().err.splitlines() if "torch.compile" in l]
    assert len(err) == 1 and err[0].startswith("warning: torch.compile failed here (RuntimeError")
    ref = eager.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())  # the fallback is exact eager


def test_fp16_uses_a_grad_scaler_and_learns(tiny, monkeypatch):
    from xitcore.train import train_mlm

    _, tok, data, _ = tiny
    scaled = []
    orig = torch.amp.GradScaler.scale
    monkeypatch.setattr(torch.amp.GradScaler, "scale", lambda self, x: scaled.append(1) or orig(self, x))
    model = _mlm_model(tok)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    res = train_mlm(model, tok, data, fp16=True, **{**MLM_ARGS, "steps": 6})
    assert len(scaled) == 6
    curve = [c["train_loss"] for c in res["curve"]]
    assert all(math.isfinite(x) for x in curve) and math.isfinite(res["final_heldout_loss"])  # no nan, no inf
    assert any(not torch.equal(start[k], v) for k, v in model.state_dict().items())


def test_torchrun_entry_point_rank0_writes_the_step(tmp_path):
    from xitcore.config import load_condition
    from xitcore.pipeline import condition_graph

    runs, scratch = tmp_path / "runs", tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "XIT_PARAMS_ROOT": str(TINY.parent), "TMPDIR": str(scratch), "OMP_NUM_THREADS": "1"}
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
        "-m",
        "xitcore.distributed",
        "mlm",
        str(TINY / "none.yaml"),
        "--runs",
        str(runs),
    ]
    p = subprocess.run(torchrun, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.count("MLM pre-training:") == 1  # rank 1 trained silently
    assert "MLM step (world size 2): " in p.stdout
    # The step has the key a single process would use, and only one writer's files.
    cfg = load_condition(TINY / "none.yaml")
    step = next(n for n in condition_graph(cfg, runs).nodes if n.kind == "mlm").step
    assert step.done and step.metrics()["world_size"] == 2
    assert json.loads((step.path / "meta.json").read_text())["status"] == "finished"
    assert sorted(p.name for p in (runs / "mlm").iterdir()) == [step.key]
    assert sorted(p.name for p in step.path.iterdir()) == [".lock", "config.json", "meta.json", "metrics.json", "model"]
    assert list(scratch.glob("xit-rank-scratch-*")) == []  # rank 1's scratch copy is gone
    # Rerun: the finished step is reused by every rank, nothing trains.
    p = subprocess.run(torchrun, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "MLM pre-training:" not in p.stdout, p.stderr[-2000:]
