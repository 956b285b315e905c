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
from .iob2 import read_iob2
from .paths import (
    ALL_PUD_TREEBANKS,
    CONLL2002_LANGS,
    UNER_PUD_SETS,
    UNER_SETS,
    UNER_TEST_SETS,
    data_file,
    file_sha256,
    ud_file,
    uner_file,
)
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
    return user_file_keys(langs, treebanks, "eval.pos_treebanks")


def user_file_keys(langs, files: dict[str, str] | None, section: str) -> dict[str, dict]:
    """``{lang: {"sha256", "first"}}`` of the user files ``section`` (a params key) names for ``langs``; one
    DataError line for a file that does not exist."""
    out = {}
    for lang in langs:
        if files and lang in files:
            key = f"{section}.{lang}"
            path, first = parse_treebank_spec(files[lang], key)
            p = Path(path).expanduser()
            if not p.is_file():
                raise DataError(f"{key}: file '{p}' does not exist")
            out[lang] = {"sha256": file_sha256(p), "first": first}
    return out


NER_DATA = ("ieer", "uner")


def load_ner_train(data: str = "ieer") -> list[dict]:
    """English NER training examples (words, tags over PER/ORG/LOC, lang): ``data`` "ieer" = NLTK's IEER (MUC
    types mapped), "uner" = Universal NER English-EWT dev in UD EWT dev's order, the sentences the UPOS target
    trains on (see load_uner_train)."""
    if data == "uner":
        return load_uner_train()
    if data != "ieer":
        raise DataError(f"unknown NER training data {data!r}: allowed are {', '.join(NER_DATA)}")
    return [{"words": w, "tags": t, "lang": "en"} for w, t in read_ieer_documents()]


def map_ner_tag(tag: str) -> str:
    """CoNLL-2002 / UNER tags -> the shared PER/ORG/LOC label set; MISC (absent from IEER) and UNER's OTH become O."""
    if tag == "O" or tag[2:] not in NER_TYPES:
        return "O"
    return tag


@functools.lru_cache(maxsize=8)
def _ner_eval_sentences(lang: str, key: tuple, split: str = "testb") -> tuple:

    return tuple((tuple(w), tuple(map_ner_tag(t) for t in tags)) for w, tags in read_conll2002(lang, split))


def load_conll2002_eval(lang: str, split: str = "evaluation") -> list[dict]:
    """CoNLL-2002 ``lang``: testb for evaluation, testa (CoNLL-2002's own development set) for ``split="dev"``."""

    part = "testa" if split == "dev" else "testb"
    return [
        {"words": list(w), "tags": list(t), "lang": lang}
        for w, t in _ner_eval_sentences(lang, _file_key(data_file("nltk/conll2002.zip")), part)
    ]


# ------------------------------------------------------------------ Universal NER (data/uner)
#: least share of PUD sentences whose UNER tokens equal UD's once aligned (data/README.md counts
#: 996-1000 of 1000 per language); fewer means the alignment is wrong
UNER_PUD_MIN_IDENTICAL = 0.99


@functools.lru_cache(maxsize=32)
def _iob2_sentences(key: tuple, source: str) -> tuple:
    """An IOB2 file parsed once per process (``key`` from _file_key); treat the sentences as read-only."""
    return tuple(read_iob2(key[0], source))


def _uner(name: str) -> tuple:
    path = uner_file(name)
    return _iob2_sentences(_file_key(path), f"data/uner {name}")


def _pud_doc(sent_id: str) -> str:
    """UD PUD 'n01001011' -> document 'n01001'; UNER 'n01001-0001' -> 'n01001'."""
    return sent_id.rsplit("-", 1)[0] if "-" in sent_id else sent_id[:-3]


def uner_pud_aligned(lang: str) -> list:
    """The 1,000 UNER sentences of ``lang``'s PUD set in UD PUD's order, so that pud_split's positions pick the
    same sentences as the UPOS halves. UNER's sentence ids (``n01001-0001``) and file order differ from UD's
    (``n01001011``): sentences are matched by document id and rank within the document. Chinese UNER has
    ``batch-...`` ids in UD's file order: where no UNER document id is a UD one, the file order is kept.
    DataError if the sizes differ or fewer than UNER_PUD_MIN_IDENTICAL of the aligned sentences have UD's tokens."""
    if lang not in UNER_PUD_SETS:
        raise DataError(f"unknown UNER PUD language {lang!r}: allowed are {', '.join(UNER_PUD_SETS)}")
    return list(_uner_pud_aligned(lang, _file_key(uner_file(lang)), _file_key(ud_file(lang, "pud"))))


