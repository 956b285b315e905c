"""Training and inference loops: packed MLM, length-grouped fine-tuning, zero-shot prediction.

CPU minutes are the scarce resource at smoke scale, so: MLM blocks are packed (no padding at all) and
project onto the vocabulary only at masked positions; fine-tuning batches are grouped by length and
padded dynamically, so almost no compute goes to padding.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .model import linear_warmup_decay, masked_lm_loss
from .runstore import current_checkpoint_scope
from .tasks import kind_module
from .tasks.mlm import MLMData, draw_mlm_rows, mask_tokens


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _progress(total, desc, enabled=True):
    import sys

    # On a terminal: a live bar. In logs (CI, papermill): a line every 30 s rather than one per step.
    tty = sys.stderr.isatty()
    return tqdm(
        total=total, desc=desc, leave=False, disable=not enabled, mininterval=2.0 if tty else 30.0, dynamic_ncols=True
    )


# ====================================================================== speed options, data parallelism
# Both loops take the same options; their defaults give plain single-process training, unchanged:
#   grad_accum_steps   split each step's batch into that many micro-batches, one optimizer step per batch
#   compile            torch.compile the loss (falls back to eager, with a one-line warning, if that fails)
#   fp16               float16 autocast plus a GradScaler (bf16 needs no scaler: see xitcore.model.autocast)
#   rank, world_size, wrap   data parallel (see xitcore.distributed): every rank draws the same global
#                      batch and trains on its own contiguous share of it; ``wrap`` wraps the loss in DDP.
# ``batch_size`` stays the global batch per optimizer step, so neither option changes a hyper-parameter:
# each micro-batch's mean loss is weighted by its share of the batch's loss units (masked or labelled
# tokens, or examples), which makes the update that of the whole batch, up to float rounding.


def _local_shares(n: int, grad_accum_steps: int, rank: int, world_size: int) -> list[slice]:
    """This rank's micro-batches: slices of a global batch of ``n`` rows (an empty one when n is too small)."""
    if grad_accum_steps < 1 or world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"grad_accum_steps ({grad_accum_steps}) and world_size ({world_size}) must be >= 1, "
            f"rank ({rank}) in [0, world_size)"
        )
    parts = grad_accum_steps * world_size
    bounds = [n * k // parts for k in range(parts + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(rank * grad_accum_steps, (rank + 1) * grad_accum_steps)]


class _LossModule(torch.nn.Module):
    """The loss as a module: DDP syncs gradients only through a wrapped module's forward; compile wants one too."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, *args):
        return self.loss_fn(self.model, *args)


class _Runner:
    """Forward and backward of (weighted) micro-batches and the optimizer step, for both training loops."""

    def __init__(self, model, loss_fn, *, compile: bool, wrap, fp16: bool, device):
        self.model = model
        self.module = _LossModule(model, loss_fn)
        if wrap is not None:
            self.module = wrap(self.module)
        self.compiled = torch.compile(self.module) if compile else None
        dev = torch.device(device).type
        self.fp16 = (lambda: torch.autocast(dev, dtype=torch.float16)) if fp16 else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler(dev) if fp16 else None
        self.first = True

    def _fall_back(self, e: Exception) -> None:
        msg = (str(e).strip().splitlines() or [""])[0][:160]
        print(
            f"warning: torch.compile failed here ({type(e).__name__}: {msg}); training without it",
            file=sys.stderr,
            flush=True,
        )
        self.compiled = None

    def _one(self, args, weight):
        """Forward + backward of one micro-batch; returns its (unweighted) mean loss, detached."""
        while True:
            compiled = self.compiled is not None
            with self.fp16():
                try:
                    loss = (self.compiled if compiled else self.module)(*args)
                except Exception as e:
                    if not compiled:
                        raise
                    self._fall_back(e)
                    continue
            value = loss.detach()
            if weight is not None:  # a share without loss units would be nan: it still runs (DDP), weighted 0
                loss = loss * weight if weight else loss.nan_to_num(0.0) * 0.0
            try:
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            except Exception as e:
                if not (compiled and self.first):  # only the first step has no gradients to lose yet
                    raise
                for p in self.model.parameters():
                    p.grad = None
                self._fall_back(e)
                continue
            self.first = False
            return value

    def accumulate(self, micro: list[tuple], units: list[int] | None = None, total: int = 0, world_size: int = 1):
        """Backward of every micro-batch (a tuple of loss arguments); returns this rank's batch mean loss.

        ``units=None``: one batch, its plain mean loss. Otherwise micro-batch i's mean loss is weighted by
        units[i] * world_size / total (DDP averages gradients over ranks), total = units in the global batch.
        """
        if units is None:
            return self._one(micro[0], None)
        no_sync = getattr(self.module, "no_sync", None)
        out, n = 0.0, 0
        for i, (args, u) in enumerate(zip(micro, units)):
            last = i == len(micro) - 1  # DDP: all-reduce gradients once, after the last micro-batch
            with contextlib.nullcontext() if last or no_sync is None else no_sync():
                value = self._one(args, u * world_size / total if total else 0.0)
            if u:
                out, n = out + value * u, n + u
        return out / n if n else torch.tensor(float("nan"))

    def optimizer_step(self, opt, params) -> None:
        if self.scaler:
            self.scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()


# ====================================================================== checkpoints inside a step
# Inside a run-store step (xitcore.runstore.checkpoint_scope), each loop call saves its whole state every
# XIT_CHECKPOINT_MINUTES (or XIT_CHECKPOINT_EVERY_STEPS) into <step>/.checkpoint/loop-<n>.safetensors: weights,
# optimizer, scheduler, grad scaler, the data position (the batch streams left, MLM's generators) and every
# random state (Python, NumPy, torch, CUDA), so that a rerun after a kill continues to the very same result.
# One file per loop call, replaced atomically; tensors are safetensors and everything else is JSON in the file's
# metadata, so reading a checkpoint runs no code. A loop that saved once also records its end ("done": the final
# weights, random states and its return value), so that a later loop of the same step resumes without redoing it.
# Data parallel: rank 0 writes the file; every other rank writes its own part (random states, its share's losses;
# no weights) per step (loop-<n>.rank<r>.<step>.safetensors) before rank 0 writes; all ranks resume or none does.


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True).contiguous()  # a copy: tied weights must not share storage in the file


def _jsonable(x):
    return json.loads(json.dumps(x))


def _rng_capture(tensors: dict, prefix: str = "rng") -> dict:
    tensors[f"{prefix}.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"{prefix}.cuda.{i}"] = state
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }


def _rng_restore(state: dict, tensors: dict, prefix: str = "rng") -> None:
    torch.set_rng_state(tensors[f"{prefix}.torch"])
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith(f"{prefix}.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def _random_state(r: random.Random) -> list:
    version, internal, gauss = r.getstate()
    return [version, list(internal), gauss]


def _set_random_state(r: random.Random, state: list) -> None:
    version, internal, gauss = state
    r.setstate((version, tuple(internal), gauss))


def _train_state(model, opt, sched, runner) -> tuple[dict, dict]:
    """(JSON part, tensors) of the model, optimizer, scheduler, grad scaler and the process's random states."""
    tensors = {f"model.{k}": _cpu(v) for k, v in model.state_dict().items()}
    osd = opt.state_dict()
    other: dict = {}
    for i, st in osd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"opt.{i}.{k}"] = _cpu(v)
            else:
                other.setdefault(str(i), {})[k] = v
    state = {
        "optimizer": {"param_groups": osd["param_groups"], "state": other},
        "scheduler": sched.state_dict(),
        "scaler": runner.scaler.state_dict() if runner.scaler else None,
        "rng": _rng_capture(tensors),
    }
    return state, tensors


