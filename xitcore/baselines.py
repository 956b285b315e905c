"""Trivial POS-tagging baselines: the floor any trained tagger has to beat.

* majority: tag every word ``NOUN`` (the most frequent UPOS tag in nearly every UD treebank).
  The tag is fixed rather than estimated, so the baseline needs no training data and is the same
  for every language.
* punct-majority: tag a word ``PUNCT`` if it consists only of punctuation characters, else ``NOUN``.

A word "consists only of punctuation" (:func:`is_punctuation_word`) when it is non-empty and every
character has a Unicode general category starting with ``P`` (Pc, Pd, Ps, Pe, Pi, Pf, Po: . , ; ! ?
quotes, brackets, dashes, « », 。 、 …). Symbols (categories S*: $ + < = > ^ ` | ~ € ©) are
deliberately *not* punctuation: UD tags most of them SYM, so guessing PUNCT would usually be
wrong. Beware that Unicode puts some ASCII characters UD often tags SYM/CCONJ/NOUN in Po
(% & # @ * / \\), so those count as punctuation here; the rule is Unicode's, not UD's.
Mixed words such as ``...!?`` are punctuation; ``3.`` or ``U.S.`` are not.

The per-function scores are fractions 0..1; :func:`pos_baselines` returns percent (0..100), as the
results table stores them (condition ``baseline:majority`` / ``baseline:punct-majority``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from xitcore.metrics import pos_accuracy

__all__ = [
    "MAJORITY_TAG",
    "is_punctuation_word",
    "majority_tag_baseline",
    "punct_majority_baseline",
    "punct_majority_predict",
    "pos_baselines",
]

MAJORITY_TAG = "NOUN"


def is_punctuation_word(word: str) -> bool:
    """True iff ``word`` is non-empty and every character's Unicode category starts with ``P``."""
    return bool(word) and all(unicodedata.category(ch).startswith("P") for ch in word)


def _as_sentences(x) -> list[list[str]]:
    """A list of sentences (lists of str); a flat list of str is taken as one sentence."""
    x = list(x)
    if x and isinstance(x[0], str):
        return [x]
    return [list(s) for s in x]


def majority_tag_baseline(sentences_tags: Sequence[Sequence[str]], tag: str = MAJORITY_TAG) -> float:
    """Token accuracy (0..1) of predicting ``tag`` (default NOUN) for every word.

    ``sentences_tags``: the gold tags, a list of per-sentence tag lists (or one flat list).
    """
    gold = _as_sentences(sentences_tags)
    return pos_accuracy(gold, [[tag] * len(s) for s in gold])


def punct_majority_predict(words: Sequence[str]) -> list[str]:
    """The punct-majority baseline's tags for one sentence."""
    return ["PUNCT" if is_punctuation_word(w) else MAJORITY_TAG for w in words]


def punct_majority_baseline(words: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> float:
    """Token accuracy (0..1) of PUNCT-for-punctuation-words, NOUN-otherwise.

    ``words`` and ``tags`` are parallel lists of per-sentence lists (or two flat lists, one
    sentence). A sentence whose word and tag counts differ raises ValueError naming it.
    """
    w, t = _as_sentences(words), _as_sentences(tags)
    if len(w) != len(t):
        raise ValueError(f"words has {len(w)} sentences but tags has {len(t)}")
    for i, (ws, ts) in enumerate(zip(w, t)):
        if len(ws) != len(ts):
            raise ValueError(f"sentence {i}: {len(ws)} words but {len(ts)} tags")
    return pos_accuracy(t, [punct_majority_predict(ws) for ws in w])


def pos_baselines(ud_sentences: Iterable) -> dict[str, float]:
    """Both baselines, in percent (0..100), over objects with ``.words`` and ``.upos``
    (``xitcore.data.UDSentence``): ``{"majority": ..., "punct_majority": ...}``."""
    sents = list(ud_sentences)
    words = [list(s.words) for s in sents]
    tags = [list(s.upos) for s in sents]
    return {
        "majority": 100.0 * majority_tag_baseline(tags),
        "punct_majority": 100.0 * punct_majority_baseline(words, tags),
    }