@functools.lru_cache(maxsize=8)
def _uner_pud_aligned(lang: str, uner_key: tuple, ud_key: tuple) -> tuple:
    un = _iob2_sentences(uner_key, f"data/uner {lang}")
    ud = _pud_sentences(lang, ud_key)
    if len(un) != PUD_SIZE:
        raise DataError(f"UNER PUD {lang}: expected {PUD_SIZE} sentences, found {len(un)}")
    ud_docs = [_pud_doc(s.sent_id) for s in ud]
    if {_pud_doc(s.sent_id) for s in un} <= set(ud_docs):
        by_key, rank = {}, {}
        for s in un:
            d = _pud_doc(s.sent_id)
            rank[d] = rank.get(d, 0) + 1
            by_key[d, rank[d]] = s
        rank = {}
        ordered = []
        for d in ud_docs:
            rank[d] = rank.get(d, 0) + 1
            if (d, rank[d]) not in by_key:
                raise DataError(f"UNER PUD {lang}: no sentence {rank[d]} of document {d} (UD PUD has it)")
            ordered.append(by_key[d, rank[d]])
    else:
        ordered = list(un)
    same = sum(list(a.words) == list(b.words) for a, b in zip(ordered, ud))
    if same < UNER_PUD_MIN_IDENTICAL * PUD_SIZE:
        raise DataError(
            f"UNER PUD {lang}: only {same} of {PUD_SIZE} sentences have UD PUD's tokens once aligned "
            f"(at least {int(UNER_PUD_MIN_IDENTICAL * PUD_SIZE)} expected)"
        )
    return tuple(ordered)


def load_uner_train() -> list[dict]:
    """UNER English-EWT dev (2,001 sentences) in the order of UD English-EWT dev, matched by ``sent_id``: the
    sentences the UPOS target trains on (UNER's own tokens and tags; 3 sentences tokenise differently)."""
    un = {s.sent_id: s for s in _iob2_sentences(_file_key(uner_file("ewt-dev")), "data/uner ewt-dev")}
    ud = _conllu_sentences(_file_key(ud_file("en", "ewt-dev")))
    missing = [s.sent_id for s in ud if s.sent_id not in un]
    if missing or len(un) != len(ud):
        raise DataError(
            f"UNER English-EWT dev: {len(un)} sentences, UD English-EWT dev {len(ud)}; "
            f"{len(missing)} UD sentence ids not in UNER (first: {missing[:1]})"
        )
    return [_ner_example(un[s.sent_id], "en") for s in ud]


def _ner_example(s, lang: str) -> dict:
    return {"words": list(s.words), "tags": [map_ner_tag(t) for t in s.tags], "lang": lang}


def load_uner_eval(name: str, split: str = "evaluation") -> list[dict]:
    """Examples of UNER set ``name`` (paths.UNER_SETS, or "ewt-test"): a PUD set's evaluation half (the UPOS
    evaluation half's sentences) or, with ``split="dev"``, its intermediate half; a test-only set whole (it has
    no dev split: DataError)."""
    if name == "ewt-test":
        return [_ner_example(s, "en") for s in _uner("ewt-test")]
    if name in UNER_PUD_SETS:
        sents = uner_pud_aligned(name)
        inter, ev = pud_split()
        return [_ner_example(sents[i], name) for i in (inter if split == "dev" else ev)]
    if name in UNER_TEST_SETS:
        if split == "dev":
            raise DataError(
                f"UNER set '{name}' is a test set only, with no dev split; allowed with eval.split dev: "
                f"{', '.join(UNER_PUD_SETS)}"
            )
        return [_ner_example(s, name) for s in _uner(name)]
    raise DataError(f"unknown UNER set {name!r}: allowed are {', '.join(UNER_SETS)}")


def ner_shipped_sets(data: str) -> tuple[str, ...]:
    """The NER evaluation sets shipped for training data ``data``: CoNLL-2002 for ieer, UNER for uner."""
    return tuple(CONLL2002_LANGS) if data == "ieer" else UNER_SETS


def load_ner_file(spec: str, key: str) -> list:
    """The NERSentences an IOB2 file spec names (``path`` or ``path#first:N``, as parse_treebank_spec);
    DataError (one line, naming ``key``) on a missing, malformed or too short file."""
    path, first = parse_treebank_spec(spec, key)
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{key}: file '{p}' does not exist")
    sents = _iob2_sentences(_file_key(p.resolve()), key)
    if first is not None:
        if first > len(sents):
            raise DataError(f"{key}: '#first:{first}' asks for more sentences than file '{p}' has ({len(sents)})")
        sents = sents[:first]
    return list(sents)


def load_ner_eval(
    lang: str, split: str = "evaluation", data: str = "ieer", files: dict[str, str] | None = None
) -> list[dict]:
    """NER evaluation examples of ``lang``: its file in ``files`` (params eval.ner_files; evaluation only), else
    the shipped set of training data ``data`` (ieer: CoNLL-2002 testb / testa for ``split="dev"``; uner:
    load_uner_eval)."""
    if files and lang in files:
        if split == "dev":
            raise DataError(f"eval.ner_files.{lang}: a user NER file is for evaluation only, not eval.split dev")
        return [_ner_example(s, lang) for s in load_ner_file(files[lang], f"eval.ner_files.{lang}")]
    if data == "uner":
        return load_uner_eval(lang, split)
    if lang not in CONLL2002_LANGS:
        raise DataError(
            f"no NER evaluation set for language '{lang}' with IEER training data; allowed: "
            f"{', '.join(CONLL2002_LANGS)} or a code given a file in eval.ner_files"
        )
    return load_conll2002_eval(lang, split)


def ner_file_keys(langs, files: dict[str, str] | None) -> dict[str, dict]:
    """What identifies the user NER files among ``langs``, for step keys: ``{lang: {"sha256", "first"}}``; {} when
    none of ``langs`` has one (so keys without user files stay unchanged). The path is left out."""
    return user_file_keys(langs, files, "eval.ner_files")
