"""Token classification: UD-POS (XTREME-R ``udpos``) and WikiANN / PAN-X NER.

Local formats: UD CoNLL-U (the treebank files XTREME-R reads), XTREME's preprocessed ``word<TAB>tag`` files,
and the PAN-X files of the WikiANN split of Rahimi et al. (``de:Berlin<TAB>B-LOC``, blank line between sentences).
Hub rows: ``google/xtreme`` ``udpos.<Language>`` (tokens, pos_tags) and ``PAN-X.<lang>`` / ``unimelb-nlp/wikiann``
(tokens, ner_tags, langs); tags come either as class ids or as strings.

Long sentences are never truncated: :func:`encode_token_windows` cuts them into overlapping windows (``stride``
tokens of left context repeated) and gives every word to exactly one window, so that
:func:`stitch_word_predictions` predicts every word exactly once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from xitcore.errors import DataError
from xitcore.metrics import pos_accuracy, span_f1, xtreme_seqeval_f1

from .common import bare_piece_ids, open_lines

UPOS_LABELS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
               "SCONJ", "SYM", "VERB", "X"]  # google/xtreme udpos class order
PANX_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]  # google/xtreme PAN-X / wikiann order
IGNORE = -100


@dataclass
class TaggedSentence:
    words: list[str]
    tags: list[str]
    lang: str
    id: str = ""


# ------------------------------------------------------------------ local loaders

def _xtreme_word(w: str) -> str:
    # XTREME's udpos preprocessing joins words that contain spaces (Vietnamese UD) and drops ZWNJ.
    return "".join(w.replace("\u200c", "").split(" "))


def load_udpos_conllu(path: str | os.PathLike, lang: str) -> list[TaggedSentence]:
    """UPOS of the syntactic words of a CoNLL-U file (multiword tokens expanded, empty nodes skipped).

    Like XTREME's ``udpos_preprocess``, sentences whose words are (nearly) all ``_`` (treebanks shipped
    without text, e.g. Arabic-NYUAD) are left out.
    """
    from xitcore.data import read_conllu

    out = []
    for s in read_conllu(path):
        n_blank = sum(w == "_" for w in s.words)
        if n_blank and n_blank >= len(s.words) - 1:
            continue
        out.append(TaggedSentence([_xtreme_word(w) for w in s.words], list(s.upos), lang, s.sent_id))
    return out


def _read_blocks(path) -> list[list[tuple[int, str]]]:
    blocks, cur = [], []
    for n, line in enumerate(open_lines(path), 1):
        if line.strip():
            cur.append((n, line))
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def load_tagged_columns(path: str | os.PathLike, lang: str, strip_lang_prefix: bool = False) -> list[TaggedSentence]:
    """``word<whitespace>tag`` per line, blank line between sentences (XTREME's udpos/panx tsv, PAN-X raw files).

    With ``strip_lang_prefix`` each word must start with ``<lang>:`` (PAN-X raw files: ``de:Berlin B-LOC``).
    """
    out = []
    for k, block in enumerate(_read_blocks(path)):
        words, tags = [], []
        for n, line in block:
            parts = line.rsplit(None, 1)
            if len(parts) != 2:
                raise DataError(f"{path}:{n}: expected 'word tag', got {line!r}")
            word, tag = parts
            if strip_lang_prefix:
                if not word.startswith(f"{lang}:"):
                    raise DataError(f"{path}:{n}: word {word!r} lacks the '{lang}:' prefix of PAN-X files")
                word = word[len(lang) + 1:]
            words.append(word)
            tags.append(tag)
        out.append(TaggedSentence(words, tags, lang, f"{os.path.basename(path)}#{k + 1}"))
    return out


def load_panx(path: str | os.PathLike, lang: str) -> list[TaggedSentence]:
    """PAN-X (WikiANN, Rahimi et al. split) file as shipped: ``<lang>:<word><TAB><IOB2 tag>`` lines."""
    sents = load_tagged_columns(path, lang, strip_lang_prefix=True)
    for s in sents:
        bad = [t for t in s.tags if t not in PANX_LABELS]
        if bad:
            raise DataError(f"{path}: sentence {s.id}: tag {bad[0]!r} is not one of {', '.join(PANX_LABELS)}")
    return sents


# ------------------------------------------------------------------ hub rows

def _names(values, labels: list[str], where: str) -> list[str]:
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif 0 <= int(v) < len(labels):
            out.append(labels[int(v)])
        else:
            raise DataError(f"{where}: tag id {v} outside 0..{len(labels) - 1}")
    return out


def udpos_row(row: dict, lang: str) -> TaggedSentence:
    """google/xtreme ``udpos.<Language>`` row: ``tokens``, ``pos_tags`` (class ids in UPOS_LABELS order)."""
    return TaggedSentence(list(row["tokens"]), _names(row["pos_tags"], UPOS_LABELS, "udpos row"), lang)


def panx_row(row: dict, lang: str) -> TaggedSentence:
    """google/xtreme ``PAN-X.<lang>`` or unimelb-nlp/wikiann row: ``tokens``, ``ner_tags``, ``langs``."""
    return TaggedSentence(list(row["tokens"]), _names(row["ner_tags"], PANX_LABELS, "PAN-X row"), lang)


# ------------------------------------------------------------------ features

@dataclass
class TokenWindow:
    example: int                 # index of the sentence
    input_ids: list[int]         # <s> pieces </s>
    word_ids: list[int | None]   # sentence word index of every position (None for <s>, </s>)
    owned_words: list[int]       # the words this window predicts (each word is owned by exactly one window)
    label_positions: list[int]   # position of the first non-marker piece of each owned word
    labels: list[int]            # label id at label_positions, IGNORE elsewhere (context words too)


def _window_spans(lengths: list[int], body: int, stride: int) -> list[tuple[int, int]]:
    """Word ranges [start, end) holding at most ``body`` pieces; the next window repeats up to ``stride``
    pieces of the previous one as left context."""
    spans, start, n = [], 0, len(lengths)
    while True:
        end, used = start, 0
        while end < n and used + lengths[end] <= body:
            used += lengths[end]
            end += 1
        spans.append((start, end))
        if end >= n:
            return spans
        nxt, ctx = end, 0
        while nxt - 1 > start and ctx + lengths[nxt - 1] <= stride:
            nxt -= 1
            ctx += lengths[nxt]
        start = nxt


def _owners(spans: list[tuple[int, int]], n_words: int) -> list[int]:
    """For each word, the window that predicts it: among the windows holding it, the one where it sits
    farthest from an edge (most context on both sides); ties go to the earlier window."""
    owner = []
    for w in range(n_words):
        best = max((min(w - s, e - 1 - w), -k) for k, (s, e) in enumerate(spans) if s <= w < e)
        owner.append(-best[1])
    return owner


def encode_token_windows(tokenizer, sentences: list[TaggedSentence], label2id: dict[str, int] | None,
                         max_length: int = 128, stride: int = 32) -> list[TokenWindow]:
    """Windows of at most ``max_length`` ids over each sentence (fast tokenizer, words pre-split).

    A word that alone has more than ``max_length - 2`` pieces keeps its first ones (it is still predicted,
    at its first piece). A word shared by two windows is predicted by the one where it has more context.
    """
    body = max_length - 2
    if body < 1:
        raise ValueError(f"max_length must be at least 3, got {max_length}")
    stride = max(0, min(stride, body // 2))  # leave room in the next window for new words
    bare = bare_piece_ids(tokenizer)
    enc = tokenizer([s.words for s in sentences], is_split_into_words=True, add_special_tokens=False)
    out = []
    for i, sent in enumerate(sentences):
        pieces: list[list[int]] = [[] for _ in sent.words]
        for tid, w in zip(enc["input_ids"][i], enc.word_ids(i)):
            if w is not None:
                pieces[w].append(tid)
        pieces = [(p or [tokenizer.unk_token_id])[:body] for p in pieces]
        spans = _window_spans([len(p) for p in pieces], body, stride)
        owner = _owners(spans, len(pieces))
        for k, (start, end) in enumerate(spans):
            ids, wids, first = [tokenizer.bos_token_id], [None], {}
            for w in range(start, end):
                p = pieces[w]
                first[w] = len(ids) + next((j for j, t in enumerate(p) if t not in bare), 0)
                ids += p
                wids += [w] * len(p)
            ids.append(tokenizer.eos_token_id)
            wids.append(None)
            owned = [w for w in range(start, end) if owner[w] == k]
            positions = [first[w] for w in owned]
            labels = [IGNORE] * len(ids)
            if label2id is not None:
                for w, pos in zip(owned, positions):
                    labels[pos] = label2id.get(sent.tags[w], IGNORE)
            out.append(TokenWindow(i, ids, wids, owned, positions, labels))
    return out


def stitch_word_predictions(windows: list[TokenWindow], position_predictions: list[list[int]],
                            n_words: list[int]) -> list[list[int]]:
    """Per sentence, the predicted label id of every word, read from the window that owns the word.

    ``position_predictions[j]`` holds one label id per position of ``windows[j]`` (e.g. an argmax).
    Raises ValueError if a word would be predicted twice or not at all.
    """
    if len(windows) != len(position_predictions):
        raise ValueError(f"{len(windows)} windows but {len(position_predictions)} prediction rows")
    preds: list[list[int | None]] = [[None] * n for n in n_words]
    for win, row in zip(windows, position_predictions):
        for w, pos in zip(win.owned_words, win.label_positions):
            if preds[win.example][w] is not None:
                raise ValueError(f"sentence {win.example}: word {w} predicted twice")
            preds[win.example][w] = int(row[pos])
    for i, p in enumerate(preds):
        if any(x is None for x in p):
            raise ValueError(f"sentence {i}: word {p.index(None)} never predicted")
    return preds  # type: ignore[return-value]


# ------------------------------------------------------------------ metrics

def pos_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """UD-POS: token accuracy and the seqeval F1 XTREME reports for udpos (both 0..1)."""
    return {"accuracy": pos_accuracy(gold, pred), "seqeval_f1": xtreme_seqeval_f1(gold, pred)}


def ner_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """PAN-X NER entity-span scores (0..1) over PER, ORG, LOC, computed by seqeval.

    ``span_f1``, ``precision``, ``recall``: seqeval's default mode (conlleval's reading), what XTREME's
    ``evaluate.py`` reports for panx (``seqeval.metrics.f1_score(labels, predictions)``): the headline.
    ``span_f1_strict``: seqeval ``mode="strict", scheme=IOB2`` F1, beside it (stray ``I-`` tags are no entities).
    """
    r = span_f1(gold, pred, mode="default")
    strict = span_f1(gold, pred, mode="strict")
    return {"precision": r["precision"], "recall": r["recall"], "span_f1": r["f1"], "span_f1_strict": strict["f1"]}
