"""Training and inference loops: packed MLM, length-grouped fine-tuning, zero-shot prediction.

CPU minutes are the scarce resource at smoke scale, so: MLM blocks are packed (no padding at all) and
project onto the vocabulary only at masked positions; fine-tuning batches are grouped by length and
padded dynamically, so almost no compute goes to padding.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from .model import linear_warmup_decay, masked_lm_loss
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
    bar = _progress(steps, desc, progress)
    running = None
    for step in range(steps):
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
    bar.close()
    secs = time.time() - t0
    out = {
        "curve": curve,
        "train_seconds": round(secs, 1),
        "tokens_per_second": round(tokens / max(secs, 1e-9), 1),
        "final_heldout_loss": curve[-1]["heldout_loss"] if curve else float("nan"),
    }
    return out if plain else {**out, "grad_accum_steps": grad_accum_steps, "world_size": world_size}


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
) -> dict:
    """Train ``model`` on one or more tasks ({name: (kind, features)}) for ``steps`` optimizer steps.

    Early stopping as jiant's metarunner does it: with ``evaluate`` (a callable returning a dev score, higher is
    better), the model is scored every ``eval_every`` steps and at the last step; training stops after
    ``patience`` scores without improvement and the best-scoring weights are loaded back (the learning-rate
    schedule still spans ``steps``). Without it, nothing changes.

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
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = linear_warmup_decay(opt, warmup, steps)
    rng = random.Random(seed)
    names = sorted(tasks)
    sizes = [len(tasks[n][1]) for n in names]
    streams: dict[str, list] = {}
    losses = {n: [] for n in names}
    t0 = time.time()
    bar = _progress(steps, desc, progress)
    best, history, since, stopped = None, [], 0, None
    for step in range(steps):
        name = rng.choices(names, weights=sizes)[0]
        kind, feats = tasks[name]
        km = kind_module(kind)
        if not streams.get(name):
            streams[name] = length_grouped_batches(feats, batch_size, rng, length=km.feature_length)
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
            score = float(evaluate())
            history.append({"step": step + 1, "dev": round(score, 4)})
            if best is None or score > best[0]:
                state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                best, since = (score, step + 1, state), 0
            else:
                since += 1
                if since >= patience:
                    stopped = step + 1
                    break
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
    for n, ls in losses.items():
        if ls:
            k = max(1, len(ls) // 10)
            out[f"{n}_first_loss"] = round(float(np.mean(ls[:k])), 4)
            out[f"{n}_last_loss"] = round(float(np.mean(ls[-k:])), 4)
            out[f"{n}_steps"] = len(ls)
    return out
