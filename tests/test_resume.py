"""Checkpoints inside a step: a training loop killed mid-way resumes to the very same result (bitwise on CPU).

Unit level: ``finetune`` and ``train_mlm`` inside a checkpoint scope, "killed" by an exception raised right after a
checkpoint is written, then called again with fresh models; end to end: a tiny MLM step in a subprocess, SIGKILLed
once its first checkpoint is on disk, rerun, and its metrics.json compared with an uninterrupted run's.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, TINY

torch.set_num_threads(1)
CPU = torch.device("cpu")
MLM_ARGS = dict(steps=10, batch_size=8, lr=1e-3, warmup=2, weight_decay=0.01, mask_prob=0.15, seed=0, device=CPU)
FT_ARGS = dict(batch_size=8, lr=1e-3, warmup=2, seed=1, device=CPU, progress=False)
TIMINGS = {"train_seconds", "tokens_per_second", "seconds"}


class Killed(BaseException):
    """Stands in for SIGKILL inside the process: raised right after the n-th checkpoint is written."""


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
    feats = encode_tagging(tok, ex[:100], {l: i for i, l in enumerate(UPOS)}, 48)
    return tok, data, feats


def _mlm_model(tok):
    from xitcore.config import ModelConfig
    from xitcore.model import new_mlm_model

    torch.manual_seed(0)
    # Dropout on: the resumed run must also restore torch's random state to match.
    cfg = ModelConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_length=48, dropout=0.1)
    return new_mlm_model(cfg, tok)


def _tagger(tok):
    from xitcore.data.treebanks import UPOS
    from xitcore.model import MultiTaskModel
    from xitcore.tasks import kind_module

    return MultiTaskModel(
        _mlm_model(tok).roberta, {"pos": kind_module("tagging").make_head(32, len(UPOS), dropout=0.1)}
    )


def _kill_after(monkeypatch, n: int):
    """Make the n-th checkpoint save (counted across loops) raise Killed once the file is on disk."""
    from xitcore import train

    real, count = train._LoopCheckpoint.save, [0]

    def save(self, state, tensors):
        real(self, state, tensors)
        count[0] += 1
        if count[0] == n:
            raise Killed

    monkeypatch.setattr(train._LoopCheckpoint, "save", save)
    return lambda: monkeypatch.setattr(train._LoopCheckpoint, "save", real)


def _untimed(x):
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if k not in TIMINGS}
    if isinstance(x, list):
        return [_untimed(v) for v in x]
    return x


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa), [k for k in sa if not torch.equal(sa[k], sb[k])]


def _dev_score(model, feats, pad_id):
    """A deterministic stand-in for a dev score: minus the loss on a fixed batch, dropout off."""
    from xitcore.tasks import kind_module

    km = kind_module("tagging")
    model.eval()
    with torch.no_grad():
        loss = km.loss(model, "pos", km.collate(feats[:16], pad_id), CPU)
    model.train()
    return -float(loss)


def _finetune(model, tok, feats, steps, **extra):
    from xitcore.train import finetune

    stop = dict(evaluate=lambda: _dev_score(model, feats, tok.pad_token_id), eval_every=3, patience=50)
    return finetune(model, {"pos": ("tagging", feats)}, steps=steps, pad_id=tok.pad_token_id, **FT_ARGS, **stop)


@pytest.mark.quick
def test_finetune_killed_mid_loop_resumes_to_the_same_weights_and_metrics(tiny, tmp_path, monkeypatch):
    from xitcore.runstore import checkpoint_scope

    tok, _, feats = tiny
    # 100 features in batches of 8: 13 batches per pass, so 20 steps cross into a second pass (a reshuffle).
    plain = _tagger(tok)
    expected = _finetune(plain, tok, feats, 20)
    assert "early_stopping" in expected and len(expected["early_stopping"]["dev_scores"]) == 7

    restore = _kill_after(monkeypatch, 2)
    with checkpoint_scope(tmp_path, "target/abc", every_steps=4), pytest.raises(Killed):
        _finetune(_tagger(tok), tok, feats, 20)  # killed at step 8, after a dev score at steps 3 and 6
    restore()
    assert (tmp_path / "loop-0.safetensors").is_file()
    cut_short = tmp_path / ".loop-0.safetensors.x1y2.tmp"  # a save the kill interrupted
    cut_short.write_bytes(b"\0" * 100)
    lines = []
    with checkpoint_scope(tmp_path, "target/abc", lines.append, every_steps=4):
        resumed = _tagger(tok)
        got = _finetune(resumed, tok, feats, 20)
    assert not cut_short.exists()
    assert lines[0] == "run store: resuming step target/abc from checkpoint at pos: epoch 1, batch 8 (step 8 of 20)"
    assert _untimed(got) == _untimed(expected)
    _assert_same_weights(resumed, plain)

    # The loop's end is recorded: called again (a kill later in the step), it restores and does not train.
    seen = []
    again = _tagger(tok)
    again.encoder.register_forward_pre_hook(lambda m, a: seen.append(1) if m.training else None)
    with checkpoint_scope(tmp_path, "target/abc", lines.append, every_steps=4):
        replayed = _finetune(again, tok, feats, 20)
    assert _untimed(replayed) == _untimed(expected) and seen == []
    _assert_same_weights(again, plain)


def test_resume_without_restoring_random_states_would_differ(tiny, tmp_path, monkeypatch):
    """The test above can fail: a resume that skips the random states (dropout masks) ends elsewhere."""
    from xitcore import train
    from xitcore.runstore import checkpoint_scope

    tok, _, feats = tiny
    expected = _tagger(tok)
    _finetune(expected, tok, feats, 12)
    restore = _kill_after(monkeypatch, 1)
    with checkpoint_scope(tmp_path, "t", every_steps=5), pytest.raises(Killed):
        _finetune(_tagger(tok), tok, feats, 12)
    restore()
    monkeypatch.setattr(train, "_rng_restore", lambda *a, **k: None)
    resumed = _tagger(tok)
    with checkpoint_scope(tmp_path, "t", every_steps=5):
        _finetune(resumed, tok, feats, 12)
    a, b = expected.state_dict(), resumed.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_train_mlm_killed_mid_loop_resumes_to_the_same_result(tiny, tmp_path, monkeypatch):
    from xitcore.runstore import checkpoint_scope
    from xitcore.train import train_mlm

    tok, data, _ = tiny
    plain = _mlm_model(tok)
    expected = train_mlm(plain, tok, data, **MLM_ARGS, progress=False)
    restore = _kill_after(monkeypatch, 2)
    with checkpoint_scope(tmp_path, "mlm/k", every_steps=3), pytest.raises(Killed):
        train_mlm(_mlm_model(tok), tok, data, **MLM_ARGS, progress=False)
    restore()
    lines = []
    resumed = _mlm_model(tok)
    with checkpoint_scope(tmp_path, "mlm/k", lines.append, every_steps=3):
        got = train_mlm(resumed, tok, data, **MLM_ARGS, progress=False)
    assert lines == ["run store: resuming step mlm/k from checkpoint at step 6 of 10"]
    assert _untimed(got) == _untimed(expected) and len(got["curve"]) == 5
    _assert_same_weights(resumed, plain)


def test_second_loop_of_a_step_resumes_after_the_first_is_restored(tiny, tmp_path, monkeypatch):
    """Two loops in one step (a target's two stages): killed in the second, the first is restored, not redone."""
    from xitcore.runstore import checkpoint_scope

    tok, _, feats = tiny

    def two_stages(model):
        return _finetune(model, tok, feats[:40], 6), _finetune(model, tok, feats, 10)

    plain = _tagger(tok)
    expected = two_stages(plain)
    restore = _kill_after(monkeypatch, 3)  # loop 0 saves at 4 and records its end; loop 1 saves at 4: killed
    with checkpoint_scope(tmp_path, "target/two", every_steps=4), pytest.raises(Killed):
        two_stages(_tagger(tok))
    restore()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop-0.safetensors", "loop-1.safetensors"]
    lines = []
    resumed = _tagger(tok)
    with checkpoint_scope(tmp_path, "target/two", lines.append, every_steps=4):
        got = two_stages(resumed)
    assert lines == [
        "run store: target/two: loop-0.safetensors had finished; its weights restored, not trained again",
        "run store: resuming step target/two from checkpoint at pos: epoch 1, batch 4 (step 4 of 10), "
        "in the step's training loop 2",
    ]
    assert _untimed(list(got)) == _untimed(list(expected))
    _assert_same_weights(resumed, plain)


def test_a_checkpoint_of_another_loop_is_not_resumed(tiny, tmp_path, monkeypatch):
    from xitcore.runstore import checkpoint_scope

    tok, _, feats = tiny
    restore = _kill_after(monkeypatch, 1)
    with checkpoint_scope(tmp_path, "t", every_steps=2), pytest.raises(Killed):
        _finetune(_tagger(tok), tok, feats, 8)
    restore()
    lines = []
    with checkpoint_scope(tmp_path, "t", lines.append, every_steps=2):
        _finetune(_tagger(tok), tok, feats, 9)  # another number of steps: another schedule
    assert lines == [
        "run store: t: checkpoint loop-0.safetensors belongs to another loop (its settings, data sizes or model "
        "differ); starting that loop over"
    ]


def test_outside_a_scope_or_turned_off_nothing_is_written(tiny, tmp_path, monkeypatch):
    from xitcore.runstore import checkpoint_scope

    tok, _, feats = tiny
    monkeypatch.chdir(tmp_path)
    _finetune(_tagger(tok), tok, feats, 4)
    with checkpoint_scope(tmp_path / "off", "t", minutes=0, every_steps=0):
        _finetune(_tagger(tok), tok, feats, 4)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.quick
@pytest.mark.parametrize(("name", "value"), [("XIT_CHECKPOINT_MINUTES", "soon"), ("XIT_CHECKPOINT_EVERY_STEPS", "-3")])
def test_bad_checkpoint_setting_is_one_line_error_before_the_step_starts(tmp_path, monkeypatch, name, value):
    from xitcore.errors import ConfigError
    from xitcore.runstore import RunStore

    monkeypatch.setenv(name, value)
    store = RunStore(tmp_path)
    with pytest.raises(ConfigError, match=f"^{name}='{value}': expected .* >= 0"):
        store.run("x", {"a": 1}, lambda work: {"ok": 1})
    assert not (tmp_path / "x").exists()


def _ddp_worker(rank, world, port, tok_dir, data, out):
    """Per rank: an uninterrupted 2-rank MLM loop, then one killed after its 2nd checkpoint, then its resume."""
    from xitcore.distributed import init_from_env, loop_kwargs, shutdown
    from xitcore.model import load_tokenizer
    from xitcore.runstore import checkpoint_scope
    from xitcore.train import train_mlm

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    ctx = init_from_env("cpu")
    tok = load_tokenizer(tok_dir)
    args = {**MLM_ARGS, "progress": False, **loop_kwargs(ctx)}
    plain = _mlm_model(tok)
    expected = train_mlm(plain, tok, data, **args)
    mp_ = pytest.MonkeyPatch()
    restore = _kill_after(mp_, 2)
    try:
        with checkpoint_scope(out / "ck", "mlm/ddp", rank=rank, every_steps=3):
            train_mlm(_mlm_model(tok), tok, data, **args)
    except Killed:
        pass
    restore()
    torch.distributed.barrier()  # rank 1 has tidied its older part before anyone looks
    files = sorted(p.name for p in (out / "ck").iterdir())
    lines = []
    resumed = _mlm_model(tok)
    with checkpoint_scope(out / "ck", "mlm/ddp", lines.append, rank=rank, every_steps=3):
        got = train_mlm(resumed, tok, data, **args)
    a, b = plain.state_dict(), resumed.state_dict()
    report = {
        "files": files,
        "lines": lines,
        "same_metrics": _untimed(got) == _untimed(expected),
        "same_weights": all(torch.equal(a[k], b[k]) for k in a),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(report))
    shutdown()


def test_two_rank_ddp_resumes_on_every_rank(tiny, tmp_path):
    import socket

    import torch.multiprocessing as mp

    tok, data, _ = tiny
    tok.save_pretrained(str(tmp_path / "tok"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, tmp_path / "tok", data, tmp_path), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # Killed at step 6: rank 0's checkpoint and rank 1's random states at step 6 (step 3's part is gone).
    assert r0["files"] == r1["files"] == ["loop-0.rank1.6.safetensors", "loop-0.safetensors"]
    assert r0["lines"] == ["run store: resuming step mlm/ddp from checkpoint at step 6 of 10"] and r1["lines"] == []
    assert r0["same_metrics"] and r1["same_metrics"] and r0["same_weights"] and r1["same_weights"]


# ---------------------------------------------------------------------------------------- end to end, SIGKILL

OVERRIDES = {"mlm": {"steps": 120, "seed": 3}, "model": {"dropout": 0.1}}
RUN_MLM = f"""
import sys
from xitcore.config import load_condition
from xitcore.distributed import init_from_env, run_mlm
print("step", run_mlm(load_condition(sys.argv[1], {OVERRIDES!r}), sys.argv[2], init_from_env("cpu")).rel, flush=True)
"""


def _mlm_subprocess(runs, **env):
    env = {**os.environ, "XIT_CHECKPOINT_MINUTES": "0", **env}
    cmd = [sys.executable, "-c", RUN_MLM, str(TINY / "none.yaml"), str(runs)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_step_sigkilled_mid_training_resumes_to_the_same_metrics(tmp_path, monkeypatch, capsys):
    from xitcore.config import load_condition
    from xitcore.distributed import init_from_env, run_mlm

    killed_runs, plain_runs = tmp_path / "killed", tmp_path / "plain"
    p = _mlm_subprocess(killed_runs, XIT_CHECKPOINT_EVERY_STEPS="10")
    deadline = time.time() + 120
    found = []
    while not found and p.poll() is None and time.time() < deadline:
        found = list(killed_runs.glob("mlm/*/.checkpoint/loop-0.safetensors"))
        time.sleep(0.02)
    assert found, f"no checkpoint appeared: {p.communicate()[0] if p.poll() is not None else 'timeout'}"
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    step = found[0].parents[1]
    assert not (step / "metrics.json").exists()  # killed inside the step
    assert json.loads((step / "meta.json").read_text())["status"] == "running"

    again = _mlm_subprocess(killed_runs, XIT_CHECKPOINT_EVERY_STEPS="10")
    # Meanwhile the uninterrupted run, here and without checkpoints, from the same finished corpus and tokenizer.
    for d in killed_runs.iterdir():
        if d.name != "mlm":
            shutil.copytree(d, plain_runs / d.name)
    monkeypatch.setenv("XIT_CHECKPOINT_MINUTES", "0")
    monkeypatch.delenv("XIT_CHECKPOINT_EVERY_STEPS", raising=False)
    run_mlm(load_condition(TINY / "none.yaml", OVERRIDES), plain_runs, init_from_env("cpu"))
    out_plain = capsys.readouterr().out
    out = again.communicate(timeout=180)[0]
    assert again.returncode == 0, out
    resumed = [l for l in out.splitlines() if "resuming" in l]
    at = re.fullmatch(rf"run store: resuming step mlm/{step.name} from checkpoint at step (\d+) of 120", resumed[0])
    assert len(resumed) == 1 and at and int(at[1]) % 10 == 0 and 0 < int(at[1]) < 120, resumed
    assert "MLM held-out loss" in out_plain and "resuming" not in out_plain
    assert not (step / ".checkpoint").exists()  # removed once the step finished

    got = json.loads((step / "metrics.json").read_text())
    expected = json.loads((plain_runs / "mlm" / step.name / "metrics.json").read_text())
    assert _untimed(got) == _untimed(expected) and len(got["curve"]) == 5
    assert (step / "model" / "model.safetensors").read_bytes() == (
        plain_runs / "mlm" / step.name / "model" / "model.safetensors"
    ).read_bytes()
