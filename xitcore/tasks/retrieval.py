"""Retrieval: Tatoeba, BUCC 2018 (XTREME), LAReQA and Mewsli-X (XTREME-R). No training: embeddings in, scores out.

Protocols follow google-research/xtreme (``third_party/evaluate_retrieval.py``, ``utils_retrieve.py``,
``utils_lareqa.py``, ``utils_mewslix.py``):

* Tatoeba: top-1 accuracy of cosine nearest neighbour; each English sentence retrieves among the other
  language's sentences (XTREME builds the index on the non-English side and queries it with English).
* BUCC: LASER ratio margin ``cos(x, y) / ((mean_k cos(x, NN_k(x)) + mean_k cos(y, NN_k(y))) / 2)`` with k = 4
  nearest neighbours in both directions, "max" retrieval (best forward and backward candidates, kept greedily
  one-to-one by score), then F1 against the gold pairs at a threshold. XTREME picks the threshold that
  maximises F1 *on the gold of the evaluated split* (an oracle threshold); :func:`bucc_f1` does the same
  when no threshold is given, or applies one chosen elsewhere (e.g. on the sample/dev split).
* LAReQA: mAP@20 over a pool of answer sentences from all languages; the relevant candidates of a question
  are the answer sentences of its parallel questions in every language; scores are dot products.
* Mewsli-X: "mAP@20" with one gold entity per mention, i.e. mean reciprocal rank within the top 20.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import DataError
from ..metrics import retrieval_top1
from .io import need, open_lines, read_json, read_jsonl

# XTREME-R 2-letter code -> Tatoeba (LASER) 3-letter code, from XTREME utils_preprocess.py tatoeba_preprocess.
TATOEBA_ISO3 = {
    "af": "afr",
    "ar": "ara",
    "bg": "bul",
    "bn": "ben",
    "de": "deu",
    "el": "ell",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "pes",
    "fi": "fin",
    "fr": "fra",
    "he": "heb",
    "hi": "hin",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "jv": "jav",
    "ka": "kat",
    "kk": "kaz",
    "ko": "kor",
    "ml": "mal",
    "mr": "mar",
    "nl": "nld",
    "pt": "por",
    "ru": "rus",
    "sw": "swh",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",
    "tr": "tur",
    "ur": "urd",
    "vi": "vie",
    "zh": "cmn",
    "az": "aze",
    "lt": "lit",
    "pl": "pol",
    "uk": "ukr",
    "ro": "ron",
}


def _unit(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    n = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(n > 0, n, 1.0)


# ------------------------------------------------------------------ Tatoeba


@dataclass
class TatoebaPairs:
    lang: str
    xx: list[str]  # line i of the non-English file ...
    en: list[str]  # ... translates line i of the English file


def load_tatoeba(xx_path: str | os.PathLike, en_path: str | os.PathLike, lang: str) -> TatoebaPairs:
    """LASER ``tatoeba.<xxx>-eng.<xxx>`` and ``tatoeba.<xxx>-eng.eng``: one sentence a line, aligned."""
    xx, en = open_lines(xx_path), open_lines(en_path)
    if len(xx) != len(en):
        raise DataError(f"{xx_path}: {len(xx)} lines but {en_path} has {len(en)}; Tatoeba files must be line-aligned")
    return TatoebaPairs(lang, xx, en)


def tatoeba_row(row: dict, lang: str) -> tuple[str, str]:
    """google/xtreme ``tatoeba.<xxx>`` row -> (xx sentence, English sentence); the rows keep the file's newline."""
    return row["source_sentence"].rstrip("\n"), row["target_sentence"].rstrip("\n")


def tatoeba_top1(xx_emb, en_emb) -> float:
    """Tatoeba accuracy (0..1): English row i must retrieve xx row i (cosine, XTREME's query direction)."""
    return retrieval_top1(en_emb, xx_emb)


# ------------------------------------------------------------------ BUCC


@dataclass
class BuccData:
    lang: str
    src_ids: list[str]
    src_sents: list[str]
    en_ids: list[str]
    en_sents: list[str]
    gold: set[tuple[str, str]] = field(default_factory=set)


def _read_id_sentences(path) -> tuple[list[str], list[str]]:
    ids, sents = [], []
    for n, line in enumerate(open_lines(path), 1):
        parts = line.split("\t", 1)
        if len(parts) != 2:
            raise DataError(f"{path}:{n}: expected '<id><TAB><sentence>'")
        ids.append(parts[0])
        sents.append(parts[1])
    return ids, sents


