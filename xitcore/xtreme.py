"""XTREME-R targets (phase iii on hub data): English training data, zero-shot evaluation sets, predictions, scores.

Everything is read through :mod:`xitcore.kinds` (hub row mappers, language lists, metrics); this module turns
its dataclass examples into the example dicts of :mod:`xitcore.train` and scores a fine-tuned
:class:`~xitcore.model.MultiTaskModel` per language. ``pipeline.step_xtreme_target`` runs it as a step.

English training data, as XTREME(-R) does: XNLI on MNLI, XQuAD and MLQA on SQuAD v1.1, TyDiQA-GoldP on its own
English train questions, PAWS-X / UD-POS / PAN-X on their English train splits. XCOPA: XTREME-R trains on SIQA
and then COPA; here on COPA's train split alone (SIQA is not wired in yet).
"""
from __future__ import annotations

import random

import numpy as np
import torch

from .kinds import extractive_qa as qa
from .kinds import registry
from .kinds import sentence_classification as sc
from .kinds import token_classification as tc
from .kinds.multiple_choice import xcopa_row

# kinds' kind -> the model/feature kind of xitcore.train
MODEL_KIND = {"sentence_classification": "classification", "token_classification": "tagging",
              "multiple_choice": "multiple_choice", "extractive_qa": "qa"}
# target -> (kinds task whose English train split trains it, what that is)
TRAIN_SOURCE = {
    "xnli": ("mnli", "MNLI train (nyu-mll/glue mnli)"),
    "pawsx": ("pawsx", "PAWS-X English train (google/xtreme PAWS-X.en)"),
    "xcopa": ("copa", "COPA train (aps/super_glue copa); XTREME-R trains on SIQA, then COPA"),
    "udpos": ("udpos", "UD English train (google/xtreme udpos.English)"),
    "panx": ("panx", "PAN-X English train (google/xtreme PAN-X.en)"),
    "xquad": ("squad", "SQuAD v1.1 train (rajpurkar/squad)"),
    "mlqa": ("squad", "SQuAD v1.1 train (rajpurkar/squad)"),
    "tydiqa": ("tydiqa", "TyDiQA-GoldP English train questions (google/xtreme tydiqa)"),
}
COPA_HUB = ("aps/super_glue", "copa", "train")  # same fields as XCOPA rows, so xcopa_row maps both
# Headline metrics per target (percent) that results.load_results turns into rows.
HEADLINE = {"sentence_classification": ["accuracy"], "multiple_choice": ["accuracy"],
            "token_classification": {"pos": ["accuracy", "seqeval_f1"], "ner": ["span_f1"]},
            "extractive_qa": ["f1", "exact_match"]}
TRAIN_SAMPLE_SEED = 0  # max_train_examples draws one fixed sample, the same for every seed and condition


def kind_of(task: str) -> str:
    return MODEL_KIND[registry.get_task_def(task).kind]


def labels_of(task: str) -> list[str]:
    if task in sc.LABELS:
        return sc.LABELS[task]
    return {"udpos": tc.UPOS_LABELS, "panx": tc.PANX_LABELS}.get(task, [])


def headline_metrics(task: str) -> list[str]:
    d = registry.get_task_def(task)
    h = HEADLINE[d.kind]
    return h[d.metric] if isinstance(h, dict) else h


# ------------------------------------------------------------------ data

def load_train(task: str, max_examples: int = 0) -> list:
    """English training examples (kinds dataclasses) with a label; a fixed sample of ``max_examples`` if set."""
    source, _ = TRAIN_SOURCE[task]
    if source == "copa":
        rows = registry.load_hub_rows(task, *COPA_HUB)  # looked up at call time: tests feed rows here
        examples = [xcopa_row(r, "en", "COPA row") for r in rows]
    else:
        examples = registry.load_hub_examples(source, "en", "train")
    examples = [e for e in examples if is_labelled(e)]
    if max_examples and len(examples) > max_examples:
        keep = sorted(random.Random(TRAIN_SAMPLE_SEED).sample(range(len(examples)), max_examples))
        examples = [examples[i] for i in keep]
    return examples


def load_eval(task: str, lang: str) -> list:
    """Test examples of ``task`` in ``lang`` (XTREME's evaluation split: dev for TyDiQA, as the registry maps)."""
    return [e for e in registry.load_hub_examples(task, lang, "test") if is_labelled(e)]


def is_labelled(e) -> bool:
    if isinstance(e, qa.QAExample):
        return bool(e.answers)
    if isinstance(e, tc.TaggedSentence):
        return bool(e.words)
    return e.label >= 0


def to_dicts(kind: str, examples: list) -> list[dict]:
    """kinds dataclasses -> xitcore.train example dicts (QA keeps the dataclasses: kinds windows them)."""
    if kind == "classification":
        return [{"text_a": e.text_a, "text_b": e.text_b, "label": e.label} for e in examples]
    if kind == "multiple_choice":
        return [{"premise": e.premise, "question": e.question or "", "choices": list(e.choices), "label": e.label}
                for e in examples]
    if kind == "tagging":
        return [{"words": list(e.words), "tags": list(e.tags)} for e in examples]
    return list(examples)


