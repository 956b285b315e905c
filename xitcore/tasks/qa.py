"""Extractive QA: SQuAD v1.1 (intermediate), XQuAD, MLQA, TyDiQA-GoldP (targets).

All four ship SQuAD-v1.1 JSON (``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
"answers": [{"text", "answer_start"}]}]}]}]}``); TyDiQA-GoldP mixes languages in one train file and names the
language in each question id (``english-…``). Hub rows (``rajpurkar/squad``, ``google/xtreme`` ``XQuAD.<l>``,
``MLQA.<l>.<l>``, ``tydiqa``) hold ``id, context, question, answers {text: [...], answer_start: [...]}``.

Contexts longer than one window are cut into overlapping windows (never truncated); start/end logits are
turned back into text spans of the original context via the offset mapping (n-best, maximum answer length).
Scores: official SQuAD v1.1 F1/EM (XQuAD, TyDiQA, SQuAD, as XTREME) and the MLQA script's per-language
normalisation (MLQA).
"""

from __future__ import annotations

import functools
import os
import re
import string
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import read_xquad
from ..data.treebanks import XQUAD_NON_EN
from ..errors import DataError
from ..metrics import squad_f1_em
from .io import input_length, pad, padded_inputs, read_json

TYDIQA_LANGS = {
    "arabic": "ar",
    "bengali": "bn",
    "english": "en",
    "finnish": "fi",
    "indonesian": "id",
    "korean": "ko",
    "russian": "ru",
    "swahili": "sw",
    "telugu": "te",
}  # XTREME utils_preprocess.py


# {"id", "context", "question", "answers" (texts), "answer_starts" (character offsets in the context), "lang",
# "title"}; training reads the first answer
QAExample = dict


def qa_example(id: str, context: str, question: str, answers, answer_starts, lang: str, title: str = "") -> QAExample:
    return {
        "id": id,
        "context": context,
        "question": question,
        "answers": list(answers),
        "answer_starts": [int(s) for s in answer_starts],
        "lang": lang,
        "title": title,
    }


# ------------------------------------------------------------------ loaders


def load_squad_json(path: str | os.PathLike, lang: str, id_prefix: str | None = None) -> list[QAExample]:
    """SQuAD-v1.1-format file (SQuAD, XQuAD, MLQA, TyDiQA-GoldP); with ``id_prefix`` only matching questions.

    Every answer must be the context text at its ``answer_start`` (checked: a shifted offset would silently
    teach wrong spans).
    """
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{path}: expected a SQuAD JSON object with a 'data' list")
    out = []
    for article in doc["data"]:
        for para in article.get("paragraphs", []):
            ctx = para["context"]
            for qa in para["qas"]:
                if id_prefix and not qa["id"].startswith(id_prefix):
                    continue
                texts = [a["text"] for a in qa["answers"]]
                starts = [int(a["answer_start"]) for a in qa["answers"]]
                for t, s in zip(texts, starts):
                    if ctx[s : s + len(t)] != t:
                        raise DataError(
                            f"{path}: question {qa['id']}: answer {t!r} is not at offset {s} of its context"
                        )
                out.append(qa_example(qa["id"], ctx, qa["question"], texts, starts, lang, article.get("title", "")))
    return out


def load_tydiqa_goldp(path: str | os.PathLike, lang: str) -> list[QAExample]:
    """TyDiQA-GoldP v1.1 train/dev JSON, the questions of ``lang`` (ISO 639-1) only."""
    names = {v: k for k, v in TYDIQA_LANGS.items()}
    if lang not in names:
        raise DataError(f"TyDiQA-GoldP language '{lang}' is unknown; allowed: {', '.join(sorted(names))}")
    return load_squad_json(path, lang, id_prefix=f"{names[lang]}-")


def squad_row(row: dict, lang: str) -> QAExample:
    a = row["answers"]
    return qa_example(
        row["id"],
        row["context"],
        row["question"],
        list(a["text"]),
        [int(s) for s in a["answer_start"]],
        lang,
        row.get("title", ""),
    )