def load_bucc(
    src_path: str | os.PathLike, en_path: str | os.PathLike, gold_path: str | os.PathLike | None, lang: str
) -> BuccData:
    """BUCC 2018 ``<l>-en.<split>.<l>`` / ``.en`` (``<id><TAB><sentence>``) and ``.gold`` (``<l-id><TAB><en-id>``)."""
    src_ids, src = _read_id_sentences(src_path)
    en_ids, en = _read_id_sentences(en_path)
    gold = set()
    if gold_path is not None:
        for n, line in enumerate(open_lines(gold_path), 1):
            parts = line.split("\t")
            if len(parts) != 2:
                raise DataError(f"{gold_path}:{n}: expected '<{lang}-id><TAB><en-id>'")
            gold.add((parts[0], parts[1]))
    return BuccData(lang, src_ids, src, en_ids, en, gold)


def bucc_row(row: dict, lang: str) -> tuple[str, str, str, str]:
    """google/xtreme ``bucc18.<l>`` row -> (src id, src sentence, en id, en sentence). The hub rows are the gold
    pairs only (no distractor sentences, so no mining pool); the loading script they were built from stored the
    sentence ids in the ``source_lang``/``target_lang`` columns."""
    return row["source_lang"], row["source_sentence"], row["target_lang"], row["target_sentence"]


def _knn(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = x @ y.T
    k = min(k, y.shape[0])
    ind = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, ind, axis=1), ind


def bucc_candidates(src_emb, en_emb, src_ids: list[str], en_ids: list[str], k: int = 4) -> dict[tuple[str, str], float]:
    """Mined pairs ``(src id, en id) -> ratio-margin score`` (XTREME ``mine_bitext``, retrieval "max").

    Forward: each source sentence's best-margin target among its k cosine neighbours; backward likewise; both
    lists are merged by descending score and a pair is kept unless its source or target is already used.
    Only scores above 0 are kept (XTREME's mining threshold).
    """
    x, y = _unit(src_emb), _unit(en_emb)
    if x.shape[0] != len(src_ids) or y.shape[0] != len(en_ids):
        raise ValueError("bucc_candidates: one id per embedding row is needed")
    x2y_sim, x2y_ind = _knn(x, y, k)
    y2x_sim, y2x_ind = _knn(y, x, k)
    fwd_mean, bwd_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)
    # score(i, j) = cos / ((fwd_mean[i] + bwd_mean[j]) / 2), for each query's k candidates
    fwd = x2y_sim / ((fwd_mean[:, None] + bwd_mean[x2y_ind]) / 2)
    bwd = y2x_sim / ((bwd_mean[:, None] + fwd_mean[y2x_ind]) / 2)
    fwd_best = x2y_ind[np.arange(len(x)), fwd.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(len(y)), bwd.argmax(axis=1)]
    pairs = [(int(i), int(j)) for i, j in enumerate(fwd_best)] + [(int(i), int(j)) for j, i in enumerate(bwd_best)]
    scores = np.concatenate([fwd.max(axis=1), bwd.max(axis=1)])
    out, seen_src, seen_tgt = {}, set(), set()
    for p in np.argsort(-scores, kind="stable"):
        i, j = pairs[p]
        if i not in seen_src and j not in seen_tgt:
            seen_src.add(i)
            seen_tgt.add(j)
            if scores[p] > 0:
                out[(src_ids[i], en_ids[j])] = float(scores[p])
    return out


def bucc_best_threshold(candidates: dict[tuple[str, str], float], gold: set[tuple[str, str]]) -> float:
    """XTREME ``bucc_optimize``: walk candidates by descending score; at the best F1 put the threshold midway
    to the next score (at the last candidate: its own score)."""
    items = sorted(candidates.items(), key=lambda kv: -kv[1])
    best_f1, threshold, correct = 0.0, float("inf"), 0
    for n, (pair, score) in enumerate(items, 1):
        correct += pair in gold
        if correct:
            p, r = correct / n, correct / len(gold)
            f1 = 2 * p * r / (p + r)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (score + items[n][1]) / 2 if n < len(items) else score
    return threshold


def bucc_f1(
    candidates: dict[tuple[str, str], float], gold: set[tuple[str, str]], threshold: float | None = None
) -> dict[str, float]:
    """Precision / recall / F1 (0..1) of the candidates scoring >= threshold; threshold None = the F1-optimal
    one on this gold (XTREME's protocol)."""
    if not gold:
        raise ValueError("bucc_f1: no gold pairs")
    th = bucc_best_threshold(candidates, gold) if threshold is None else threshold
    kept = {p for p, s in candidates.items() if s >= th}
    correct = len(kept & gold)
    p = correct / len(kept) if kept else 0.0
    r = correct / len(gold)
    f = 2 * p * r / (p + r) if correct else 0.0
    return {"precision": p, "recall": r, "f1": f, "threshold": th}


# ------------------------------------------------------------------ ranking metrics


