"""CCG supertagging (one of the paper's intermediate tasks; CCGbank, Hockenmaier & Steedman 2007).

CCGbank is distributed by the LDC (LDC2005T13) under a licence that forbids redistribution: no data is shipped
here and there is no hub source. Point the loaders at your own copy:

* ``.auto`` files (``data/AUTO/<section>/wsj_*.auto``): an ``ID=...`` line, then one bracketed derivation per
  line whose leaves are ``(<L category modified_POS original_POS word predicate_arg_category>)``;
* "piped" token files, one sentence a line: ``word|supertag`` or C&C's ``word|POS|supertag`` tokens.

Supertags are the leaf categories exactly as written (no feature stripping). The label set is built from the
training sentences; tokens whose tag is not in it get no training label (and count as errors at test time).
Preprocessing is the token-classification one (windows, every word predicted once); the metric is accuracy.
"""
from __future__ import annotations

import os
import re

from xitcore.errors import DataError
from xitcore.metrics import pos_accuracy

from .common import open_lines
from .token_classification import TaggedSentence

_LEAF = re.compile(r"<L (\S+) (\S+) (\S+) (\S+) (\S+)>")


def load_ccg_auto(path: str | os.PathLike) -> list[TaggedSentence]:
    """Words and supertags of every derivation in a CCGbank ``.auto`` file."""
    out, sent_id = [], ""
    for n, line in enumerate(open_lines(path), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("ID="):
            sent_id = line.split()[0][3:]
            continue
        leaves = _LEAF.findall(line)
        if not leaves:
            raise DataError(f"{path}:{n}: a derivation line without '<L category POS POS word pred_arg>' leaves")
        out.append(TaggedSentence([leaf[3] for leaf in leaves], [leaf[0] for leaf in leaves], "en", sent_id or f"{n}"))
    return out


def load_ccg_piped(path: str | os.PathLike) -> list[TaggedSentence]:
    """``word|supertag`` (or ``word|POS|supertag``) tokens, one sentence a line; the tag is the last field."""
    out = []
    for n, line in enumerate(open_lines(path), 1):
        if not line.strip():
            continue
        words, tags = [], []
        for tok in line.split():
            parts = tok.split("|")
            if len(parts) < 2 or not parts[0] or not parts[-1]:
                raise DataError(f"{path}:{n}: token {tok!r} is not 'word|supertag' or 'word|POS|supertag'")
            words.append(parts[0])
            tags.append(parts[-1])
        out.append(TaggedSentence(words, tags, "en", f"{os.path.basename(path)}#{n}"))
    return out


def supertag_labels(train: list[TaggedSentence]) -> list[str]:
    """Sorted supertag inventory of the training sentences."""
    return sorted({t for s in train for t in s.tags})


def supertag_accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    return pos_accuracy(gold, pred)
