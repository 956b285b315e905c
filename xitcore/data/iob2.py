"""IOB2 named-entity files: Universal NER (UNER v1) as shipped, and a user's own NER evaluation file.

Two layouts are read (one per file, told by its first word line):

* **UNER** (CoNLL-U-like): ``# sent_id = ...`` / ``# text = ...`` / ``# newdoc id = ...`` comment lines, then one
  tab-separated line per token: ``index  word  tag  misc  annotator`` (index 1, 2, ...; the tag is the third
  column); a blank line ends a sentence.
* **Columns** (CoNLL-2002-like): whitespace-separated ``word ... tag`` (word first, tag last), a blank line ends a
  sentence, ``-DOCSTART-`` lines are skipped; no comments (a line starting with ``#`` is a word).

Tags must be ``O``, ``B-<TYPE>`` or ``I-<TYPE>``; an ``I-X`` that does not continue an ``X`` entity (IOB1) becomes
``B-X`` (:func:`xitcore.data.tagging.to_iob2`). Types are kept as found (UNER has ``OTH`` in hr/sr besides
PER/ORG/LOC); the NER target maps them onto its label set (``treebanks.map_ner_tag``). Every error is one
:class:`~xitcore.errors.DataError` line naming the file (and line) and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from xitcore.data.paths import decode_text, read_bytes
from xitcore.data.tagging import to_iob2
from xitcore.errors import DataError

_TAG = re.compile(r"O|[BI]-[A-Za-z][A-Za-z0-9_]*")
_INDEX = re.compile(r"[1-9][0-9]*")
_BLANKS = re.compile(r"[ \t]+")


@dataclass
class NERSentence:
    sent_id: str  # '# sent_id' (UNER) or '<file name>#<n>' (1-based)
    doc_id: str  # '# newdoc id' in force (UNER), else ''
    words: list[str]
    tags: list[str]  # IOB2
    text: str = ""  # '# text' (UNER), else the words joined by spaces

    def __len__(self) -> int:
        return len(self.words)


def read_iob2(path: str | os.PathLike, source: str | None = None) -> list[NERSentence]:
    """The sentences of an IOB2 file (plain or .gz, UTF-8) in either layout of the module docstring.

    ``source`` names the file in error messages (default: its path). DataError on a missing, undecodable or
    malformed file, or one without any token line."""
    p = Path(path)
    src = source or str(p)
    if not p.is_file():
        raise DataError(f"{src}: file '{p}' does not exist (expected an IOB2 NER file, .iob2 or .iob2.gz)")
    lines = decode_text(read_bytes(p), "utf-8", src).split("\n")
    uner: bool | None = None  # layout, told by the first word line
    out: list[NERSentence] = []
    words: list[str] = []
    tags: list[str] = []
    comments: dict[str, str] = {}
    doc = ""

    def flush() -> None:
        nonlocal words, tags, comments
        if words:
            sid = comments.get("sent_id") or f"{p.name}#{len(out) + 1}"
            text = comments.get("text") or " ".join(words)
            out.append(NERSentence(sid, doc, words, to_iob2(tags), text))
        words, tags, comments = [], [], {}

    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip(" \t"):
            flush()
            continue
        if uner is None and not line.startswith("#"):
            first = line.split("\t")
            uner = len(first) >= 3 and _INDEX.fullmatch(first[0]) is not None
        if line.startswith("#") and uner is not False:  # a comment (UNER layout, or before the first word line)
            key, sep, value = line[1:].partition("=")
            if sep:
                key, value = key.strip(), value.strip()
                if key == "newdoc id":
                    doc = value
                else:
                    comments[key] = value
            continue
        if uner:
            cols = line.split("\t")
            if len(cols) < 3 or _INDEX.fullmatch(cols[0]) is None:
                raise DataError(
                    f"{src}:{lineno}: expected a token line 'index<TAB>word<TAB>tag[<TAB>...]' as in the lines "
                    f"before, got {line[:60]!r}"
                )
            if int(cols[0]) != len(words) + 1:
                raise DataError(f"{src}:{lineno}: token index {cols[0]} where {len(words) + 1} was expected")
            word, tag = cols[1], cols[2]
        else:
            cols = _BLANKS.split(line.strip(" \t"))
            if cols[0] == "-DOCSTART-":
                flush()
                continue
            if len(cols) < 2:
                raise DataError(f"{src}:{lineno}: expected 'word ... tag' (at least 2 columns), got {line[:60]!r}")
            word, tag = cols[0], cols[-1]
        if not _TAG.fullmatch(tag):
            raise DataError(f"{src}:{lineno}: tag {tag[:30]!r} is not IOB2; allowed: O, B-<TYPE>, I-<TYPE>")
        words.append(word)
        tags.append(tag)
    flush()
    if not out:
        raise DataError(f"{src}: file '{p}' holds no sentences (expected IOB2 token lines)")
    return out
