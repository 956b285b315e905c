"""Shipped treebank and NER data as the tasks read them: the PUD split into an intermediate and an evaluation half,
UPOS evaluation and dev treebanks (shipped or a user's own), English UPOS/NER training data, CoNLL-2002 evaluation.

PUD sentences are translations of one English set: a fixed split, identical for every condition, gives an
intermediate-training half and an evaluation half. Never train on the evaluation half.
"""

from __future__ import annotations

import functools
import os
import random
import re
from pathlib import Path

from ..errors import ConfigError, DataError
from .conllu import read_conllu
from .paths import ALL_PUD_TREEBANKS, data_file, file_sha256, ud_file
from .tagging import read_conll2002, read_ieer_documents

# PUD sentences are translations of one English set: a fixed split, identical for every condition,
# gives an intermediate-training half and an evaluation half. Never train on the evaluation half.
PUD_SPLIT_SEED = 20200527


PUD_SIZE = 1000


PUD_NON_EN = ["ar", "de", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh"]


XQUAD_NON_EN = ["ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


XCOPA_LANGS = ["et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh"]


# English COPA analogue: the machine translation into English of the Italian XCOPA items (data-gmt).
COPA_ENGLISH_SOURCE = "it"


NER_TYPES = ["PER", "ORG", "LOC"]


NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


UPOS = [
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
]


DEPRELS = [
    "acl",
    "advcl",
    "advmod",
    "amod",
    "appos",
    "aux",
    "case",
    "cc",
    "ccomp",
    "clf",
    "compound",
    "conj",
    "cop",
    "csubj",
    "dep",
    "det",
    "discourse",
    "dislocated",
    "expl",
    "fixed",
    "flat",
    "goeswith",
    "iobj",
    "list",
    "mark",
    "nmod",
    "nsubj",
    "nummod",
    "obj",
    "obl",
    "orphan",
    "parataxis",
    "punct",
    "reparandum",
    "root",
    "vocative",
    "xcomp",
]


def pud_split() -> tuple[list[int], list[int]]:
    """(intermediate_half, evaluation_half) sentence positions of every PUD treebank."""
    idx = list(range(PUD_SIZE))
    random.Random(PUD_SPLIT_SEED).shuffle(idx)
    half = PUD_SIZE // 2
    return sorted(idx[:half]), sorted(idx[half:])


def _file_key(path) -> tuple:
    """Cache key for a parsed data file (which exists): its path and modification time (XIT_DATA_ROOT may
    point elsewhere)."""
    return str(path), os.stat(path).st_mtime_ns


@functools.lru_cache(maxsize=64)
def _conllu_sentences(key: tuple) -> tuple:
    """A CoNLL-U file parsed once per process (``key`` from _file_key): a grid worker evaluates every unit it
    runs on the same treebanks. The UDSentence objects are shared: treat them as read-only."""

    return tuple(read_conllu(key[0]))


def _pud_sentences(lang: str, key: tuple) -> tuple:
    sents = _conllu_sentences(key)
    if len(sents) != PUD_SIZE:
        raise DataError(f"PUD {lang}: expected {PUD_SIZE} sentences, found {len(sents)}")
    return sents


PUD_HALVES = ("intermediate", "evaluation")


def load_pud(lang: str, half: str):
    """The ``half`` ("intermediate" or "evaluation") of ``lang``'s PUD treebank (the 13 of PUD_LANGS, sv, pl): the
    same sentence positions in every language (pud_split)."""

    if half not in PUD_HALVES:
        raise DataError(f"unknown PUD half {half!r}: allowed are {', '.join(PUD_HALVES)}")
    sents = _pud_sentences(lang, _file_key(ud_file(lang, "pud")))
    inter, ev = pud_split()
    return [sents[i] for i in (inter if half == "intermediate" else ev)]


def deprel_label(d: str) -> str:
    """A UD relation without its subtype (``nmod:poss`` -> ``nmod``)."""
    return d.split(":")[0]


def load_pos_train() -> list[dict]:
    """English UPOS training data: UD English-EWT dev (the EWT train file is not shipped)."""

    return [
        {"words": s.words, "tags": s.upos, "lang": "en", "sentence": s} for s in read_conllu(ud_file("en", "ewt-dev"))
    ]


# ------------------------------------------------------------------ UPOS evaluation treebanks
# Shipped: the PUD evaluation half (the 13 PUD languages, sv, pl; dev split = the PUD intermediate half) and, for
# non-parallel treebanks, language -> (dev file, evaluation file) as ud_file kinds. A user's own treebank
# (params eval.pos_treebanks: code -> "file.conllu" or "file.conllu#first:N") replaces the shipped one.
UD_DEV_EVAL: dict[str, tuple[str, str]] = {"ja": ("gsd-dev", "gsd-test")}


TREEBANK_CODE = re.compile(r"[a-z][a-z0-9_-]{0,15}")


TREEBANK_CODE_RULE = "1-16 lowercase letters, digits, '_' or '-', starting with a letter"


_FIRST_SPLIT = re.compile(r"first:(.*)")


def pos_shipped_languages() -> list[str]:
    """Languages with a shipped UPOS evaluation treebank (and dev split)."""

    return sorted(set(ALL_PUD_TREEBANKS) | set(UD_DEV_EVAL))


def parse_treebank_spec(spec: str, key: str = "treebank") -> tuple[str, int | None]:
    """``"path.conllu"`` -> (path, None): every sentence; ``"path.conllu#first:500"`` -> (path, 500): the first 500.

    A ``#`` followed by anything but ``first:`` belongs to the file name. ConfigError (naming ``key``) on a bad N.
    """
    path, sep, frag = spec.rpartition("#")
    m = _FIRST_SPLIT.fullmatch(frag) if sep else None
    if m is None:
        return spec, None
    if not re.fullmatch(r"[0-9]+", m.group(1)) or int(m.group(1)) < 1:
        raise ConfigError(f"{key}: split '#{frag}' is not allowed; allowed: '#first:N' with N a positive integer")
    return path, int(m.group(1))


def load_treebank(spec: str, key: str = "treebank") -> list:
    """The UDSentences a treebank spec names (see parse_treebank_spec); a relative path is read against the
    current directory. DataError (one line) on a missing, malformed or too short file."""
    path, first = parse_treebank_spec(spec, key)
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{key}: file '{p}' does not exist")
    sents = _conllu_sentences(_file_key(p.resolve()))
    if not sents:
        raise DataError(f"{key}: file '{p}' holds no sentences (expected CoNLL-U word lines)")
    if first is not None:
        if first > len(sents):
            raise DataError(f"{key}: '#first:{first}' asks for more sentences than file '{p}' has ({len(sents)})")
        sents = sents[:first]
    return list(sents)


def pos_eval_sentences(lang: str, treebanks: dict[str, str] | None = None) -> list:
    """UDSentences of ``lang``'s UPOS evaluation split: its treebank in ``treebanks`` (params
    eval.pos_treebanks) if listed there, else the PUD evaluation half, else (ja) the GSD test file."""
    if treebanks and lang in treebanks:
        return load_treebank(treebanks[lang], f"eval.pos_treebanks.{lang}")
    return _shipped_pos_sentences(lang, "evaluation")


def pos_dev_sentences(lang: str) -> list:
    """UDSentences of ``lang``'s UPOS dev split (for tuning; zero-shot evaluation never uses it): the PUD
    intermediate half (the sentences that the translated intermediate data draws from) or, for ja, GSD dev."""
    return _shipped_pos_sentences(lang, "dev")


def _shipped_pos_sentences(lang: str, split: str) -> list:

    if lang in UD_DEV_EVAL:
        return list(_conllu_sentences(_file_key(ud_file(lang, UD_DEV_EVAL[lang][split == "evaluation"]))))
    if lang in ALL_PUD_TREEBANKS:
        return load_pud(lang, "evaluation" if split == "evaluation" else "intermediate")
    if split == "dev":
        raise DataError(
            f"no UPOS dev split for language '{lang}'; allowed: {', '.join(pos_shipped_languages())} "
            f"(a treebank in eval.pos_treebanks is for evaluation only)"
        )
    raise DataError(
        f"no UPOS evaluation treebank for language '{lang}'; allowed: "
        f"{', '.join(pos_shipped_languages())} or a code given a file in eval.pos_treebanks"
    )


def _pos_examples(sents, lang: str) -> list[dict]:
    return [{"words": list(s.words), "tags": list(s.upos), "lang": lang, "sentence": s} for s in sents]


def load_pos_eval(lang: str, treebanks: dict[str, str] | None = None) -> list[dict]:
    """Zero-shot UPOS evaluation examples of ``lang`` (see pos_eval_sentences): words, tags, lang, sentence."""
    return _pos_examples(pos_eval_sentences(lang, treebanks), lang)


def load_pos_dev(lang: str) -> list[dict]:
    """UPOS dev examples of ``lang`` (see pos_dev_sentences): words, tags, lang, sentence."""
    return _pos_examples(pos_dev_sentences(lang), lang)


def pos_treebank_keys(langs, treebanks: dict[str, str] | None) -> dict[str, dict]:
    """What identifies the user treebanks among ``langs``, for step keys: ``{lang: {"sha256": <the file's bytes>,
    "first": N or None}}``; {} when none of ``langs`` has one (so keys without user treebanks stay unchanged).
    The path is left out: moving a file keeps results, editing it invalidates them."""

    out = {}
    for lang in langs:
        if treebanks and lang in treebanks:
            key = f"eval.pos_treebanks.{lang}"
            path, first = parse_treebank_spec(treebanks[lang], key)
            p = Path(path).expanduser()
            if not p.is_file():
                raise DataError(f"{key}: file '{p}' does not exist")
            out[lang] = {"sha256": file_sha256(p), "first": first}
    return out


def load_ner_train() -> list[dict]:

    return [{"words": w, "tags": t, "lang": "en"} for w, t in read_ieer_documents()]


def map_ner_tag(tag: str) -> str:
    """CoNLL-2002 tags -> the shared PER/ORG/LOC label set; MISC (absent from IEER) becomes O."""
    if tag == "O" or tag[2:] not in NER_TYPES:
        return "O"
    return tag


@functools.lru_cache(maxsize=8)
def _ner_eval_sentences(lang: str, key: tuple, split: str = "testb") -> tuple:

    return tuple((tuple(w), tuple(map_ner_tag(t) for t in tags)) for w, tags in read_conll2002(lang, split))


def load_ner_eval(lang: str, split: str = "evaluation") -> list[dict]:
    """CoNLL-2002 ``lang``: testb for evaluation, testa (CoNLL-2002's own development set) for ``split="dev"``."""

    part = "testa" if split == "dev" else "testb"
    return [
        {"words": list(w), "tags": list(t), "lang": lang}
        for w, t in _ner_eval_sentences(lang, _file_key(data_file("nltk/conll2002.zip")), part)
    ]
