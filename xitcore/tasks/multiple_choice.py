"""Multiple choice: XCOPA (target), HellaSwag, CommonsenseQA, CosmosQA (intermediate tasks).

Every dataset's row becomes a :class:`ChoiceExample` (premise, question, choices, label). The model input for
choice ``c`` is the pair ``(premise [+ question], c)``.

* XCOPA (``{val,test}.<lang>.jsonl``; hub ``cambridgeltl/xcopa``): premise, choice1/2, question cause|effect.
  The question becomes ``"What was the cause?"`` / ``"What was the effect?"`` as in XTREME-R's ``run_xcopa.py``.
* HellaSwag (``hellaswag_{train,val,test}.jsonl``; hub ``Rowan/hellaswag``): premise ``ctx_a``, each choice
  ``ctx_b`` + ending (the ending continues ``ctx_b``); label a string on the hub, empty on test.
* CommonsenseQA (``{train,dev}_rand_split.jsonl``; hub ``tau/commonsense_qa``): question stem, 5 labelled
  choices, ``answerKey`` a letter.
* CosmosQA (``{train,valid}.jsonl``/``.csv``; hub ``allenai/cosmos_qa``): context, question, answer0..3, label.
"""

from __future__ import annotations

import csv
import io as _io
import os

import torch
import torch.nn.functional as F
from torch import nn

from ..data import read_xcopa
from ..data.treebanks import COPA_ENGLISH_SOURCE, XCOPA_LANGS
from ..errors import DataError
from ..metrics import multiple_choice_accuracy
from .classification import Head as ClassificationHead
from .io import need, open_lines, pad, read_jsonl

ChoiceExample = dict  # {"premise", "question" (or None), "choices", "label" (-1 where unlabelled), "lang", "id"}


def choice_example(premise: str, question: str | None, choices, label: int, lang: str, id: str = "") -> ChoiceExample:
    return {"premise": premise, "question": question, "choices": list(choices), "label": label, "lang": lang, "id": id}


def _int_label(value, n_choices: int, where: str) -> int:
    if value in (None, ""):
        return -1
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: label {value!r} is not an integer") from None
    if not -1 <= k < n_choices:
        raise DataError(f"{where}: label {k} outside 0..{n_choices - 1}")
    return k


# ------------------------------------------------------------------ row mappers (local files and hub rows share them)


def xcopa_row(row: dict, lang: str, where: str = "XCOPA row") -> ChoiceExample:
    q = need(row, "question", where)
    if q not in ("cause", "effect"):
        raise DataError(f"{where}: question {q!r} is not cause or effect")
    choices = [need(row, "choice1", where), need(row, "choice2", where)]
    return choice_example(
        need(row, "premise", where),
        f"What was the {q}?",
        choices,
        _int_label(row.get("label"), 2, where),
        lang,
        str(row.get("idx", "")),
    )


def siqa_row(row: dict, lang: str = "en", where: str = "SIQA row") -> ChoiceExample:
    """allenai/social_i_qa row: ``context``, ``question``, ``answerA``..``answerC``, ``label`` "1".."3"."""
    choices = [need(row, f"answer{c}", where) for c in "ABC"]
    label = row.get("label")
    k = _int_label(int(label) - 1 if str(label).strip().isdigit() else label, len(choices), where)
    return choice_example(need(row, "context", where), need(row, "question", where), choices, k, lang)


def hellaswag_row(row: dict, lang: str = "en", where: str = "HellaSwag row") -> ChoiceExample:
    endings = list(need(row, "endings", where))
    ctx_b = row.get("ctx_b", "")
    choices = [f"{ctx_b} {e}".strip() for e in endings]
    return choice_example(
        need(row, "ctx_a", where),
        None,
        choices,
        _int_label(row.get("label"), len(choices), where),
        lang,
        str(row.get("ind", "")),
    )


def commonsenseqa_row(row: dict, lang: str = "en", where: str = "CommonsenseQA row") -> ChoiceExample:
    """Hub rows: ``question`` (str), ``choices`` {label: [...], text: [...]}, ``answerKey``.
    Local jsonl rows: ``question`` {stem, choices: [{label, text}]}, ``answerKey``."""
    q = need(row, "question", where)
    if isinstance(q, dict):
        stem, letters, texts = q["stem"], [c["label"] for c in q["choices"]], [c["text"] for c in q["choices"]]
    else:
        stem, letters, texts = q, list(row["choices"]["label"]), list(row["choices"]["text"])
    key = row.get("answerKey") or ""
    if key and key not in letters:
        raise DataError(f"{where}: answerKey {key!r} is not one of {', '.join(letters)}")
    return choice_example(stem, None, texts, letters.index(key) if key else -1, lang, str(row.get("id", "")))


def cosmosqa_row(row: dict, lang: str = "en", where: str = "CosmosQA row") -> ChoiceExample:
    choices = [need(row, f"answer{k}", where) for k in range(4)]
    return choice_example(
        need(row, "context", where),
        need(row, "question", where),
        choices,
        _int_label(row.get("label"), 4, where),
        lang,
        str(row.get("id", "")),
    )


# ------------------------------------------------------------------ local loaders