def average_precision_at_k(relevant: set[int], ranked: list[int], k: int | None = 20) -> float:
    """AP@k as XTREME ``utils_lareqa.average_precision_at_k``: sum of precision@i at each relevant hit within
    the top k, divided by min(#relevant, k)."""
    if not relevant:
        raise ValueError("average_precision_at_k: no relevant item")
    top = ranked[:k] if k else ranked
    hits, score, seen = 0, 0.0, set()
    for i, c in enumerate(top):
        if c in relevant and c not in seen:
            hits += 1
            score += hits / (i + 1)
        seen.add(c)
    return score / (min(len(relevant), k) if k else len(relevant))


def rank_by_dot(query_emb, cand_emb, k: int | None = None) -> list[list[int]]:
    """Candidate indices per query, highest dot product first (ties: lower index first)."""
    s = np.asarray(query_emb, dtype=np.float64) @ np.asarray(cand_emb, dtype=np.float64).T
    order = np.argsort(-s, axis=1, kind="stable")
    return [list(map(int, row[:k] if k else row)) for row in order]


# ------------------------------------------------------------------ LAReQA (XQuAD-R)


@dataclass
class LareqaQuestion:
    uid: str
    xling_id: str  # shared by the parallel questions in all languages
    lang: str
    question: str


@dataclass
class LareqaCandidate:
    uid: str
    sentence: str
    context: str
    lang: str
    xling_ids: set[str] = field(default_factory=set)  # questions this sentence answers

    @property
    def text(self) -> str:
        return (self.sentence + self.context).replace("\n", "")  # what XTREME encodes


def load_lareqa(paths: dict[str, str | os.PathLike]) -> tuple[list[LareqaQuestion], list[LareqaCandidate]]:
    """XQuAD-R files (``xquad-r/<lang>.json``: SQuAD JSON + per-paragraph ``sentence_breaks``), all languages
    pooled. Candidates are every sentence of every paragraph; a question's answer sentence is the one holding
    its ``answer_start``."""
    questions, cands = [], {}
    for lang, path in paths.items():
        doc = read_json(path)
        n_para = 0
        for article in need(doc, "data", str(path)):
            for para in article["paragraphs"]:
                n_para += 1
                ctx = para["context"]
                breaks = need(para, "sentence_breaks", f"{path}: paragraph {n_para}")
                for pos, (s, e) in enumerate(breaks):
                    uid = f"{lang}_{n_para}_{pos}"
                    cands.setdefault(uid, LareqaCandidate(uid, ctx[s:e], ctx, lang))
                for qa in para["qas"]:
                    if len(qa["answers"]) != 1:
                        raise DataError(f"{path}: question {qa['id']}: XQuAD-R has exactly one answer per question")
                    a = qa["answers"][0]["answer_start"]
                    pos = next((k for k, (s, e) in enumerate(breaks) if s <= a < e), None)
                    if pos is None:  # XTREME skips these too (sentence-breaking error)
                        continue
                    questions.append(LareqaQuestion(f"{qa['id']}_{lang}", qa["id"], lang, qa["question"]))
                    cands[f"{lang}_{n_para}_{pos}"].xling_ids.add(qa["id"])
    return questions, list(cands.values())


def lareqa_map_at_k(
    question_emb, candidate_emb, questions: list[LareqaQuestion], candidates: list[LareqaCandidate], k: int = 20
) -> float:
    """Mean over all questions of AP@k, ranking the whole multilingual candidate pool by dot product."""
    if len(question_emb) != len(questions) or len(candidate_emb) != len(candidates):
        raise ValueError("lareqa_map_at_k: one embedding row per question and per candidate is needed")
    ranked = rank_by_dot(question_emb, candidate_emb, k)
    aps = []
    for q, r in zip(questions, ranked):
        relevant = {c for c, cand in enumerate(candidates) if q.xling_id in cand.xling_ids}
        aps.append(average_precision_at_k(relevant, r, k))
    return float(np.mean(aps))


# ------------------------------------------------------------------ Mewsli-X


@dataclass
class MewsliMention:
    example_id: str
    lang: str
    query: str  # mention in its sentence, marked up as XTREME-R's baseline does
    entity_id: str  # gold WikiData QID ("" where labels were removed)


@dataclass
class MewsliEntity:
    entity_id: str
    text: str  # the description's sentences


_BRACES = re.compile(r"{(.*?)}")


def _clean(s: str) -> str:
    return " ".join(s.splitlines()).replace("  ", " ").strip()