def _restore_train_state(state: dict, tensors: dict, model, opt, sched, runner) -> None:
    _load_model(model, tensors)
    st: dict = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            st.setdefault(int(i), {})[name] = v
    for i, rest in state["optimizer"]["state"].items():
        st.setdefault(int(i), {}).update(rest)
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in state["optimizer"]["param_groups"]]
    opt.load_state_dict({"state": st, "param_groups": groups})
    sched.load_state_dict(state["scheduler"])
    if runner.scaler and state["scaler"]:
        runner.scaler.load_state_dict(state["scaler"])
    _rng_restore(state["rng"], tensors)


def _load_model(model, tensors: dict, prefix: str = "model.") -> None:
    model.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})


def _parameters_digest(model) -> str:
    shapes = [(k, list(v.shape), str(v.dtype)) for k, v in model.state_dict().items()]
    return hashlib.sha256(json.dumps(shapes).encode()).hexdigest()[:16]


def _write_safetensors(path: Path, tensors: dict, state: dict) -> None:
    """Atomically (a temp file renamed over ``path``): ``tensors`` and ``state`` (JSON) in the metadata."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"xit": json.dumps(state)})
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_safetensors(path: Path) -> tuple[dict, dict]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        state = json.loads((f.metadata() or {})["xit"])
        return state, {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is no mapping)


_SHARED = ("model.", "opt.", "best.")  # tensors that are the same on every data-parallel rank: rank 0 saves them


class _LoopCheckpoint:
    """The checkpoints of one training-loop call (see above); inert outside a checkpoint scope."""

    def __init__(self, loop: str, fingerprint: dict, model, *, steps: int, rank: int, world_size: int, device):
        scope = current_checkpoint_scope()
        self.scope = scope if scope is not None and scope.enabled else None
        self.steps, self.rank, self.world_size, self.device = steps, rank, world_size, device
        self.saved = False
        self.last = time.monotonic()
        if world_size > 1:  # all ranks checkpoint or none does: a rank without a scope turns it off everywhere
            on = torch.tensor([int(self.scope is not None)], device=device)
            torch.distributed.all_reduce(on, op=torch.distributed.ReduceOp.MIN)
            if not on.item():
                self.scope = None
        if self.scope is None:
            return
        self.index = self.scope.next_loop()
        self.path = self.scope.directory / f"loop-{self.index}.safetensors"
        self.fingerprint = _jsonable({"loop": loop, **fingerprint, "parameters": _parameters_digest(model)})

    def _log(self, msg: str) -> None:
        if self.rank == 0:
            self.scope.log(f"run store: {msg}")

    def _rank_path(self, step: int) -> Path:
        return self.path.with_name(f"loop-{self.index}.rank{self.rank}.{step}.safetensors")

    def _discard(self, why: str) -> None:
        """Drop this loop's checkpoint and the later loops' (they followed from it): the loop starts over."""
        self._log(f"{self.scope.name}: checkpoint {self.path.name} {why}; starting that loop over")
        if self.rank == 0:
            for f in self.path.parent.glob("loop-*.safetensors"):
                n = f.name.split(".")[0].removeprefix("loop-")
                if n.isdigit() and int(n) >= self.index:
                    f.unlink(missing_ok=True)

    def load(self) -> tuple[dict, dict] | None:
        """``(state, tensors)`` of this loop's checkpoint (state["status"]: "running" or "done"), or None."""
        if self.scope is None:
            return None
        if self.rank == 0:  # temp files of saves a kill cut short (nothing writes while loops start)
            for f in self.path.parent.glob(".loop-*.tmp"):
                f.unlink(missing_ok=True)
        found = None
        if self.path.is_file():
            try:
                found = _read_safetensors(self.path)
            except Exception as e:  # a partial copy, a file from elsewhere: start over rather than fail
                self._discard(f"does not read ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})")
            else:
                if found[0].get("fingerprint") != self.fingerprint:
                    self._discard("belongs to another loop (its settings, data sizes or model differ)")
                    found = None
        if found is not None and self.rank > 0:  # this rank's own part, saved at the same step
            try:
                mine, rt = _read_safetensors(self._rank_path(found[0]["step"]))
                found = (mine, {**found[1], **rt})
            except Exception:
                found = None
        if self.world_size > 1:
            ok = torch.tensor([int(found is not None)], device=self.device)
            torch.distributed.all_reduce(ok, op=torch.distributed.ReduceOp.MIN)
            if not ok.item():
                if found is not None:
                    self._log(f"{self.scope.name}: a rank lacks its part of checkpoint {self.path.name}; starting over")
                found = None
        self.saved = found is not None
        return found

    def resumed(self, step: int, where: str = "") -> None:
        at = f"{where} (step {step} of {self.steps})" if where else f"step {step} of {self.steps}"
        if self.index > 0:
            at += f", in the step's training loop {self.index + 1}"
        self._log(f"resuming step {self.scope.name} from checkpoint at {at}")

    def due(self, step: int) -> bool:
        """Whether to save after ``step`` optimizer steps (never after the last: the loop's end is recorded)."""
        if self.scope is None:
            return False
        s = self.scope
        now = step < self.steps and (
            (s.every_steps > 0 and step % s.every_steps == 0)
            or (s.minutes > 0 and time.monotonic() - self.last >= s.minutes * 60)
        )
        if self.world_size > 1:  # rank 0's clock decides for all
            flag = torch.tensor([int(now)], device=self.device)
            torch.distributed.broadcast(flag, src=0)
            now = bool(flag.item())
        return now

    def save(self, state: dict, tensors: dict) -> None:
        step = state["step"]
        state = {**state, "fingerprint": self.fingerprint}
        if self.world_size > 1:
            if self.rank > 0:  # its own bookkeeping (random states, its share's losses); the weights are rank 0's
                mine = {k: v for k, v in tensors.items() if not k.startswith(_SHARED)}
                _write_safetensors(self._rank_path(step), mine, state)
            torch.distributed.barrier()  # every rank's part is on disk before rank 0 commits the step
        if self.rank == 0:
            _write_safetensors(self.path, tensors, state)
        if self.world_size > 1:
            torch.distributed.barrier()
            if self.rank > 0:  # the parts of older steps: no committed checkpoint points at them any more
                for f in self.path.parent.glob(f"loop-{self.index}.rank{self.rank}.*.safetensors"):
                    if f != self._rank_path(step):
                        f.unlink(missing_ok=True)
        self.saved = True
        self.last = time.monotonic()

    def finish(self, model, output: dict) -> None:
        """Record the loop's end (final weights, random states, ``output``) if it ever saved; else nothing."""
        if self.scope is None or not self.saved:
            return
        tensors = {f"model.{k}": _cpu(v) for k, v in model.state_dict().items()}
        state = {"status": "done", "step": self.steps, "rng": _rng_capture(tensors), "output": output}
        self.save(state, tensors)

    def replay(self, found: tuple[dict, dict], model) -> dict:
        """A finished loop's end, restored: its weights and random states; returns its output."""
        state, tensors = found
        _load_model(model, tensors)
        _rng_restore(state["rng"], tensors)
        self._log(f"{self.scope.name}: {self.path.name} had finished; its weights restored, not trained again")
        return state["output"]


