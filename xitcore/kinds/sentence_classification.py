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
from dataclasses import dataclass

from xitcore.errors import DataError
from xitcore.metrics import multiple_choice_accuracy

from .common import read_jsonl, read_tsv_rows

LABELS: dict[str, list[str]] = {
    "xnli": ["entailment", "neutral", "contradiction"],
    "mnli": ["entailment", "neutral", "contradiction"],
    "anli": ["entailment", "neutral", "contradiction"],
    "pawsx": ["different", "paraphrase"],
    "qqp": ["not_duplicate", "duplicate"],
    "sst2": ["negative", "positive"],
}
_ANLI_LETTERS = {"e": 0, "n": 1, "c": 2}


@dataclass
class PairExample:
    text_a: str
    text_b: str | None  # None for single-sentence tasks (SST-2)
    label: int          # -1 where the split has no labels (GLUE / PAWS-X hidden test sets)
    lang: str
    id: str = ""


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
    return [PairExample(r["sentence1"], r["sentence2"], _label(r["gold_label"], LABELS["xnli"], f"{path}:{n}"), lang,
                        r.get("pairID", str(n)))
            for n, r in rows if r["language"] == lang]


def load_pawsx_tsv(path: str | os.PathLike, lang: str) -> list[PairExample]:
    return [PairExample(r["sentence1"], r["sentence2"], _label(r["label"], LABELS["pawsx"], f"{path}:{n}"), lang, r["id"])
            for n, r in read_tsv_rows(path, ["id", "sentence1", "sentence2", "label"])]


def load_glue_tsv(path: str | os.PathLike, task: str) -> list[PairExample]:
    """GLUE ``train.tsv`` / ``dev*.tsv`` of MNLI, QQP or SST-2 (English)."""
    if task == "mnli":
        rows = read_tsv_rows(path, ["sentence1", "sentence2", "gold_label"])
        return [PairExample(r["sentence1"], r["sentence2"], _label(r["gold_label"], LABELS[task], f"{path}:{n}"), "en",
                            r.get("pairID", str(n))) for n, r in rows]
    if task == "qqp":
        rows = read_tsv_rows(path, ["question1", "question2", "is_duplicate"])
        return [PairExample(r["question1"], r["question2"], _label(r["is_duplicate"], LABELS[task], f"{path}:{n}"),
                            "en", r.get("id", str(n))) for n, r in rows]
    if task == "sst2":
        rows = read_tsv_rows(path, ["sentence", "label"])
        return [PairExample(r["sentence"], None, _label(r["label"], LABELS[task], f"{path}:{n}"), "en", str(n))
                for n, r in rows]
    raise DataError(f"GLUE task '{task}' is unknown; allowed: mnli, qqp, sst2")


def load_anli_jsonl(path: str | os.PathLike) -> list[PairExample]:
    out = []
    for n, r in read_jsonl(path):
        letter = r.get("label")
        if letter not in _ANLI_LETTERS:
            raise DataError(f"{path}:{n}: label {letter!r} is not one of e, n, c")
        out.append(PairExample(r["context"], r["hypothesis"], _ANLI_LETTERS[letter], "en", r.get("uid", str(n))))
    return out


# ------------------------------------------------------------------ hub rows (None: row not for this language)

def xnli_row(row: dict, lang: str) -> PairExample | None:
    """google/xtreme ``XNLI``: one config for all languages (``language`` column), ``gold_label`` a string."""
    if row["language"] != lang:
        return None
    return PairExample(row["sentence1"], row["sentence2"], _label(str(row["gold_label"]), LABELS["xnli"], "XNLI row"), lang)


def pawsx_row(row: dict, lang: str) -> PairExample:
    return PairExample(row["sentence1"], row["sentence2"], _label(str(row["label"]), LABELS["pawsx"], "PAWS-X row"), lang)


def nli_row(row: dict, lang: str) -> PairExample:
    """nyu-mll/glue ``mnli`` and facebook/anli: ``premise``, ``hypothesis``, ``label`` (0/1/2, -1 on test)."""
    return PairExample(row["premise"], row["hypothesis"], int(row["label"]), lang, str(row.get("uid", row.get("idx", ""))))


def qqp_row(row: dict, lang: str) -> PairExample:
    return PairExample(row["question1"], row["question2"], int(row["label"]), lang, str(row.get("idx", "")))


def sst2_row(row: dict, lang: str) -> PairExample:
    return PairExample(row["sentence"], None, int(row["label"]), lang, str(row.get("idx", "")))


# ------------------------------------------------------------------ features and metric

def encode_pairs(tokenizer, examples: list[PairExample], max_length: int = 128) -> list[dict]:
    """``{"input_ids", "label"}`` per example: ``<s> a </s></s> b </s>``, longest segment cut first."""
    a = [e.text_a for e in examples]
    if all(e.text_b is None for e in examples):
        enc = tokenizer(a, truncation=True, max_length=max_length)
    else:
        enc = tokenizer(a, [e.text_b or "" for e in examples], truncation="longest_first", max_length=max_length)
    return [{"input_ids": ids, "label": e.label} for ids, e in zip(enc["input_ids"], examples)]


def classification_accuracy(gold: list[int], pred: list[int]) -> float:
    """Accuracy (0..1); examples without a gold label (-1) must be removed by the caller."""
    if any(int(g) < 0 for g in gold):
        raise ValueError("classification_accuracy: gold holds -1 (unlabelled) examples")
    return multiple_choice_accuracy(gold, pred)
