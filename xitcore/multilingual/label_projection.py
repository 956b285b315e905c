"""Span labels through machine translation by marker preservation (as in EasyProject, Chen et al. 2023).

Wrap each labelled span of the source in markers, translate, find the markers in the output, strip them and
report the spans' character offsets in the stripped translation. When the markers come back lost, unbalanced,
nested, empty or in the wrong number, the example is dropped and the reason counted (``ProjectionReport``).
Several spans are matched in order: the k-th marked span of the output takes the k-th source span's label.
Pure string logic: no model needed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..errors import DataError

_WORD = re.compile(r"\w+|[^\w\s]")


class ProjectionError(ValueError):
    """One example cannot be projected; ``str(e)`` is the reason that gets counted."""


@dataclass(frozen=True)
class Markers:
    open: str = "["
    close: str = "]"


@dataclass
class ProjectionReport:
    total: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count

    def keep(self) -> None:
        self.total += 1
        self.kept += 1

    def drop(self, reason: str) -> None:
        self.total += 1
        self.dropped[reason] += 1

    @property
    def drop_rate(self) -> float:
        return sum(self.dropped.values()) / self.total if self.total else 0.0

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "kept": self.kept,
            "dropped": sum(self.dropped.values()),
            "drop_rate": self.drop_rate,
            "reasons": dict(sorted(self.dropped.items())),
        }


def insert_markers(text: str, spans: list[tuple[int, int]], markers: Markers = Markers()) -> str:
    """``text`` with ``markers.open``/``markers.close`` around each [start, end) span (sorted, disjoint)."""
    if markers.open in text or markers.close in text:
        raise ProjectionError("marker characters in source")
    out, prev = [], 0
    for start, end in sorted(spans):
        if not prev <= start < end <= len(text):
            raise ProjectionError("source spans overlap or out of range")
        out += [text[prev:start], markers.open, text[start:end], markers.close]
        prev = end
    return "".join(out + [text[prev:]])


def extract_spans(translated: str, expected: int, markers: Markers = Markers()) -> tuple[str, list[tuple[int, int]]]:
    """Strip markers from ``translated``; return the clean text and the marked spans' [start, end) offsets in it.

    Whitespace just inside a marker is dropped and the span trimmed, so ``a [ Paris ] b`` gives ``a Paris b``.
    """
    pieces: list[tuple[str, bool]] = []  # (text, inside markers)
    pos, inside = 0, False
    while True:
        o, c = translated.find(markers.open, pos), translated.find(markers.close, pos)
        if o == -1 and c == -1:
            break
        if not inside and (o == -1 or (c != -1 and c < o)):
            raise ProjectionError("close marker before open")
        if inside and (c == -1 or (o != -1 and o < c)):
            raise ProjectionError("nested or unclosed marker")
        cut = c if inside else o
        pieces.append((translated[pos:cut], inside))
        pos = cut + len(markers.close if inside else markers.open)
        inside = not inside
    if inside:
        raise ProjectionError("nested or unclosed marker")
    pieces.append((translated[pos:], False))
    n_spans = sum(1 for _, is_span in pieces if is_span)
    if n_spans == 0 and expected:
        raise ProjectionError("markers lost")
    if n_spans != expected:
        raise ProjectionError("span count changed")
    out, spans = "", []
    for piece, is_span in pieces:
        if is_span:
            piece = piece.strip()
            if not piece:
                raise ProjectionError("empty span")
            spans.append((len(out), len(out) + len(piece)))
        elif out and out[-1].isspace():
            piece = piece.lstrip()  # no double space where a marker was removed
        out += piece
    lead = len(out) - len(out.lstrip())
    return out.strip(), [(s - lead, e - lead) for s, e in spans]


# ------------------------------------------------------------------ QA answers


def mark_answer(context: str, answer_start: int, answer_text: str, markers: Markers = Markers()) -> str:
    if context[answer_start : answer_start + len(answer_text)] != answer_text or not answer_text:
        raise ProjectionError("answer offset does not match context")
    return insert_markers(context, [(answer_start, answer_start + len(answer_text))], markers)


# ------------------------------------------------------------------ BIO tag sequences (NER)


def check_bio(tags: list[str]) -> None:
    bad = sorted({t for t in tags if t != "O" and not t.startswith(("B-", "I-"))})
    if bad:
        raise DataError(
            f"label projection: tags {', '.join(bad)} are not BIO span tags; allowed: O, B-<type>, I-<type>"
        )


def bio_to_char_spans(words: list[str], tags: list[str]) -> tuple[str, list[tuple[int, int, str]]]:
    """Words joined by spaces and the (start, end, type) character spans of their BIO entities."""
    check_bio(tags)
    text, spans, starts = "", [], []
    for w in words:
        starts.append(len(text) + (1 if text else 0))
        text += (" " if text else "") + w
    cur = None  # open span (start, end, type)
    for i, (w, t) in enumerate(zip(words, tags)):
        if t != "O" and t.startswith("I-") and cur and cur[2] == t[2:]:
            cur = (cur[0], starts[i] + len(w), cur[2])  # I- continues the open span
            continue
        if cur:
            spans.append(cur)
        cur = None if t == "O" else (starts[i], starts[i] + len(w), t[2:])  # B-, or a stray I- opens one
    if cur:
        spans.append(cur)
    return text, spans


def char_spans_to_bio(text: str, spans: list[tuple[int, int, str]]) -> tuple[list[str], list[str]]:
    """Tokenize ``text`` (word runs and single punctuation marks) and tag words overlapping each span in BIO.

    Scripts without spaces between words (zh, th, ja) come out as long "words": no segmenter is applied.
    """
    words, tags = [], []
    for m in _WORD.finditer(text):
        tag = "O"
        for s, e, typ in spans:
            if m.start() < e and s < m.end():
                tag = ("I-" if tags and tags[-1][2:] == typ and words and m.start() > s else "B-") + typ
                break
        words.append(m.group())
        tags.append(tag)
    return words, tags
