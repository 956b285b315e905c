"""Bilingual word lists induced from the shipped parallel text, and code-switched text built with them.

A tiny encoder pre-trained for minutes sees each language on its own and learns no cross-lingual alignment
(XLM-R gets it from scale). Code-switching the MLM text with dictionary translations (as in CoSDA-ML, Qin et
al. 2020, and dictionary-based code-switched pre-training) gives the smoke model that alignment signal
cheaply. The dictionaries come from the translation pairs the corpus step writes (PUD intermediate halves,
XQuAD paragraphs): IBM Model 1 trained in both directions, then the word pairs that both directions' Viterbi
alignments agree on. No evaluation sentence is among those pairs (the corpus step filters them out).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter, defaultdict

import numpy as np

from ..corpus import split_sentences

_SPACE = re.compile(r"(\s+)")
_NO_SPACES = {"zh", "ja", "th"}  # scripts written without spaces: align characters, not runs
DICTIONARY_SETTINGS = {"iterations": 5, "min_count": 2}  # part of the dictionary step's key
_SHOWN = ("the", "of", "and", "a", "in", "is", "was", "he", "not", "with", "government", "city")


def word_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each run of letters, combining marks and digits (``\\w`` would cut Devanagari words at
    their vowel signs, which are marks)."""
    spans, start = [], None
    for i, ch in enumerate(text):
        if unicodedata.category(ch)[0] in "LMN":
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def split_words(text: str, lang: str, lower: bool = True) -> list[str]:
    """Word forms used for alignment, lower-cased unless ``lower`` is false (punctuation dropped)."""
    text = text.lower() if lower else text
    runs = [text[a:b] for a, b in word_spans(text)]
    if lang in _NO_SPACES:
        return [c for r in runs for c in r]
    return runs


def sentence_pairs(pairs: list[dict], max_words: int = 80) -> list[dict]:
    """Pairs cut to sentence pairs: paragraphs (XQuAD) whose two sides split into the same number of sentences
    are paired sentence by sentence, other long pairs are left out (IBM 1's cost grows with length squared)."""
    out = []
    for p in pairs:
        if len(p["en"].split()) <= max_words and len(p["xx"].split()) <= max_words:
            out.append(p)
            continue
        en, xx = split_sentences(p["en"]), split_sentences(p["xx"])
        if len(en) == len(xx) > 1:
            out += [
                {**p, "en": e, "xx": x}
                for e, x in zip(en, xx)
                if len(e.split()) <= max_words and len(x.split()) <= max_words
            ]
    return out


def _ibm1(src: list[list[str]], tgt: list[list[str]], iterations: int) -> dict[tuple[str, str], float]:
    """t(target word | source word) of IBM Model 1 with a NULL source word, uniform start (Brown et al. 1993)."""
    null = "\0"
    src = [[null] + s for s in src]
    sv = {w: i for i, w in enumerate(sorted({w for s in src for w in s}))}
    tv = {w: i for i, w in enumerate(sorted({w for g in tgt for w in g}))}
    # each sentence pair as index arrays into one flat table of the (source, target) word pairs it holds
    pair_ids: dict[tuple[int, int], int] = {}
    sents = []
    for s, g in zip(src, tgt):
        si, gi = [sv[w] for w in s], [tv[w] for w in g]
        grid = np.array([[pair_ids.setdefault((a, b), len(pair_ids)) for a in si] for b in gi], dtype=np.int64)
        sents.append((grid, np.array(si)))
    src_of = np.zeros(len(pair_ids), dtype=np.int64)
    for (a, _), k in pair_ids.items():
        src_of[k] = a
    t = np.ones(len(pair_ids))
    for _ in range(iterations):
        count = np.zeros(len(pair_ids))
        for grid, _ in sents:
            p = t[grid]  # target words x source words
            np.add.at(count, grid, p / p.sum(1, keepdims=True))
        total = np.bincount(src_of, weights=count, minlength=len(sv))
        t = count / total[src_of]
    inv_s, inv_t = list(sv), list(tv)
    return {(inv_s[a], inv_t[b]): float(t[k]) for (a, b), k in pair_ids.items()}