def tydiqa_row(row: dict, lang: str) -> QAExample | None:
    """google/xtreme ``tydiqa``: all languages in one config; the id prefix names the language."""
    return squad_row(row, lang) if TYDIQA_LANGS.get(row["id"].split("-")[0]) == lang else None


# ------------------------------------------------------------------ features

# A QA feature: {"example": index of its example, "input_ids", "offsets": character span in the context per token
# (None outside the context), "start"/"end": answer tokens for training (0, the <s> token, when the answer is not
# inside this window)}
QAFeature = dict


def encode_qa_windows(
    tokenizer, examples: list[QAExample], max_length: int = 384, doc_stride: int = 128, max_query_length: int = 64
) -> list[QAFeature]:
    """``<s> question </s></s> context window </s>`` features; consecutive windows share ``doc_stride`` tokens
    (transformers' ``stride``). Questions are cut to ``max_query_length`` tokens (XTREME's default 64)."""
    # A long question keeps the text of its first max_query_length pieces (XTREME keeps those pieces).
    q_ids = tokenizer([e["question"] for e in examples], add_special_tokens=False)["input_ids"]
    questions = [
        e["question"] if len(ids) <= max_query_length else tokenizer.decode(ids[:max_query_length])
        for e, ids in zip(examples, q_ids)
    ]
    room = max_length - max_query_length - 4  # context tokens left in the shortest window
    if room < 2:
        raise ValueError(
            f"max_length {max_length} leaves no room for context after a {max_query_length}-token question"
        )
    enc = tokenizer(
        questions,
        [e["context"] for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=min(doc_stride, room - 1),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    out = []
    for j, ids in enumerate(enc["input_ids"]):
        i = enc["overflow_to_sample_mapping"][j]
        ex = examples[i]
        seq = enc.sequence_ids(j)
        offs = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][j], seq)]
        ctx = [k for k, o in enumerate(offs) if o is not None]
        start = end = 0
        if ex["answers"]:
            s_char = ex["answer_starts"][0]
            e_char = s_char + len(ex["answers"][0])
            if ctx and offs[ctx[0]][0] <= s_char and offs[ctx[-1]][1] >= e_char:
                start = next(k for k in ctx if offs[k][1] > s_char)
                end = next(k for k in reversed(ctx) if offs[k][0] < e_char)
        out.append({"example": i, "input_ids": list(ids), "offsets": offs, "start": start, "end": end})
    return out


@dataclass
class QAPrediction:
    text: str
    score: float
    nbest: list[tuple[str, float]] = field(default_factory=list)


def postprocess_qa(
    examples: list[QAExample],
    features: list[QAFeature],
    start_logits,
    end_logits,
    n_best: int = 20,
    max_answer_length: int = 30,
) -> list[QAPrediction]:
    """Best span per example over all its windows: the ``n_best`` highest start and end logits of each window
    are paired; spans outside the context, reversed, or longer than ``max_answer_length`` tokens are skipped;
    score = start logit + end logit. An example without any valid span predicts ``""`` (score -inf)."""
    if len(features) != len(start_logits) or len(features) != len(end_logits):
        raise ValueError(f"{len(features)} features but {len(start_logits)}/{len(end_logits)} logit rows")
    cands: list[dict[tuple[int, int], tuple[str, float]]] = [{} for _ in examples]
    for f, sl, el in zip(features, start_logits, end_logits):
        sl, el = np.asarray(sl, dtype=np.float64), np.asarray(el, dtype=np.float64)
        ctx = examples[f["example"]]["context"]
        for s in np.argsort(-sl, kind="stable")[:n_best]:
            for e in np.argsort(-el, kind="stable")[:n_best]:
                if (
                    s >= len(f["offsets"])
                    or e >= len(f["offsets"])
                    or f["offsets"][s] is None
                    or f["offsets"][e] is None
                ):
                    continue
                if e < s or e - s + 1 > max_answer_length:
                    continue
                span = (f["offsets"][s][0], f["offsets"][e][1])
                score = float(sl[s] + el[e])
                if span not in cands[f["example"]] or cands[f["example"]][span][1] < score:
                    cands[f["example"]][span] = (ctx[span[0] : span[1]], score)
    out = []
    for c in cands:
        ranked = sorted(c.values(), key=lambda t: -t[1])[:n_best]
        out.append(QAPrediction(ranked[0][0], ranked[0][1], ranked) if ranked else QAPrediction("", float("-inf")))
    return out


