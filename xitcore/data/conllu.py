"""CoNLL-U reader (Universal Dependencies).

Conventions of :class:`UDSentence`:

* ``words`` are the *syntactic* words. A multiword-token range line (``5-6  zur``) contributes no word;
  its parts (``zu``, ``der``) do, and carry the tags. The surface form is kept in ``multiword`` as
  ``(first_word_index, last_word_index, surface)``, 0-based and inclusive.
* Empty nodes (``8.1``, enhanced-dependency ellipsis) are skipped.
* ``heads`` are the HEAD column as in the file: 1-based word ids, 0 = root.
* ``deprel`` is the DEPREL column unchanged (subtypes such as ``nmod:poss`` kept).
* ``sent_id`` and ``text`` come from the ``# sent_id =`` / ``# text =`` comments; a sentence without them
  gets ``<file name>#<n>`` (1-based) and its words joined by spaces.
* ``space_after[i]`` is False iff word i's MISC column has ``SpaceAfter=No``; ``multiword_space_after[k]`` is the
  same flag read from the MISC column of the range line of ``multiword[k]`` (for a range, that is the flag that
  counts). Both are empty for a sentence built without them (read as "a space after everything"); see
  :mod:`xitcore.surface` for rebuilding the surface text from them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from xitcore.data.paths import open_text
from xitcore.errors import DataError

_WORD_ID = re.compile(r"^[1-9][0-9]*$")
_RANGE_ID = re.compile(r"^([1-9][0-9]*)-([1-9][0-9]*)$")
_EMPTY_ID = re.compile(r"^(0|[1-9][0-9]*)\.[1-9][0-9]*$")


@dataclass
class UDSentence:
    sent_id: str
    text: str
    words: list[str]
    upos: list[str]
    deprel: list[str]
    heads: list[int]
    multiword: list[tuple[int, int, str]] = field(default_factory=list)
    lemmas: list[str] = field(default_factory=list)
    xpos: list[str] = field(default_factory=list)
    feats: list[str] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)  # "key = value" comment lines, e.g. text_en
    space_after: list[bool] = field(default_factory=list)  # per word: False iff its MISC has SpaceAfter=No
    multiword_space_after: list[bool] = field(default_factory=list)  # per multiword range, from the range line

    def __len__(self) -> int:
        return len(self.words)


class _Builder:
    def __init__(self):
        self.reset()

    def reset(self):
        self.comments: dict[str, str] = {}
        self.words, self.upos, self.deprel, self.heads = [], [], [], []
        self.lemmas, self.xpos, self.feats = [], [], []
        self.space_after: list[bool] = []
        self.range_space_after: list[bool] = []
        self.ranges: list[tuple[int, int, str, int]] = []  # (first id, last id, surface, line)
        self.first_line = None

    @property
    def empty(self) -> bool:
        return self.first_line is None


def _space_after(misc: str) -> bool:
    """False iff the MISC column holds the item ``SpaceAfter=No``."""
    return "SpaceAfter=No" not in misc.split("|")


def read_conllu(path: str | os.PathLike) -> list[UDSentence]:
    """Read a CoNLL-U file (plain or .gz) into a list of :class:`UDSentence`.

    Raises DataError ``"<path>:<line>: <problem>"`` on a malformed line (not 10 tab-separated columns,
    a bad ID, non-consecutive word ids, a bad HEAD, a multiword range that does not cover words).
    """
    path = Path(path)
    sentences: list[UDSentence] = []
    b = _Builder()

    def fail(lineno: int, msg: str):
        raise DataError(f"{path}:{lineno}: {msg}")

    def flush(lineno: int):
        if b.empty:
            return
        if not b.words:  # a block of comments only (no word lines): nothing to keep
            if b.ranges:
                fail(b.first_line, "sentence has multiword tokens but no word lines")
            b.reset()
            return
        n = len(b.words)
        multiword = []
        for first, last, surface, line in b.ranges:
            if last > n:
                fail(line, f"multiword token {first}-{last} goes beyond the sentence's last word {n}")
            multiword.append((first - 1, last - 1, surface))
        for i, h in enumerate(b.heads):
            if h > n:
                fail(lineno, f"word {i + 1} has HEAD {h} beyond the sentence's last word {n}")
        idx = len(sentences) + 1
        sent_id = b.comments.get("sent_id", f"{path.name}#{idx}")
        text = b.comments.get("text")
        if text is None:
            text = " ".join(b.words)
        sentences.append(
            UDSentence(
                sent_id=sent_id,
                text=text,
                words=b.words,
                upos=b.upos,
                deprel=b.deprel,
                heads=b.heads,
                multiword=multiword,
                lemmas=b.lemmas,
                xpos=b.xpos,
                feats=b.feats,
                comments=b.comments,
                space_after=b.space_after,
                multiword_space_after=b.range_space_after,
            )
        )
        b.reset()

    try:
        fh = open_text(path, encoding="utf-8")
    except FileNotFoundError:  # pragma: no cover - open_text already checks
        raise DataError(f"missing data file {path}: no such file") from None
    lineno = 0
    with fh:
        try:
            for lineno, raw in enumerate(fh, 1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    flush(lineno)
                    continue
                if b.first_line is None:
                    b.first_line = lineno
                if line.startswith("#"):
                    body = line[1:].strip()
                    if "=" in body:
                        key, value = body.split("=", 1)
                        b.comments.setdefault(key.strip(), value.strip())
                    continue
                cols = line.split("\t")
                if len(cols) != 10:
                    fail(lineno, f"expected 10 tab-separated columns, got {len(cols)}")
                wid = cols[0]
                if _EMPTY_ID.match(wid):
                    continue  # empty node: not a surface/syntactic word
                m = _RANGE_ID.match(wid)
                if m:
                    first, last = int(m.group(1)), int(m.group(2))
                    if first != len(b.words) + 1 or last <= first:
                        fail(lineno, f"bad multiword token range {wid!r} after word {len(b.words)}")
                    b.ranges.append((first, last, cols[1], lineno))
                    b.range_space_after.append(_space_after(cols[9]))
                    continue
                if not _WORD_ID.match(wid):
                    fail(lineno, f"bad ID {wid!r}: expected an integer, a range like 1-2 or an empty node like 8.1")
                if int(wid) != len(b.words) + 1:
                    fail(lineno, f"word ID {wid} out of order: expected {len(b.words) + 1}")
                head = cols[6]
                if not head.isdigit():
                    fail(lineno, f"bad HEAD {head!r} for word {wid}: expected a non-negative integer")
                b.words.append(cols[1])
                b.lemmas.append(cols[2])
                b.upos.append(cols[3])
                b.xpos.append(cols[4])
                b.feats.append(cols[5])
                b.heads.append(int(head))
                b.deprel.append(cols[7])
                b.space_after.append(_space_after(cols[9]))
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}:{lineno + 1}: not valid UTF-8 ({exc.reason})") from exc
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: cannot read ({exc})") from exc
    flush(lineno + 1)  # file without a final blank line
    return sentences