def _viterbi(t, src: list[str], tgt: list[str]) -> set[tuple[int, int]]:
    """(source index, target index) of each target word's most probable source word (NULL: no link)."""
    links = set()
    for j, w in enumerate(tgt):
        best, arg = t.get(("\0", w), 0.0), None
        for i, e in enumerate(src):
            p = t.get((e, w), 0.0)
            if p > best:
                best, arg = p, i
        if arg is not None:
            links.add((arg, j))
    return links


def induce_dictionary(
    pairs: list[dict], iterations: int = 5, min_count: int = 2
) -> dict[str, dict[str, list[tuple[str, int]]]]:
    """lang -> English word -> [(translation, times aligned)], most frequent first.

    ``pairs`` are ``{"lang", "xx", "en"}`` dicts. A word pair enters when the intersection of the two
    directions' alignments links it at least ``min_count`` times.
    """
    by_lang: dict[str, list[tuple[list[str], list[str]]]] = defaultdict(list)
    surface: dict[str, Counter] = defaultdict(Counter)  # German nouns keep their capital letter
    for p in sentence_pairs(pairs):
        en, xx = split_words(p["en"], "en"), split_words(p["xx"], p["lang"])
        if en and xx:
            by_lang[p["lang"]].append((en, xx))
            forms = split_words(p["xx"], p["lang"], lower=False)
            surface[p["lang"]].update(forms[1:])  # the first word is capitalised in most languages
    out: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for lang, items in sorted(by_lang.items()):
        en, xx = [a for a, _ in items], [b for _, b in items]
        t_xe = _ibm1(en, xx, iterations)  # t(xx word | en word)
        t_ex = _ibm1(xx, en, iterations)
        links: Counter = Counter()
        for e, x in items:
            fwd = _viterbi(t_xe, e, x)
            bwd = {(i, j) for j, i in _viterbi(t_ex, x, e)}
            links.update((e[i], x[j]) for i, j in fwd & bwd)
        table: dict[str, list[tuple[str, int]]] = defaultdict(list)
        seen = surface[lang]
        for (e, x), n in links.most_common():
            if n >= min_count:
                form = max((x, x.capitalize(), x.upper()), key=lambda f: seen[f])
                table[e].append((form, n))
        out[lang] = dict(table)
    return out


def code_switch(
    sentence: str, table: dict[str, list[tuple[str, int]]], prob: float, rng: random.Random
) -> tuple[str, int]:
    """``sentence`` with each dictionary word replaced, with probability ``prob``, by a translation drawn in
    proportion to how often it was aligned (its first letter upper-cased where the original's is); returns
    (text, words replaced)."""
    parts = _SPACE.split(sentence)
    n = 0
    for k, part in enumerate(parts):
        if not part or part.isspace():
            continue
        spans = word_spans(part)
        if not spans:
            continue
        a, b = spans[0]
        cands = table.get(part[a:b].lower())
        if not cands or rng.random() >= prob:
            continue
        words, weights = zip(*cands)
        new = rng.choices(words, weights)[0]
        if part[a : a + 1].isupper():
            new = new[:1].upper() + new[1:]
        parts[k] = part[:a] + new + part[b:]
        n += 1
    return "".join(parts), n


def dictionary_summary(table: dict, pairs: list[dict]) -> dict:
    """Metrics of the dictionary step: entries per language and a few entries to eyeball."""
    return {
        "translation_pairs": {l: sum(p["lang"] == l for p in pairs) for l in sorted(table)},
        "english_words": {l: len(t) for l, t in sorted(table.items())},
        "entries": {l: sum(len(v) for v in t.values()) for l, t in sorted(table.items())},
        "examples": {l: {w: [x for x, _ in t[w][:3]] for w in _SHOWN if w in t} for l, t in sorted(table.items())},
    }