# ------------------------------------------------------------------ MLQA scoring (MLQA's mlqa_evaluation_v1.py)


@functools.lru_cache(maxsize=1)
def mlqa_punct() -> frozenset[str]:
    """Every Unicode punctuation character (categories P*) plus ASCII punctuation, as the MLQA script
    (built once, on first use: it scans all code points)."""
    return frozenset(chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")) | frozenset(
        string.punctuation
    )


MLQA_LANGS = ("en", "es", "hi", "vi", "de", "ar", "zh")
_MLQA_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # The script's pattern '\sال^|ال' removes every 'ال', also inside words; kept as is for comparable scores.
    "ar": re.compile(r"\sال^|ال"),
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def _mixed_segmentation(text: str) -> list[str]:
    """zh: every CJK character (U+4E00..U+9FA5) and punctuation mark is a token; other runs split on spaces."""
    out, run, punct = [], "", mlqa_punct()
    for ch in text:
        if _CJK.match(ch) or ch in punct:
            out += run.split()
            run = ""
            out.append(ch)
        else:
            run += ch
    return out + run.split()


def mlqa_normalize_answer(s: str, lang: str) -> str:
    """MLQA normalisation: lower-case, drop Unicode punctuation, drop the language's articles, re-join tokens
    (whitespace tokens; for zh the mixed CJK-character segmentation)."""
    if lang not in MLQA_LANGS:
        raise ValueError(f"MLQA language '{lang}' is unknown; allowed: {', '.join(MLQA_LANGS)}")
    punct = mlqa_punct()
    s = "".join(ch for ch in s.lower() if ch not in punct)
    if lang in _MLQA_ARTICLES:
        s = _MLQA_ARTICLES[lang].sub(" ", s)
    tokens = _mixed_segmentation(s) if lang == "zh" else s.split()
    return " ".join(t for t in tokens if t.strip())


def _mlqa_f1(pred: str, gold: str, lang: str) -> float:
    p, g = mlqa_normalize_answer(pred, lang).split(), mlqa_normalize_answer(gold, lang).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def mlqa_f1_em(gold_answers: list[list[str]], pred: list[str], lang: str) -> dict[str, float]:
    """MLQA F1 / exact match (0..1): per question the max over its gold answers, mean over questions."""
    if len(gold_answers) != len(pred):
        raise ValueError(f"gold has {len(gold_answers)} questions but pred has {len(pred)}")
    if not pred:
        raise ValueError("mlqa_f1_em: no questions to score")
    f1 = em = 0.0
    for golds, p in zip(gold_answers, pred):
        f1 += max(_mlqa_f1(p, g, lang) for g in golds)
        em += max(float(mlqa_normalize_answer(p, lang) == mlqa_normalize_answer(g, lang)) for g in golds)
    return {"f1": f1 / len(pred), "exact_match": em / len(pred)}


def qa_scores(gold_answers: list[list[str]], pred: list[str], lang: str, mlqa: bool = False) -> dict[str, float]:
    """XTREME's QA metric: MLQA normalisation for MLQA, official SQuAD v1.1 for XQuAD / TyDiQA / SQuAD."""
    return mlqa_f1_em(gold_answers, pred, lang) if mlqa else squad_f1_em(gold_answers, pred)


# ------------------------------------------------------------------ shipped training data (intermediate QA)


def _squad_examples(records, lang):
    return [
        qa_example(
            r["id"], r["context"], r["question"], r["answers"]["text"][:1], r["answers"]["answer_start"][:1], lang
        )
        for r in records
    ]