# ====================================================================== MLM


@torch.no_grad()
def mlm_heldout_loss(model, tokenizer, blocks: np.ndarray, mask_prob: float, device, batch_size: int = 64) -> float:
    if len(blocks) == 0:
        return float("nan")
    model.eval()
    gen = torch.Generator().manual_seed(1234)  # fixed masks: comparable across checkpoints
    special = torch.tensor(sorted(tokenizer.all_special_ids))
    total, n = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        ids = torch.from_numpy(blocks[i : i + batch_size])
        inputs, labels = mask_tokens(ids, tokenizer, mask_prob, gen, special)
        k = int((labels != -100).sum())
        if k == 0:
            continue
        loss = masked_lm_loss(model, inputs.to(device), labels.to(device))
        total += float(loss) * k
        n += k
    model.train()
    return total / max(n, 1)


def train_mlm(
    model,
    tokenizer,
    data: MLMData,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    warmup: int,
    weight_decay: float,
    mask_prob: float,
    seed: int,
    device,
    progress: bool = True,
    desc: str = "MLM",
    eval_every: int = 0,
    tlm_fraction: float = 0.0,
    code_switch_fraction: float = 0.0,
    grad_accum_steps: int = 1,
    compile: bool = False,
    fp16: bool = False,
    rank: int = 0,
    world_size: int = 1,
    wrap=None,
) -> dict:
    """Packed MLM; ``batch_size`` rows per optimizer step in all (speed and DDP options: see above)."""
    set_seed(seed)
    model.to(device).train()
    plain = grad_accum_steps == 1 and world_size == 1
    shares = _local_shares(batch_size, grad_accum_steps, rank, world_size)
    if not plain and any(s.stop == s.start for s in shares):
        raise ValueError(
            f"MLM batch_size {batch_size} is smaller than grad_accum_steps x world_size "
            f"({grad_accum_steps} x {world_size})"
        )
    runner = _Runner(model, masked_lm_loss, compile=compile, wrap=wrap, fp16=fp16, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98), eps=1e-6)
    sched = linear_warmup_decay(opt, warmup, steps)
    gen = torch.Generator().manual_seed(seed)
    special = torch.tensor(sorted(tokenizer.all_special_ids))
    langs = sorted(data.train)
    probs = np.array([data.weights[l] for l in langs])
    rng = np.random.default_rng(seed)
    curve, t0, tokens = [], time.time(), 0
    eval_every = eval_every or max(1, steps // 5)
    running, start = None, 0
    fingerprint = dict(
        steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, weight_decay=weight_decay, mask_prob=mask_prob,
        seed=seed, tlm_fraction=tlm_fraction, code_switch_fraction=code_switch_fraction, languages=langs,
        blocks={l: len(data.train[l]) for l in langs}, heldout=len(data.heldout),
        grad_accum_steps=grad_accum_steps, world_size=world_size,
    )  # fmt: skip
    ck = _LoopCheckpoint("train_mlm", fingerprint, model, steps=steps, rank=rank, world_size=world_size, device=device)
    found = ck.load()
    if found is not None and found[0]["status"] == "done":
        return ck.replay(found, model)
    if found is not None:
        state, tensors = found
        _restore_train_state(state, tensors, model, opt, sched, runner)
        gen.set_state(tensors["gen"])
        rng.bit_generator.state = state["numpy_generator"]
        start, curve, tokens, running = state["step"], state["curve"], state["tokens"], state["running"]
        t0 = time.time() - state["seconds"]
        ck.resumed(start)
    bar = _progress(steps, desc, progress)
    bar.update(start)
    for step in range(start, steps):
        ids = torch.from_numpy(draw_mlm_rows(data, langs, probs, batch_size, rng, tlm_fraction, code_switch_fraction))
        inputs, labels = mask_tokens(ids, tokenizer, mask_prob, gen, special)
        if plain:
            loss = runner.accumulate([(inputs.to(device), labels.to(device))])
        else:  # the logged loss is this rank's share's; tokens below count the global batch (all ranks)
            masked = labels != -100
            loss = runner.accumulate(
                [(inputs[s].to(device), labels[s].to(device)) for s in shares],
                [int(masked[s].sum()) for s in shares],
                int(masked.sum()),
                world_size,
            )
        tokens += ids.numel()
        runner.optimizer_step(opt, model.parameters())
        sched.step()
        opt.zero_grad(set_to_none=True)
        lv = loss.item()
        running = lv if running is None else 0.95 * running + 0.05 * lv
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}", refresh=False)
        if (step + 1) % eval_every == 0 or step == steps - 1:
            curve.append(
                {
                    "step": step + 1,
                    "train_loss": round(running, 4),
                    "heldout_loss": round(mlm_heldout_loss(model, tokenizer, data.heldout, mask_prob, device), 4),
                    "seconds": round(time.time() - t0, 1),
                }
            )
        if ck.due(step + 1):
            state, tensors = _train_state(model, opt, sched, runner)
            tensors["gen"] = gen.get_state()
            state.update(
                status="running",
                step=step + 1,
                numpy_generator=rng.bit_generator.state,
                curve=curve,
                tokens=tokens,
                running=running,
                seconds=time.time() - t0,
            )
            ck.save(state, tensors)
    bar.close()
    secs = time.time() - t0
    out = {
        "curve": curve,
        "train_seconds": round(secs, 1),
        "tokens_per_second": round(tokens / max(secs, 1e-9), 1),
        "final_heldout_loss": curve[-1]["heldout_loss"] if curve else float("nan"),
    }
    out = out if plain else {**out, "grad_accum_steps": grad_accum_steps, "world_size": world_size}
    ck.finish(model, out)
    return out


