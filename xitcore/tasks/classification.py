"""Sentence(-pair) classification: XNLI, PAWS-X (targets), MNLI, ANLI, QQP, SST-2 (intermediate tasks).

Label ids follow the hub datasets, so local files and hub rows give the same ids:
NLI (XNLI, MNLI, ANLI): 0 entailment, 1 neutral, 2 contradiction; PAWS-X and QQP: 0 different, 1 paraphrase /
duplicate; SST-2: 0 negative, 1 positive.

Local formats: XNLI-1.0 ``xnli.{dev,test}.tsv`` (all languages in one file, ``language`` column), PAWS-X
``x-final/<lang>/{dev_2k,test_2k,translated_train}.tsv``, GLUE ``MNLI/QQP/SST-2/*.tsv`` and ANLI
``anli_v1.0/R*/{train,dev,test}.jsonl`` (``context``, ``hypothesis``, ``label`` e/n/c).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from ..data import read_rte, read_sentence_polarity, read_trec
from ..errors import DataError
from ..metrics import multiple_choice_accuracy
from .io import input_length, pad, padded_inputs, read_jsonl, read_tsv_rows

LABELS: dict[str, list[str]] = {
    "xnli": ["entailment", "neutral", "contradiction"],
    "mnli": ["entailment", "neutral", "contradiction"],
    "anli": ["entailment", "neutral", "contradiction"],
    "pawsx": ["different", "paraphrase"],
    "qqp": ["not_duplicate", "duplicate"],
    "sst2": ["negative", "positive"],
}
_ANLI_LETTERS = {"e": 0, "n": 1, "c": 2}


# {"text_a", "text_b" (None for single-sentence tasks such as SST-2), "label" (-1 where the split has no labels:
# GLUE / PAWS-X hidden test sets), "lang", "id"}
PairExample = dict


def pair_example(text_a: str, text_b: str | None, label: int, lang: str, id: str = "") -> PairExample:
    return {"text_a": text_a, "text_b": text_b, "label": label, "lang": lang, "id": id}


def _label(value: str, names: list[str], where: str) -> int:
    if value in names:
        return names.index(value)
    if value.strip().lstrip("-").isdigit() and -1 <= int(value) < len(names):
        return int(value)
    raise DataError(f"{where}: label {value!r} is not one of {', '.join(names)} (or its index)")


# ------------------------------------------------------------------ local loaders


def load_xnli_tsv(path: str | os.PathLike, lang: str) -> list[PairExample]:
    """The ``lang`` rows of XNLI-1.0 ``xnli.dev.tsv`` / ``xnli.test.tsv``."""
    rows = read_tsv_rows(path, ["language", "gold_label", "sentence1", "sentence2"])
    return [
        pair_example(
            r["sentence1"],
            r["sentence2"],
            _label(r["gold_label"], LABELS["xnli"], f"{path}:{n}"),
            lang,
            r.get("pairID", str(n)),
        )
        for n, r in rows
        if r["language"] == lang
    ]


def load_pawsx_tsv(path: str | os.PathLike, lang: str) -> list[PairExample]:
    return [
        pair_example(r["sentence1"], r["sentence2"], _label(r["label"], LABELS["pawsx"], f"{path}:{n}"), lang, r["id"])
        for n, r in read_tsv_rows(path, ["id", "sentence1", "sentence2", "label"])
    ]


def load_glue_tsv(path: str | os.PathLike, task: str) -> list[PairExample]:
    """GLUE ``train.tsv`` / ``dev*.tsv`` of MNLI, QQP or SST-2 (English)."""
    if task == "mnli":
        rows = read_tsv_rows(path, ["sentence1", "sentence2", "gold_label"])
        return [
            pair_example(
                r["sentence1"],
                r["sentence2"],
                _label(r["gold_label"], LABELS[task], f"{path}:{n}"),
                "en",
                r.get("pairID", str(n)),
            )
            for n, r in rows
        ]
    if task == "qqp":
        rows = read_tsv_rows(path, ["question1", "question2", "is_duplicate"])
        return [
            pair_example(
                r["question1"],
                r["question2"],
                _label(r["is_duplicate"], LABELS[task], f"{path}:{n}"),
                "en",
                r.get("id", str(n)),
            )
            for n, r in rows
        ]
    if task == "sst2":
        rows = read_tsv_rows(path, ["sentence", "label"])
        return [
            pair_example(r["sentence"], None, _label(r["label"], LABELS[task], f"{path}:{n}"), "en", str(n))
            for n, r in rows
        ]
    raise DataError(f"GLUE task '{task}' is unknown; allowed: mnli, qqp, sst2")


def load_anli_jsonl(path: str | os.PathLike) -> list[PairExample]:
    out = []
    for n, r in read_jsonl(path):
        letter = r.get("label")
        if letter not in _ANLI_LETTERS:
            raise DataError(f"{path}:{n}: label {letter!r} is not one of e, n, c")
        out.append(pair_example(r["context"], r["hypothesis"], _ANLI_LETTERS[letter], "en", r.get("uid", str(n))))
    return out


# ------------------------------------------------------------------ hub rows (None: row not for this language)


def xnli_row(row: dict, lang: str) -> PairExample | None:
    """google/xtreme ``XNLI``: one config for all languages (``language`` column), ``gold_label`` a string."""
    if row["language"] != lang:
        return None
    return pair_example(
        row["sentence1"], row["sentence2"], _label(str(row["gold_label"]), LABELS["xnli"], "XNLI row"), lang
    )


def pawsx_row(row: dict, lang: str) -> PairExample:
    return pair_example(
        row["sentence1"], row["sentence2"], _label(str(row["label"]), LABELS["pawsx"], "PAWS-X row"), lang
    )


def nli_row(row: dict, lang: str) -> PairExample:
    """nyu-mll/glue ``mnli`` and facebook/anli: ``premise``, ``hypothesis``, ``label`` (0/1/2, -1 on test)."""
    return pair_example(
        row["premise"], row["hypothesis"], int(row["label"]), lang, str(row.get("uid", row.get("idx", "")))
    )


def qqp_row(row: dict, lang: str) -> PairExample:
    return pair_example(row["question1"], row["question2"], int(row["label"]), lang, str(row.get("idx", "")))


def sst2_row(row: dict, lang: str) -> PairExample:
    return pair_example(row["sentence"], None, int(row["label"]), lang, str(row.get("idx", "")))


# ------------------------------------------------------------------ features and metric


def classification_accuracy(gold: list[int], pred: list[int]) -> float:
    """Accuracy (0..1); examples without a gold label (-1) must be removed by the caller."""
    if any(int(g) < 0 for g in gold):
        raise ValueError("classification_accuracy: gold holds -1 (unlabelled) examples")
    return multiple_choice_accuracy(gold, pred)


# ------------------------------------------------------------------ shipped training data (intermediate tasks)


def load_nli(data: str) -> list[dict]:
    return [
        {"text_a": r["premise"], "text_b": r["hypothesis"], "label": int(r["label"]), "lang": "en"} for r in read_rte()
    ]


def load_sentiment(data: str) -> list[dict]:
    return [
        {"text_a": r["text"], "text_b": None, "label": int(r["label"]), "lang": "en"} for r in read_sentence_polarity()
    ]


TREC_COARSE = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def load_trec(data: str) -> list[dict]:
    return [
        {"text_a": r["text"], "text_b": None, "label": TREC_COARSE.index(r["coarse"]), "lang": "en"}
        for r in read_trec("train")
    ]


def glue_style_row(r: dict, lang: str = "en") -> dict:
    """Hub rows of the shipped classification tasks (GLUE RTE / SST-2, TREC): text_a, text_b, label."""
    keys = [k for k in ("premise", "sentence1", "question1", "sentence", "text") if k in r]
    keys_b = [k for k in ("hypothesis", "sentence2", "question2") if k in r]
    label = r.get("label", r.get("coarse_label"))
    return {"text_a": r[keys[0]], "text_b": r[keys_b[0]] if keys_b else None, "label": int(label), "lang": "en"}


# ------------------------------------------------------------------ features, head, loss, prediction


def encode_classification(tokenizer, examples, max_length):
    a = [ex["text_a"] for ex in examples]
    b = [ex["text_b"] for ex in examples]
    if all(x is None for x in b):
        enc = tokenizer(a, truncation=True, max_length=max_length)
    else:
        enc = tokenizer(a, [x or "" for x in b], truncation="longest_first", max_length=max_length)
    return [{"input_ids": enc["input_ids"][i], "label": ex["label"]} for i, ex in enumerate(examples)]


def featurise(tokenizer, examples: list[dict], labels: list[str], max_length: int) -> list[dict]:
    return encode_classification(tokenizer, examples, max_length)


feature_length = input_length


def collate(feats: list[dict], pad_id: int) -> dict:
    return {
        **padded_inputs(feats, pad_id),
        "labels": torch.tensor([f["label"] for f in feats]),
    }


#: how a sentence head reads the encoder's output (model.pooling): the masked mean of every token (e5 was trained
#: with it), the first token (<s>, as jiant and HF do for XLM-R), or the first token through the checkpoint's own
#: pooler (its dense + tanh initialise the head's dense layer: xitcore.model.checkpoint_pooler)
POOLINGS = ("mean", "cls", "pooler")


def pool(h, attention_mask, how: str):
    """[B, T, H] -> [B, H]: the first token (``cls``, ``pooler``) or the mean of the tokens the mask keeps."""
    if how == "mean":
        if attention_mask is None:
            return h.mean(1)
        m = attention_mask.to(h.dtype).unsqueeze(-1)
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)
    if how in ("cls", "pooler"):
        return h[:, 0]
    raise ValueError(f"pooling '{how}' is unknown; allowed: {', '.join(POOLINGS)}")


class Head(nn.Module):
    """jiant's ClassificationHead (HF's RobertaClassificationHead): dropout, dense, tanh, dropout, out, on the
    pooled sentence (see :func:`pool`)."""

    takes_mask = True  # MultiTaskModel.forward passes the attention mask (mean pooling needs it)

    def __init__(self, hidden: int, num_labels: int, dropout: float = 0.1, pooling: str = "cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling '{pooling}' is unknown; allowed: {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, h, attention_mask=None):  # h: [B, T, H] -> [B, num_labels]
        x = self.dropout(pool(h, attention_mask, self.pooling))
        return self.out(self.dropout(torch.tanh(self.dense(x))))


def make_head(hidden: int, num_labels: int, dropout: float = 0.1, pooling: str = "cls") -> nn.Module:
    return Head(hidden, num_labels, dropout, pooling)


def loss(model, task: str, batch: dict, device):
    out = model(task, batch["input_ids"].to(device), batch["attention_mask"].to(device))
    return F.cross_entropy(out, batch["labels"].to(device))


def loss_units(feature: dict) -> int:
    return 1


@torch.no_grad()
def predict_classification(
    model, task: str, tokenizer, examples: list[dict], max_length: int, device, batch_size: int = 64
) -> list[int]:
    model.eval()
    feats = encode_classification(tokenizer, examples, max_length)
    out = []
    for i in range(0, len(feats), batch_size):
        ids = pad([f["input_ids"] for f in feats[i : i + batch_size]], tokenizer.pad_token_id).to(device)
        out += model(task, ids, (ids != tokenizer.pad_token_id).long()).argmax(-1).cpu().tolist()
    model.train()
    return out
