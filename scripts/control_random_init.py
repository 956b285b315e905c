#!/usr/bin/env python3
"""Control: does MLM pre-training help English UPOS at smoke scale?

Fine-tunes the English POS tagger the same way (EWT dev, same steps, lr, batch, seed) on top of
(a) the smoke preset's pre-trained MLM encoder and (b) a randomly initialised encoder of the same
shape, and prints accuracy on the PUD-en evaluation half. Reuses the smoke preset's phase-(i) steps
from the run store (runs them first if they are missing).

    .venv/bin/python scripts/control_random_init.py [--runs-dir runs] [--steps 300] [--seed 1]
"""
import argparse
import sys

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs-dir", default="runs")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    from transformers import XLMRobertaModel

    from xitcore.config import PARAMS_ROOT, load_condition
    from xitcore.metrics import pos_accuracy
    from xitcore.model import MultiTaskModel, load_encoder, load_tokenizer, make_head
    from xitcore.pipeline import quiet_transformers, step_corpus, step_mlm, step_tokenizer
    from xitcore.runstore import RunStore
    from xitcore.tasks import UPOS, load_pos_eval, load_pos_train
    from xitcore.train import encode_tagging, finetune, predict_tagging

    quiet_transformers()
    cfg = load_condition(PARAMS_ROOT / "smoke" / "no-intermediate.yaml")
    store = RunStore(a.runs_dir)
    corpus = step_corpus(store, cfg)
    mlm = step_mlm(store, cfg, step_tokenizer(store, cfg, corpus), corpus)
    src = mlm.path / "model"
    tok = load_tokenizer(src)
    train, ev = load_pos_train(), load_pos_eval("en")
    feats = encode_tagging(tok, train, {l: i for i, l in enumerate(UPOS)}, cfg.model.max_length)
    device = torch.device("cpu")
    print(f"source: runs/{mlm.rel}; {a.steps} steps, batch {cfg.target.batch_size}, lr {cfg.target.lr}, seed {a.seed}")
    for name in ("pre-trained MLM encoder", "random-init encoder"):
        enc = load_encoder(src)
        if name.startswith("random"):
            torch.manual_seed(a.seed)
            enc = XLMRobertaModel(enc.config, add_pooling_layer=False)
        model = MultiTaskModel(enc, {"pos": make_head("tagging", enc.config.hidden_size, len(UPOS), cfg.model.dropout)})
        finetune(model, {"pos": ("tagging", feats)}, steps=a.steps, batch_size=cfg.target.batch_size, lr=cfg.target.lr,
                 warmup=a.steps // 10, seed=a.seed, pad_id=tok.pad_token_id, device=device, progress=False)
        pred = predict_tagging(model, "pos", tok, ev, UPOS, cfg.model.max_length, device)
        print(f"{name:26s} PUD-en UPOS accuracy {100 * pos_accuracy([e['tags'] for e in ev], pred):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