def train_mlm_head(model, tokenizer, data: MLMData, *, steps: int, **kwargs) -> dict:
    """``train_mlm`` with the encoder fixed: only the MLM head's trainable weights move (a pretrained encoder
    without an MLM head gets a random one, which would otherwise push random gradients into the encoder during
    the first steps of continued MLM). The encoder's ``requires_grad`` flags are restored afterwards."""
    flags = {n: p.requires_grad for n, p in model.base_model.named_parameters()}
    for p in model.base_model.parameters():
        p.requires_grad_(False)
    try:
        return train_mlm(model, tokenizer, data, steps=steps, **kwargs)
    finally:
        for n, p in model.base_model.named_parameters():
            p.requires_grad_(flags[n])


# ====================================================================== fine-tuning (any task kind: xitcore.tasks)


def length_grouped_batches(feats, batch_size: int, rng: random.Random, group: int = 50, length=None):
    """Shuffle, sort within mega-batches of ``group`` batches by ``length`` (default: input ids), shuffle the
    batches."""
    length = length or (lambda f: len(f["input_ids"]))
    idx = list(range(len(feats)))
    rng.shuffle(idx)
    batches = []
    mega = batch_size * group
    for i in range(0, len(idx), mega):
        chunk = sorted(idx[i : i + mega], key=lambda k: length(feats[k]))
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def task_weights(sizes: list[int], temperature: float = 1.0) -> list:
    """Sampling weights of multi-task training: size^(1/temperature) (T5's temperature mixing; 1 = the sizes
    themselves, examples-proportional, kept as integers so that the draws stay those of runs before the option)."""
    if temperature == 1.0:
        return list(sizes)
    return [float(n) ** (1.0 / temperature) for n in sizes]


