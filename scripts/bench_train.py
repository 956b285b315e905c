"""Training throughput: this project's loops against a plain Hugging Face ``Trainer``, measured in one run.

Two workloads on the same model config, data, batch size and number of steps:
  mlm      ours: packed blocks, vocabulary projection at masked positions only (``train_mlm``);
           HF:   ``XLMRobertaForMaskedLM`` + ``DataCollatorForLanguageModeling`` on the same corpus sentences,
                 padded per batch (standard HF usage)
  tagging  ours: ``finetune`` (length-grouped batches, dynamic padding, head on labelled positions only);
           HF:   ``AutoModelForTokenClassification`` + ``DataCollatorForTokenClassification`` on the same windows
tokens/s counts REAL (non-pad) tokens in both, read by a hook on the encoder's input (attention mask), and
``--warmup-steps`` steps run first and are left out of the timing. On CUDA it also prints MFU: model FLOPs
(6 x non-embedding parameters x real tokens + 12 x layers x hidden x sum of real lengths squared, i.e.
attention) over ``--peak-tflops`` (default: H100 SXM dense bf16, 989).

    .venv/bin/python scripts/bench_train.py --preset-shape smoke --steps 10 --threads 1 --out bench.json
    .venv/bin/python scripts/bench_train.py --preset-shape xlmr-large --device cuda --precision bf16 --batch-size 16

On a CPU that other work shares, pass --threads 1: two threads on two busy cores thrash (steps 5-10x slower).
Both frameworks run in this one process, ours first; run it twice when the numbers look noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

# Encoder shapes. "tiny" exists for the test; "xlmr-large" keeps XLM-R's 250,002-row vocabulary (the
# tokenizer here is trained offline and smaller; the extra rows are never looked up but are projected onto).
SHAPES = {
    "tiny": dict(hidden=32, layers=1, heads=2, ffn=64, seq=48, tok_vocab=600, model_vocab=None, mlm_batch=8, tag_batch=8),
    "smoke": dict(hidden=128, layers=4, heads=4, ffn=512, seq=128, tok_vocab=8000, model_vocab=None, mlm_batch=64,
                  tag_batch=32),
    "xlmr-large": dict(hidden=1024, layers=24, heads=16, ffn=4096, seq=256, tok_vocab=8000, model_vocab=250002,
                       mlm_batch=8, tag_batch=8),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset-shape", choices=sorted(SHAPES), default="smoke")
    p.add_argument("--workloads", default="mlm,tagging", help="comma list of: mlm, tagging")
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps per framework and workload")
    p.add_argument("--warmup-steps", type=int, default=3, help="untimed steps run first")
    p.add_argument("--batch-size", type=int, default=0, help="0 = the shape's default (MLM and tagging differ)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--compile", action="store_true", help="torch.compile in both (Trainer: torch_compile=True)")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="GPU peak for MFU (H100 SXM dense bf16: 989)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument("--languages", default="", help="corpus languages (comma list; empty = all shipped)")
    p.add_argument("--max-sentences", type=int, default=20000, help="corpus sentences per language")
    p.add_argument("--cache-dir", default="runs/.bench-cache", help="built corpus and tokenizer are kept here")
    p.add_argument("--out", default="", help="write the results as JSON here")
    a = p.parse_args(argv)
    a.workloads = [w for w in a.workloads.split(",") if w]
    bad = [w for w in a.workloads if w not in ("mlm", "tagging")]
    if bad:
        p.error(f"--workloads: {', '.join(bad)} unknown; allowed: mlm, tagging")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device here; allowed: cpu")
    if a.steps < 1 or a.warmup_steps < 0:
        p.error("--steps must be >= 1 and --warmup-steps >= 0")
    return a


# ---------------------------------------------------------------------------------------- data, models

def corpus_and_tokenizer(a, shape):
    """The shipped multilingual corpus and a BPE tokenizer trained on it offline, cached in --cache-dir."""
    from xitcore.corpus import build_corpus, read_corpus
    from xitcore.model import load_tokenizer, train_tokenizer

    langs = sorted(l for l in a.languages.split(",") if l)
    cdir = Path(a.cache_dir) / f"corpus-{'-'.join(langs) or 'all'}-{a.max_sentences}"
    if not (cdir / "stats.json").is_file():
        print(f"building the corpus in {cdir}", flush=True)
        build_corpus(cdir, langs, a.max_sentences)
    corpus = read_corpus(cdir)
    tdir = cdir / f"tokenizer-{shape['tok_vocab']}"
    if (tdir / "tokenizer.json").is_file():
        return corpus, load_tokenizer(tdir)
    texts = [s for sents in corpus.values() for s in sents[:1500]]
    return corpus, train_tokenizer(shape["tok_vocab"], texts, tdir)


def encoder_cfg(shape, tok, **extra):
    from transformers import XLMRobertaConfig

    cfg = XLMRobertaConfig(
        vocab_size=shape["model_vocab"] or len(tok), hidden_size=shape["hidden"], num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"], intermediate_size=shape["ffn"], max_position_embeddings=shape["seq"] + 4,
        type_vocab_size=1, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, **extra)
    cfg._attn_implementation = "sdpa"
    return cfg


class TokenCounter:
    """Forward pre-hook on the encoder: real (non-pad) tokens, padded tokens and sum of squared real lengths."""

    def __init__(self, encoder):
        self.reset()
        encoder.register_forward_pre_hook(self._hook, with_kwargs=True)

    def reset(self):
        self.real, self.padded, self.sq = 0, 0, 0

    @torch.compiler.disable  # runs eagerly under --compile: tracing it would recompile at every step
    def _hook(self, module, args, kwargs):
        if not module.training:
            return
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        lens = mask.sum(1) if mask is not None else torch.full((ids.shape[0],), ids.shape[1], device=ids.device)
        self.real = self.real + lens.sum()  # tensors: no device sync per step
        self.sq = self.sq + (lens.double() ** 2).sum()
        self.padded += ids.numel()

    def totals(self):
        return int(self.real), self.padded, float(self.sq)


class StepClock:
    """Times optimizer steps start+1 .. stop of a run and counts their tokens, the same way for both frameworks.

    A global optimizer post-step hook marks step ends, so warm-up steps (and set-up before them) are excluded.
    """

    def __init__(self, counter: TokenCounter, start: int, stop: int, device):
        self.counter, self.start, self.stop, self.device = counter, start, stop, device
        self.steps, self.t0, self.secs, self.tokens = 0, None, None, None

    def __enter__(self):
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self.handle = register_optimizer_step_post_hook(self._hook)
        if self.start == 0:
            self._begin()
        return self

    def __exit__(self, *exc):
        self.handle.remove()

    def _begin(self):
        sync(self.device)
        self.counter.reset()
        self.t0 = time.perf_counter()

    def _hook(self, optimizer, args, kwargs):
        self.steps += 1
        if self.steps == self.start:
            self._begin()
        if self.steps == self.stop:
            sync(self.device)
            self.secs = time.perf_counter() - self.t0
            self.tokens = self.counter.totals()


def nonembedding_params(encoder) -> int:
    return sum(p.numel() for p in encoder.encoder.parameters())  # the transformer layers


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------- the two frameworks

def bench_ours(a, workload, shape, tok, corpus, feats, batch, device):
    from xitcore.model import MultiTaskModel, autocast, make_head
    from xitcore.tasks import UPOS
    from xitcore.train import finetune, prepare_mlm_data, train_mlm
    from transformers import XLMRobertaForMaskedLM, XLMRobertaModel

    torch.manual_seed(0)
    if workload == "mlm":
        model = XLMRobertaForMaskedLM(encoder_cfg(shape, tok))
        encoder = model.roberta
        data = prepare_mlm_data(tok, corpus, shape["seq"], alpha=0.3, seed=0)
        data.heldout = np.zeros((0, shape["seq"]), dtype=np.int64)  # no held-out evaluation inside the timing

        def run(steps):
            train_mlm(model, tok, data, steps=steps, batch_size=batch, lr=5e-4, warmup=0, weight_decay=0.01,
                      mask_prob=0.15, seed=0, device=device, desc="xit MLM", compile=a.compile)
    else:
        encoder = XLMRobertaModel(encoder_cfg(shape, tok), add_pooling_layer=False)
        model = MultiTaskModel(encoder, {"pos": make_head("tagging", shape["hidden"], len(UPOS))})

        def run(steps):
            finetune(model, {"pos": ("tagging", feats)}, steps=steps, batch_size=batch, lr=5e-4, warmup=0,
                     seed=0, pad_id=tok.pad_token_id, device=device, desc="xit fine-tune", compile=a.compile)
    total = a.warmup_steps + a.steps
    with autocast(a.precision, device), StepClock(TokenCounter(encoder), a.warmup_steps, total, device) as clock:
        run(total)
    return clock.secs, clock.tokens, nonembedding_params(encoder)


def bench_hf(a, workload, shape, tok, corpus, feats, batch, device):
    from transformers import (AutoModelForTokenClassification, DataCollatorForLanguageModeling,
                              DataCollatorForTokenClassification, Trainer, TrainingArguments,
                              XLMRobertaForMaskedLM)
    from xitcore.tasks import UPOS

    torch.manual_seed(0)
    if workload == "mlm":
        model = XLMRobertaForMaskedLM(encoder_cfg(shape, tok))
        sents = [s for lang in sorted(corpus) for s in corpus[lang]]
        enc = tok(sents, truncation=True, max_length=shape["seq"])["input_ids"]
        dataset = [{"input_ids": ids} for ids in enc]
        collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
        betas = dict(adam_beta2=0.98, adam_epsilon=1e-6)
    else:
        cfg = encoder_cfg(shape, tok, num_labels=len(UPOS))
        model = AutoModelForTokenClassification.from_config(cfg, attn_implementation="sdpa")
        dataset = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in feats]
        collator = DataCollatorForTokenClassification(tok)
        betas = {}
    total = a.warmup_steps + a.steps
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, max_steps=total, per_device_train_batch_size=batch, learning_rate=5e-4,
            weight_decay=0.01, warmup_steps=0, max_grad_norm=1.0, logging_strategy="no", save_strategy="no",
            report_to="none", use_cpu=device.type == "cpu", bf16=a.precision == "bf16", torch_compile=a.compile,
            dataloader_num_workers=0, seed=0, disable_tqdm=False, **betas)
        trainer = Trainer(model=model, args=args, data_collator=collator, train_dataset=dataset)
        with StepClock(TokenCounter(model.roberta), a.warmup_steps, total, device) as clock:
            trainer.train()
    return clock.secs, clock.tokens, nonembedding_params(model.roberta)


# ---------------------------------------------------------------------------------------- report

def row(framework, workload, secs, totals, n_nonemb, shape, batch, a, device):
    real, padded, sq = totals
    r = {"workload": workload, "framework": framework, "steps": a.steps, "batch_size": batch, "seconds": round(secs, 3),
         "real_tokens": real, "padded_tokens": padded, "pad_share": round(1 - real / max(padded, 1), 4),
         "tokens_per_second": round(real / secs, 1)}
    if device.type == "cuda":
        flops = 6 * n_nonemb * real + 12 * shape["layers"] * shape["hidden"] * sq
        r["model_tflops"] = round(flops / secs / 1e12, 2)
        r["mfu"] = round(flops / secs / (a.peak_tflops * 1e12), 4)
    return r


def print_table(rows, ratios, a, device):
    cols = ["workload", "framework", "steps", "batch_size", "real_tokens", "pad_share", "seconds", "tokens_per_second"]
    if device.type == "cuda":
        cols += ["model_tflops", "mfu"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print(" | ".join(c.ljust(width[c]) for c in cols))
    print("-+-".join("-" * width[c] for c in cols))
    for r in rows:
        print(" | ".join(str(r[c]).ljust(width[c]) for c in cols))
    for w, x in ratios.items():
        print(f"{w}: ratio xit / HF Trainer = {x:.2f}x (real non-pad tokens per second)")
    if device.type == "cuda":
        print(f"MFU against a peak of {a.peak_tflops} TFLOP/s (--peak-tflops); model FLOPs = 6 N_nonemb tokens + attention")


def main(argv=None):
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    import transformers

    transformers.utils.logging.set_verbosity_error()
    from xitcore.tasks import UPOS, load_pos_train
    from xitcore.train import encode_tagging

    device = torch.device(a.device)
    shape = SHAPES[a.preset_shape]
    corpus, tok = corpus_and_tokenizer(a, shape)
    feats = encode_tagging(tok, load_pos_train(), {l: i for i, l in enumerate(UPOS)}, shape["seq"])
    rows, ratios = [], {}
    for w in a.workloads:
        batch = a.batch_size or shape[f"{w}_batch" if w == "mlm" else "tag_batch"]
        got = {}
        for name, fn in (("xit", bench_ours), ("hf-trainer", bench_hf)):
            print(f"[bench] {w}: {name}, {a.warmup_steps} warm-up + {a.steps} timed steps of batch {batch}", flush=True)
            secs, totals, n = fn(a, w, shape, tok, corpus, feats, batch, device)
            got[name] = row(name, w, secs, totals, n, shape, batch, a, device)
            rows.append(got[name])
        ratios[w] = got["xit"]["tokens_per_second"] / got["hf-trainer"]["tokens_per_second"]
    print_table(rows, ratios, a, device)
    result = {"shape": a.preset_shape, "shape_dims": shape, "device": a.device, "precision": a.precision,
              "compile": a.compile, "threads": torch.get_num_threads(), "warmup_steps": a.warmup_steps,
              "tokens_counted": "real (non-pad) tokens seen by the encoder in training mode",
              "peak_tflops": a.peak_tflops if device.type == "cuda" else None,
              "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
              "rows": rows, "ratio_xit_over_hf": {w: round(x, 3) for w, x in ratios.items()}}
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2))
        print(f"wrote {a.out}")
    return result


if __name__ == "__main__":
    main()