def load_mewslix_mentions(path: str | os.PathLike, labels_path: str | os.PathLike | None = None) -> list[MewsliMention]:
    """``wikinews_mentions/<split>-<lang>.jsonl`` (one context with its mentions a line). The query is
    ``"<mention>: <left> { <mention> } <right>"`` over the sentence holding the mention, braces in the text
    turned into parentheses (XTREME ``utils_mewslix.preprocess_mention``). Gold ids come from the mention,
    or from ``labels_path`` (``wikinews_labels/<split>-<lang>.json``: ``{example_id: [QID]}``)."""
    labels = read_json(labels_path) if labels_path is not None else {}
    out = []
    for n, row in read_jsonl(path):
        ctx = need(row, "context", f"{path}:{n}")
        text = ctx["text"]
        spans = [(s["start"], s["end"]) for s in ctx["sentence_spans"]]
        for m in need(row, "mentions", f"{path}:{n}"):
            ms = m["mention_span"]
            if text[ms["start"] : ms["end"]] != ms["text"]:
                raise DataError(f"{path}:{n}: mention {m['example_id']} text does not match its offsets")
            sent = next(((s, e) for s, e in spans if s <= ms["start"] < e and ms["end"] <= e), None)
            if sent is None:
                raise DataError(f"{path}:{n}: mention {m['example_id']} is not inside one sentence")
            left = _BRACES.sub(r"(\1)", text[sent[0] : ms["start"]])
            right = _BRACES.sub(r"(\1)", text[ms["end"] : sent[1]])
            query = _clean(f"{ms['text']}: {left} {{ {ms['text']} }} {right}")
            gold = (labels.get(m["example_id"]) or [m.get("entity_id", "")])[0]
            out.append(MewsliMention(m["example_id"], ctx["language"], query, gold))
    return out


def load_mewslix_entities(path: str | os.PathLike) -> list[MewsliEntity]:
    """``candidate_set_entities.jsonl``: entity_id, description and its sentence_spans."""
    out = []
    for n, row in read_jsonl(path):
        desc = need(row, "description", f"{path}:{n}")
        sents = [desc[s["start"] : s["end"]] for s in row.get("sentence_spans", [])] or [desc]
        out.append(MewsliEntity(need(row, "entity_id", f"{path}:{n}"), _clean(" ".join(sents))))
    return out


def mewslix_map_at_k(gold: dict[str, str], predictions: dict[str, list[str]], k: int = 20) -> float:
    """XTREME-R Mewsli-X score (0..1): mean over gold mentions of 1/rank of the gold entity within the top k
    predictions (0 if absent or the mention has no prediction)."""
    if not gold:
        raise ValueError("mewslix_map_at_k: no gold mentions")
    total = 0.0
    for ex, g in gold.items():
        top = predictions.get(ex, [])[:k]
        total += next((1.0 / r for r, p in enumerate(top, 1) if p == g), 0.0)
    return total / len(gold)


# ------------------------------------------------------------------ sentence embeddings


@torch.no_grad()
def embed_sentences(
    encoder, tokenizer, sentences: list[str], layer: int, max_length: int, device, batch_size: int = 64, prefix=None
) -> np.ndarray:
    """Mean-pooled hidden states of one layer, no training (the sentence embeddings of XTREME's Tatoeba/BUCC
    protocol). Tatoeba is scored in XTREME's direction by the caller: each English sentence is the query over the
    other language's sentences (pipeline.step_tatoeba: retrieval_top1(en, xx)). ``prefix`` (xitcore.frozen): the
    encoder's frozen lower layers, read from their stored output when ``layer`` lies above them."""
    n_layers = encoder.config.num_hidden_layers
    at = layer % (n_layers + 1)  # hidden_states index: 0 = embeddings, n_layers = the last layer
    if prefix is not None and at > prefix.k:
        return _embed_above_prefix(prefix, tokenizer, sentences, at, max_length, device, batch_size)
    encoder.eval()
    order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
    out = np.zeros((len(sentences), encoder.config.hidden_size), dtype=np.float32)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        enc = tokenizer(
            [sentences[k] for k in idx], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        hs = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer]
        m = mask.unsqueeze(-1).to(hs.dtype)
        pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1)
        out[idx] = pooled.float().cpu().numpy()
    encoder.train()
    return out


@torch.no_grad()
def _embed_above_prefix(prefix, tokenizer, sentences, at: int, max_length: int, device, batch_size: int) -> np.ndarray:
    """embed_sentences from the stored frozen output: only the layers above it run (eval mode)."""
    layers = prefix.encoder.encoder.layer[prefix.k :]
    modes = [m.training for m in layers]
    for m in layers:
        m.eval()
    order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
    out = np.zeros((len(sentences), prefix.encoder.config.hidden_size), dtype=np.float32)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        enc = tokenizer(
            [sentences[k] for k in idx], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        collect: list = []
        prefix.top(prefix.hidden(ids, mask), mask, collect)
        hs = collect[at - prefix.k - 1]
        m = mask.unsqueeze(-1).to(hs.dtype)
        out[idx] = ((hs * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy()
    for m, t in zip(layers, modes):
        m.train(t)
    return out
