"""Data-parallel training (DDP) across processes, launched by ``torchrun`` (or ``accelerate launch``).

    torchrun --nproc_per_node N -m xitcore.distributed mlm params/gpu-small/no-intermediate.yaml [--set k=v ...]
    accelerate launch --multi_gpu --num_processes N -m xitcore.distributed mlm params/...yaml [--set k=v ...]
    torchrun --nproc_per_node 2 -m xitcore.distributed mlm <params.yaml> --set device=cpu   # gloo on CPU

runs the preset's phase-(i) MLM step (building the corpus and tokenizer first if needed) into the run store.
Batch semantics: ``mlm.batch_size`` stays the GLOBAL batch of one optimizer step. Every rank draws the same
global batch (same seed) and trains on its own contiguous 1/N share of rows; DDP averages the gradients and
each share's loss is weighted by its masked-token count, so N ranks make the update one process would make
with the whole batch (up to float rounding). Hence the step's run-store key does not depend on N.
``--grad-accum-steps k`` splits each rank's share into k micro-batches (same update again: less memory).
In the step's metrics, ``tokens_per_second`` counts the global batch and ``train_loss`` is rank 0's share.
Only rank 0 writes the run store; the other ranks train alongside it and write their copy of the step's
artefacts to a scratch directory that is deleted. Ranks wait at a barrier before reading what rank 0 wrote
(several nodes need the run store on a shared filesystem). Checkpoints inside the step (``XIT_CHECKPOINT_*``, see
``xitcore.train``): rank 0 saves the training state, each other rank its random states beside it, at the same step;
a rerun resumes on every rank from that step, or on none. Resume with the same number of ranks.
For fine-tuning, ``finetune(..., **loop_kwargs(ctx, find_unused_parameters=len(tasks) > 1))`` does the same
(multi-task steps leave the other heads unused); rank 0 alone should save the model.
``accelerate launch --multi_gpu`` runs torchrun underneath and sets the same environment (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR/PORT), so it works unchanged; its own gradient accumulation and mixed precision are
not used (see --grad-accum-steps and the preset's ``precision``). On CPU use torchrun: ``accelerate launch
--cpu --num_processes 2`` starts a single process here (accelerate 1.15), which then trains alone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device: str = "auto") -> DistContext:
    """Join the process group torchrun describes in the environment (nccl on CUDA, gloo on CPU).

    Without ``WORLD_SIZE`` in the environment this is a single process and no group is created.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)  # so that plain "cuda" (the pipeline's device) is this rank's GPU
    dev = torch.device("cuda", local) if cuda else torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(
            "nccl" if cuda else "gloo", rank=rank, world_size=world, **({"device_id": dev} if cuda else {})
        )
    return DistContext(rank, world, local, dev)


def barrier(ctx: DistContext) -> None:
    if ctx.world_size > 1:
        dist.barrier()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def ddp_wrapper(ctx: DistContext, find_unused_parameters: bool = False):
    """``wrap`` for the training loops: the loss module in DistributedDataParallel.

    Multi-task fine-tuning leaves the other tasks' heads unused in a step: pass find_unused_parameters=True.
    """
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    # The encoder's buffers (position ids) are constants: no need to sync them before every forward.
    newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    no_sync = {"forward_sync_buffers": False} if newer else {"broadcast_buffers": False}

    def wrap(module):
        ids = [ctx.local_rank] if ctx.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused_parameters, **no_sync)

    return wrap


def loop_kwargs(ctx: DistContext, find_unused_parameters: bool = False) -> dict:
    """Keyword arguments that make ``train_mlm`` / ``finetune`` train this rank's share under DDP."""
    if ctx.world_size == 1:
        return {}
    return {"rank": ctx.rank, "world_size": ctx.world_size, "wrap": ddp_wrapper(ctx, find_unused_parameters)}


def run_mlm(cfg, runs_dir, ctx: DistContext, grad_accum_steps: int = 1, compile: bool = False):
    """Phase (i) MLM under DDP: rank 0 prepares corpus and tokenizer, all ranks train, rank 0 writes."""
    from .pipeline import step_corpus, step_dictionary, step_encoder, step_mlm, step_tokenizer
    from .runstore import CHECKPOINT_DIR, RunStore, checkpoint_scope

    store = RunStore(runs_dir)
    encoder = step_encoder(store, cfg)
    corpus = step_corpus(store, cfg)
    tokenizer = step_tokenizer(store, cfg, corpus, encoder)
    dictionary = step_dictionary(store, cfg, corpus)
    mlm = step_mlm(store, cfg, tokenizer, corpus, dictionary=dictionary, encoder=encoder)
    if ctx.is_main:
        for node in (encoder, corpus, tokenizer, dictionary):
            if node is not None:
                store.execute(node)
    barrier(ctx)
    flag = [mlm.done]
    if ctx.world_size > 1:
        dist.broadcast_object_list(flag, src=0)  # rank 0 decides, so that all ranks train or none does
    if not flag[0]:
        extra = {**loop_kwargs(ctx), "grad_accum_steps": grad_accum_steps, "compile": compile, "progress": ctx.is_main}
        node = step_mlm(store, cfg, tokenizer, corpus, train_kwargs=extra, dictionary=dictionary, encoder=encoder)
        if ctx.is_main:
            store.execute(node)
        else:  # the other ranks train alongside rank 0 and write their copy of the artefacts to scratch
            # They resume from rank 0's checkpoint too, and keep their own random states beside it.
            with (
                tempfile.TemporaryDirectory(prefix="xit-rank-scratch-") as work,
                checkpoint_scope(node.path / CHECKPOINT_DIR, node.rel, rank=ctx.rank),
            ):
                node.fn(Path(work))
    barrier(ctx)  # rank 0's metrics.json and model/ are complete before anyone reads them
    return mlm.step


def main(argv=None) -> int:
    from .config import deep_merge, load_condition, parse_override
    from .errors import XitError

    p = argparse.ArgumentParser(prog="python -m xitcore.distributed", description="DDP training under torchrun")
    p.add_argument("what", choices=["mlm"], help="mlm: the preset's phase-(i) MLM pre-training step")
    p.add_argument("params", help="a condition YAML, e.g. params/gpu-small/no-intermediate.yaml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable")
    p.add_argument("--runs", default="runs", help="run store directory")
    p.add_argument("--grad-accum-steps", type=int, default=1, help="micro-batches per rank and optimizer step")
    p.add_argument("--compile", action="store_true", help="torch.compile the loss (eager fallback)")
    a = p.parse_args(argv)
    try:
        over: dict = {}
        for s in a.set:
            over = deep_merge(over, parse_override(s))
        cfg = load_condition(a.params, over)
    except XitError as e:
        print(f"xit: error: {e}", file=sys.stderr)
        return 2
    ctx = init_from_env(cfg.device)
    try:
        # Only rank 0 logs: the other ranks print the same lines.
        with contextlib.nullcontext() if ctx.is_main else contextlib.redirect_stdout(io.StringIO()):
            step = run_mlm(cfg, a.runs, ctx, a.grad_accum_steps, a.compile)
        if ctx.is_main:
            print(f"[xit] MLM step (world size {ctx.world_size}): {Path(a.runs) / step.rel}", flush=True)
    except (XitError, ValueError) as e:
        print(f"xit: error: {e}", file=sys.stderr)
        return 2
    finally:
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