def load_qa(data: str) -> list[dict]:
    en = read_xquad("en")
    if data == "en":
        return _squad_examples(en, "en")
    # Same questions, paragraph by paragraph in a rotating non-English language (XQuAD ids align).
    by_lang = {l: {r["id"]: r for r in read_xquad(l)} for l in XQUAD_NON_EN}
    contexts = []
    for r in en:
        if r["context"] not in contexts:
            contexts.append(r["context"])
    para_of = {c: i for i, c in enumerate(contexts)}
    out = []
    for r in en:
        lang = XQUAD_NON_EN[para_of[r["context"]] % len(XQUAD_NON_EN)]
        t = by_lang[lang].get(r["id"])
        if t is None:
            raise DataError(f"XQuAD {lang}: question id {r['id']} missing")
        out += _squad_examples([t], lang)
    return out


# ------------------------------------------------------------------ head, loss, prediction


def qa_window_args(max_length: int) -> dict:
    # XTREME's 64-token questions and 128-token stride, scaled down for short windows (room stays for context).
    return {
        "max_length": max_length,
        "max_query_length": min(64, max_length // 3),
        "doc_stride": min(128, max_length // 4),
    }


def featurise(tokenizer, examples: list[dict], labels: list[str], max_length: int, **window) -> list[dict]:
    """Training windows (``window``: encode_qa_windows' options; default qa_window_args(max_length))."""
    return encode_qa_windows(tokenizer, examples, **(window or qa_window_args(max_length)))


def keep_answerless(feats: list[dict], keep: float, seed: int = 0) -> list[dict]:
    """Training windows with every window that holds its answer and ``round(keep * n)`` of the ``n`` that do not
    (start = end = 0: long contexts give many such windows, and they teach mostly "no answer here"), a fixed
    sample drawn with ``seed``; the windows keep their order."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be between 0 and 1, got {keep}")
    empty = [i for i, f in enumerate(feats) if f["start"] == 0 and f["end"] == 0]
    if keep >= 1.0 or not empty:
        return list(feats)
    import random

    dropped = set(empty) - set(random.Random(seed).sample(empty, round(keep * len(empty))))
    return [f for i, f in enumerate(feats) if i not in dropped]


feature_length = input_length


def collate(feats: list[dict], pad_id: int) -> dict:
    return {
        **padded_inputs(feats, pad_id),
        "start": torch.tensor([f["start"] for f in feats]),
        "end": torch.tensor([f["end"] for f in feats]),
    }


class Head(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.out = nn.Linear(hidden, 2)

    def forward(self, h):
        start, end = self.out(h).unbind(-1)
        return start, end


def make_head(hidden: int, num_labels: int = 0, dropout: float = 0.1) -> nn.Module:
    return Head(hidden)


def loss(model, task: str, batch: dict, device):
    mask = batch["attention_mask"].to(device)
    s, e = model(task, batch["input_ids"].to(device), mask)
    s = s.masked_fill(mask == 0, -1e4)
    e = e.masked_fill(mask == 0, -1e4)
    return (F.cross_entropy(s, batch["start"].to(device)) + F.cross_entropy(e, batch["end"].to(device))) / 2


def loss_units(feature: dict) -> int:
    return 1


@torch.no_grad()
def predict_qa(model, task: str, tokenizer, examples: list, max_length: int, device, batch_size: int = 64) -> list[str]:
    """Answer text per example: start/end logits over every window, best span of the context (kinds' n-best)."""
    model.eval()
    feats = encode_qa_windows(tokenizer, examples, **qa_window_args(max_length))
    starts, ends = [], []
    for i in range(0, len(feats), batch_size):
        chunk = feats[i : i + batch_size]
        ids = pad([f["input_ids"] for f in chunk], tokenizer.pad_token_id).to(device)
        s, e = model(task, ids, (ids != tokenizer.pad_token_id).long())
        for f, sr, er in zip(chunk, s.float().cpu().numpy(), e.float().cpu().numpy()):
            starts.append(sr[: len(f["input_ids"])])
            ends.append(er[: len(f["input_ids"])])
    model.train()
    return [p.text for p in postprocess_qa(examples, feats, starts, ends)]
