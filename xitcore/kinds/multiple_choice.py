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
import io
import os
from dataclasses import dataclass

from xitcore.errors import DataError
from xitcore.metrics import multiple_choice_accuracy

from .common import need, open_lines, read_jsonl


@dataclass
class ChoiceExample:
    premise: str
    question: str | None
    choices: list[str]
    label: int  # -1 where the split has no labels
    lang: str
    id: str = ""

    @property
    def first_segment(self) -> str:
        return f"{self.premise} {self.question}".strip() if self.question else self.premise


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
    return ChoiceExample(need(row, "premise", where), f"What was the {q}?", choices,
                         _int_label(row.get("label"), 2, where), lang, str(row.get("idx", "")))


def hellaswag_row(row: dict, lang: str = "en", where: str = "HellaSwag row") -> ChoiceExample:
    endings = list(need(row, "endings", where))
    ctx_b = row.get("ctx_b", "")
    choices = [f"{ctx_b} {e}".strip() for e in endings]
    return ChoiceExample(need(row, "ctx_a", where), None, choices, _int_label(row.get("label"), len(choices), where),
                         lang, str(row.get("ind", "")))


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
    return ChoiceExample(stem, None, texts, letters.index(key) if key else -1, lang, str(row.get("id", "")))


def cosmosqa_row(row: dict, lang: str = "en", where: str = "CosmosQA row") -> ChoiceExample:
    choices = [need(row, f"answer{k}", where) for k in range(4)]
    return ChoiceExample(need(row, "context", where), need(row, "question", where), choices,
                         _int_label(row.get("label"), 4, where), lang, str(row.get("id", "")))


# ------------------------------------------------------------------ local loaders

def load_jsonl_choices(path: str | os.PathLike, dataset: str, lang: str = "en") -> list[ChoiceExample]:
    """XCOPA / HellaSwag / CommonsenseQA / CosmosQA jsonl file in its released format."""
    mappers = {"xcopa": xcopa_row, "hellaswag": hellaswag_row, "commonsenseqa": commonsenseqa_row,
               "cosmosqa": cosmosqa_row}
    if dataset not in mappers:
        raise DataError(f"multiple-choice dataset '{dataset}' is unknown; allowed: {', '.join(mappers)}")
    return [mappers[dataset](r, lang, f"{path}:{n}") for n, r in read_jsonl(path)]


def load_cosmosqa_csv(path: str | os.PathLike) -> list[ChoiceExample]:
    # Parse the whole text, not line by line: a quoted context may hold newlines.
    rows = list(csv.DictReader(io.StringIO("\n".join(open_lines(path)))))
    return [cosmosqa_row(r, "en", f"{path}:row {k + 1}") for k, r in enumerate(rows)]


# ------------------------------------------------------------------ features and metric

def encode_choices(tokenizer, examples: list[ChoiceExample], max_length: int = 128) -> list[dict]:
    """``{"choices": [input_ids per choice], "label"}``; when too long, the longer side is cut first."""
    out = []
    for e in examples:
        enc = tokenizer([e.first_segment] * len(e.choices), e.choices, truncation="longest_first", max_length=max_length)
        out.append({"choices": enc["input_ids"], "label": e.label})
    return out


def choice_accuracy(gold: list[int], pred: list[int]) -> float:
    return multiple_choice_accuracy(gold, pred)