def _task_loss(model, task: str, kind: str, batch: dict, device):
    return kind_module(kind).loss(model, task, batch, device)


def finetune(
    model,
    tasks: dict[str, tuple[str, list[dict]]],
    *,
    steps: int,
    batch_size: int,
    lr: float,
    warmup: int,
    seed: int,
    pad_id: int,
    device,
    progress: bool = True,
    desc: str = "fine-tune",
    grad_accum_steps: int = 1,
    compile: bool = False,
    fp16: bool = False,
    rank: int = 0,
    world_size: int = 1,
    wrap=None,
    evaluate=None,
    eval_every: int = 0,
    patience: int = 0,
    head_lr: float = 1.0,
    temperature: float = 1.0,
) -> dict:
    """Train ``model`` on one or more tasks ({name: (kind, features)}) for ``steps`` optimizer steps.

    Early stopping as jiant's metarunner does it: with ``evaluate`` (a callable returning a dev score, higher is
    better, or a dict with that score under "score" and details, e.g. per-task scores, kept in the curve), the
    model is scored every ``eval_every`` steps and at the last step; training stops after ``patience`` scores
    without improvement and the best-scoring weights are loaded back (the learning-rate schedule still spans
    ``steps``). Without it, nothing changes.

    ``head_lr``: the parameters under ``model.heads`` train at ``lr * head_lr`` (a second AdamW group), the encoder
    at ``lr``. ``temperature``: each step picks task t with probability proportional to size_t^(1/temperature);
    1 is examples-proportional mixing (below).

    ``kind`` names a task kind of ``xitcore.tasks`` (tagging, classification, multiple_choice, qa), whose module
    collates its features and computes its loss: this loop knows no kind.
    Multi-task: each step picks a task with probability proportional to its number of features
    (examples-proportional mixing); every task keeps its own length-grouped batch stream.
    ``batch_size`` features per optimizer step in all (speed and DDP options: see above).
    """
    set_seed(seed)
    model.to(device).train()
    plain = grad_accum_steps == 1 and world_size == 1
    runner = _Runner(model, _task_loss, compile=compile, wrap=wrap, fp16=fp16, device=device)
    params = [p for p in model.parameters() if p.requires_grad]
    if head_lr == 1.0:  # one group, as before the option (optimizer state and checkpoints unchanged)
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    else:
        heads = {id(p) for p in getattr(model, "heads", torch.nn.Module()).parameters()}
        groups = [
            {"params": [p for p in params if id(p) not in heads], "lr": lr},
            {"params": [p for p in params if id(p) in heads], "lr": lr * head_lr},
        ]
        opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, weight_decay=0.01)
    sched = linear_warmup_decay(opt, warmup, steps)
    rng = random.Random(seed)
    names = sorted(tasks)
    sizes = task_weights([len(tasks[n][1]) for n in names], temperature)
    streams: dict[str, list] = {}
    epochs: dict[str, list[int]] = {}  # per task: [passes begun over its features, batches in this pass]
    losses = {n: [] for n in names}
    t0 = time.time()
    best, history, since, stopped, start = None, [], 0, None, 0
    fingerprint = dict(
        steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, seed=seed, pad_id=pad_id,
        tasks={n: [tasks[n][0], len(tasks[n][1])] for n in names}, grad_accum_steps=grad_accum_steps,
        world_size=world_size, early_stopping=[eval_every, patience] if evaluate is not None else None,
    )  # fmt: skip
    if head_lr != 1.0 or temperature != 1.0:  # added later: other loops' checkpoints still match
        fingerprint.update(head_lr=head_lr, temperature=temperature)
    ck = _LoopCheckpoint("finetune", fingerprint, model, steps=steps, rank=rank, world_size=world_size, device=device)
    found = ck.load()
    if found is not None and found[0]["status"] == "done":
        return ck.replay(found, model)
    if found is not None:
        state, tensors = found
        _restore_train_state(state, tensors, model, opt, sched, runner)
        _set_random_state(rng, state["loop_rng"])
        start, streams, epochs, losses = state["step"], state["streams"], state["epochs"], state["losses"]
        history, since = state["history"], state["since"]
        if state["best"] is not None:
            best = (*state["best"], {k[5:]: v for k, v in tensors.items() if k.startswith("best.")})
        t0 = time.time() - state["seconds"]
        ck.resumed(start, "; ".join(f"{n}: epoch {e}, batch {b - len(streams[n])}" for n, (e, b) in epochs.items()))
    bar = _progress(steps, desc, progress)
    bar.update(start)
    for step in range(start, steps):
        name = rng.choices(names, weights=sizes)[0]
        kind, feats = tasks[name]
        km = kind_module(kind)
        if not streams.get(name):
            streams[name] = length_grouped_batches(feats, batch_size, rng, length=km.feature_length)
            epochs[name] = [epochs.get(name, [0])[0] + 1, len(streams[name])]
        chosen = [feats[k] for k in streams[name].pop()]
        if plain:
            loss = runner.accumulate([(name, kind, km.collate(chosen, pad_id), device)])
        else:
            units = [km.loss_units(f) for f in chosen]
            shares = _local_shares(len(chosen), grad_accum_steps, rank, world_size)
            # A stream's last batch can be short: an empty share runs one example weighted 0 (DDP stays in step).
            micro = [(name, kind, km.collate(chosen[s] or chosen[:1], pad_id), device) for s in shares]
            loss = runner.accumulate(micro, [sum(units[s]) for s in shares], sum(units), world_size)
        runner.optimizer_step(opt, params)
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses[name].append(loss.item())
        bar.update(1)
        bar.set_postfix(task=name, loss=f"{losses[name][-1]:.3f}", refresh=False)
        if evaluate is not None and ((step + 1) % eval_every == 0 or step == steps - 1):
            got = evaluate()
            details = dict(got) if isinstance(got, dict) else {"score": got}
            score = float(details.pop("score"))
            history.append({"step": step + 1, "dev": round(score, 4), **details})
            if best is None or score > best[0]:
                state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                best, since = (score, step + 1, state), 0
            else:
                since += 1
                if since >= patience:
                    stopped = step + 1
                    break
        if ck.due(step + 1):
            state, tensors = _train_state(model, opt, sched, runner)
            if best is not None:
                tensors.update({f"best.{k}": v for k, v in best[2].items()})
            state.update(
                status="running",
                step=step + 1,
                loop_rng=_random_state(rng),
                streams=streams,
                epochs=epochs,
                losses=losses,
                history=history,
                best=list(best[:2]) if best is not None else None,
                since=since,
                seconds=time.time() - t0,
            )
            ck.save(state, tensors)
    bar.close()
    out = {"train_seconds": round(time.time() - t0, 1), "steps": steps}
    if best is not None:
        model.load_state_dict(best[2])
        out["early_stopping"] = {
            "dev_scores": history,
            "best_step": best[1],
            "best_dev": round(best[0], 4),
            "stopped_at": stopped or steps,
            "eval_every": eval_every,
            "patience": patience,
        }
    if not plain:
        out.update(grad_accum_steps=grad_accum_steps, world_size=world_size)
    if temperature != 1.0:
        out["sampling"] = {"temperature": temperature, **{n: round(w / sum(sizes), 4) for n, w in zip(names, sizes)}}
    if head_lr != 1.0:
        out["head_lr"] = head_lr
    for n, ls in losses.items():
        if ls:
            k = max(1, len(ls) // 10)
            out[f"{n}_first_loss"] = round(float(np.mean(ls[:k])), 4)
            out[f"{n}_last_loss"] = round(float(np.mean(ls[-k:])), 4)
            out[f"{n}_steps"] = len(ls)
    ck.finish(model, out)
    return out