def qa_window_args(max_length: int) -> dict:
    # XTREME's 64-token questions and 128-token stride, scaled down for short windows (room stays for context).
    return {"max_length": max_length, "max_query_length": min(64, max_length // 3), "doc_stride": min(128, max_length // 4)}


def train_features(kind: str, tokenizer, examples: list, labels: list[str], max_length: int) -> list[dict]:
    from .train import encode_classification, encode_multiple_choice, encode_tagging

    ex = to_dicts(kind, examples)
    if kind == "classification":
        return encode_classification(tokenizer, ex, max_length)
    if kind == "multiple_choice":
        return encode_multiple_choice(tokenizer, ex, max_length)
    if kind == "tagging":
        return encode_tagging(tokenizer, ex, {l: i for i, l in enumerate(labels)}, max_length)
    return [{"input_ids": f.input_ids, "start": f.start, "end": f.end}
            for f in qa.encode_qa_windows(tokenizer, ex, **qa_window_args(max_length))]


# ------------------------------------------------------------------ prediction and scores

@torch.no_grad()
def predict_classification(model, task: str, tokenizer, examples: list[dict], max_length: int, device,
                           batch_size: int = 64) -> list[int]:
    from .train import _pad, encode_classification

    model.eval()
    feats = encode_classification(tokenizer, examples, max_length)
    out = []
    for i in range(0, len(feats), batch_size):
        ids = _pad([f["input_ids"] for f in feats[i:i + batch_size]], tokenizer.pad_token_id).to(device)
        out += model(task, ids, (ids != tokenizer.pad_token_id).long()).argmax(-1).cpu().tolist()
    model.train()
    return out


@torch.no_grad()
def predict_qa(model, task: str, tokenizer, examples: list, max_length: int, device, batch_size: int = 64) -> list[str]:
    """Answer text per example: start/end logits over every window, best span of the context (kinds' n-best)."""
    from .train import _pad

    model.eval()
    feats = qa.encode_qa_windows(tokenizer, examples, **qa_window_args(max_length))
    starts, ends = [], []
    for i in range(0, len(feats), batch_size):
        chunk = feats[i:i + batch_size]
        ids = _pad([f.input_ids for f in chunk], tokenizer.pad_token_id).to(device)
        s, e = model(task, ids, (ids != tokenizer.pad_token_id).long())
        for f, sr, er in zip(chunk, s.float().cpu().numpy(), e.float().cpu().numpy()):
            starts.append(sr[:len(f.input_ids)])
            ends.append(er[:len(f.input_ids)])
    model.train()
    return [p.text for p in qa.postprocess_qa(examples, feats, starts, ends)]


def evaluate(model, task: str, tokenizer, examples: list, lang: str, max_length: int, device,
             batch_size: int = 64) -> tuple[dict, dict | None]:
    """({metric: percent, ..., "examples": n}, QA predictions {id: text} or None) for one language."""
    from .train import predict_multiple_choice, predict_tagging

    kind, d = kind_of(task), registry.get_task_def(task)
    ex = to_dicts(kind, examples)
    pct = lambda v: round(100 * float(v), 2)  # noqa: E731
    out, preds = {"examples": len(examples)}, None
    if kind == "classification":
        pred = predict_classification(model, task, tokenizer, ex, max_length, device, batch_size)
        out["accuracy"] = pct(registry.METRICS[d.metric]([e["label"] for e in ex], pred))
    elif kind == "multiple_choice":
        pred = predict_multiple_choice(model, task, tokenizer, ex, max_length, device, batch_size)
        out["accuracy"] = pct(registry.METRICS[d.metric]([e["label"] for e in ex], pred))
    elif kind == "tagging":
        pred = predict_tagging(model, task, tokenizer, ex, labels_of(task), max_length, device, batch_size)
        out.update({k: pct(v) for k, v in registry.METRICS[d.metric]([e["tags"] for e in ex], pred).items()})
    else:
        texts = predict_qa(model, task, tokenizer, examples, max_length, device, batch_size)
        # XTREME: MLQA's own per-language normalisation for MLQA, official SQuAD v1.1 for XQuAD / TyDiQA.
        s = qa.qa_scores([e.answers for e in examples], texts, lang, mlqa=d.metric == "mlqa_f1_em")
        out.update(f1=pct(s["f1"]), exact_match=pct(s["exact_match"]))
        preds = {e.id or str(k): t for k, (e, t) in enumerate(zip(examples, texts))}
    return out, preds


def average(per_lang: dict[str, dict], metrics: list[str]) -> dict:
    """Zero-shot averages (English, the training language, excluded) of the headline metrics."""
    zs = [v for l, v in per_lang.items() if l != "en"]
    return {m: round(float(np.mean([v[m] for v in zs])), 2) for m in metrics} if zs else {}