def load_jsonl_choices(path: str | os.PathLike, dataset: str, lang: str = "en") -> list[ChoiceExample]:
    """XCOPA / HellaSwag / CommonsenseQA / CosmosQA jsonl file in its released format."""
    mappers = {
        "xcopa": xcopa_row,
        "hellaswag": hellaswag_row,
        "commonsenseqa": commonsenseqa_row,
        "cosmosqa": cosmosqa_row,
    }
    if dataset not in mappers:
        raise DataError(f"multiple-choice dataset '{dataset}' is unknown; allowed: {', '.join(mappers)}")
    return [mappers[dataset](r, lang, f"{path}:{n}") for n, r in read_jsonl(path)]


def load_cosmosqa_csv(path: str | os.PathLike) -> list[ChoiceExample]:
    # Parse the whole text, not line by line: a quoted context may hold newlines.
    rows = list(csv.DictReader(_io.StringIO("\n".join(open_lines(path)))))
    return [cosmosqa_row(r, "en", f"{path}:row {k + 1}") for k, r in enumerate(rows)]


# ------------------------------------------------------------------ features and metric


def choice_accuracy(gold: list[int], pred: list[int]) -> float:
    return multiple_choice_accuracy(gold, pred)


# ------------------------------------------------------------------ shipped training data (intermediate COPA)


def copa_examples(items, lang):
    return [
        {
            "premise": it["premise"],
            "question": it["question"],
            "choices": [it["choice1"], it["choice2"]],
            "label": int(it["label"]),
            "idx": it["idx"],
            "lang": lang,
        }
        for it in items
    ]


def load_copa(data: str) -> list[dict]:
    if data == "en":
        return copa_examples(read_xcopa(COPA_ENGLISH_SOURCE, "test", translated=True), "en")
    by_lang = {l: read_xcopa(l, "test") for l in XCOPA_LANGS}
    n = len(by_lang[XCOPA_LANGS[0]])
    return [
        copa_examples([by_lang[XCOPA_LANGS[i % len(XCOPA_LANGS)]][i]], XCOPA_LANGS[i % len(XCOPA_LANGS)])[0]
        for i in range(n)
    ]


def copa_hub_row(r: dict, lang: str = "en") -> dict:
    """super_glue copa rows as the shipped COPA task's items (question 'cause'/'effect')."""
    return {
        "premise": r["premise"],
        "question": r["question"],
        "choices": [r["choice1"], r["choice2"]],
        "label": int(r["label"]),
        "idx": r.get("idx"),
        "lang": "en",
    }


# ------------------------------------------------------------------ features, head, loss, prediction

COPA_CONNECTIVE = {"cause": "because", "effect": "so"}  # a fixed English template, as in jiant's COPA


def encode_multiple_choice(tokenizer, examples, max_length):
    feats = []
    for ex in examples:
        a = f"{ex['premise']} {COPA_CONNECTIVE.get(ex['question'], ex['question'])}"
        enc = tokenizer([a] * len(ex["choices"]), ex["choices"], truncation=True, max_length=max_length)
        feats.append({"choices": enc["input_ids"], "label": ex["label"], "lang": ex.get("lang")})
    return feats


def featurise(tokenizer, examples: list[dict], labels: list[str], max_length: int) -> list[dict]:
    return encode_multiple_choice(tokenizer, examples, max_length)


def feature_length(f: dict) -> int:
    return max(len(c) for c in f["choices"])


def collate(feats: list[dict], pad_id: int) -> dict:
    ids = pad([c for f in feats for c in f["choices"]], pad_id)
    return {
        "input_ids": ids,
        "attention_mask": (ids != pad_id).long(),
        "n_choices": len(feats[0]["choices"]),
        "labels": torch.tensor([f["label"] for f in feats]),
    }


class Head(ClassificationHead):
    """jiant's multiple-choice head: the classification head (dropout, dense, tanh, dropout) with one output, a
    score per (context, choice) sequence, on the pooled sequence (classification.pool)."""

    def __init__(self, hidden: int, dropout: float = 0.1, pooling: str = "cls"):
        super().__init__(hidden, 1, dropout, pooling)

    def forward(self, h, attention_mask=None):
        return super().forward(h, attention_mask).squeeze(-1)


def make_head(hidden: int, num_labels: int = 0, dropout: float = 0.1, pooling: str = "cls") -> nn.Module:
    return Head(hidden, dropout, pooling)


def loss(model, task: str, batch: dict, device):
    out = model(task, batch["input_ids"].to(device), batch["attention_mask"].to(device))
    return F.cross_entropy(out.view(-1, batch["n_choices"]), batch["labels"].to(device))


def loss_units(feature: dict) -> int:
    return 1


@torch.no_grad()
def predict_multiple_choice(
    model, task: str, tokenizer, examples, max_length, device, batch_size: int = 32
) -> list[int]:
    model.eval()
    feats = encode_multiple_choice(tokenizer, examples, max_length)
    out = []
    for i in range(0, len(feats), batch_size):
        b = collate(feats[i : i + batch_size], tokenizer.pad_token_id)
        scores = model(task, b["input_ids"].to(device), b["attention_mask"].to(device)).view(-1, b["n_choices"])
        out += scores.argmax(-1).cpu().tolist()
    model.train()
    return out
