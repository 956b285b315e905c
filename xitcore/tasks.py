"""Task registry: name -> TaskSpec (kind, labels, local loader on shipped data, hub backend).

Intermediate tasks are offline analogues of the paper's nine English tasks; each names its analogue.
A ``translated`` variant keeps the same examples (same paragraph / item / sentence ids, same count)
and only changes their language, so that en-X vs ml-X differ in the language mix alone.
"""
from __future__ import annotations

import functools
import os
import random
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import ConfigError, DataError

HUB_HOST = "huggingface.co"

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
UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X"]
DEPRELS = ["acl", "advcl", "advmod", "amod", "appos", "aux", "case", "cc", "ccomp", "clf", "compound", "conj", "cop",
           "csubj", "dep", "det", "discourse", "dislocated", "expl", "fixed", "flat", "goeswith", "iobj", "list", "mark",
           "nmod", "nsubj", "nummod", "obj", "obl", "orphan", "parataxis", "punct", "reparandum", "root", "vocative",
           "xcomp"]


def pud_split() -> tuple[list[int], list[int]]:
    """(intermediate_half, evaluation_half) sentence positions of every PUD treebank."""
    idx = list(range(PUD_SIZE))
    random.Random(PUD_SPLIT_SEED).shuffle(idx)
    half = PUD_SIZE // 2
    return sorted(idx[:half]), sorted(idx[half:])


@dataclass
class HubSpec:
    dataset: str
    config: str | None = None
    split: str = "train"
    label_map: dict[int, int] | None = None  # hub label id -> this task's label index, where they differ
    via_kinds: bool = False  # rows mapped by xitcore.kinds (the paper's nine tasks), not by HUB_MAPPERS


@dataclass
class TaskSpec:
    name: str
    kind: str  # classification | tagging | qa | multiple_choice
    description: str
    paper_analogue: str
    labels: list[str] = field(default_factory=list)
    load_local: Callable[[str], list[dict]] | None = None  # data ("en"|"translated") -> examples
    hub: HubSpec | None = None
    translated: bool = False


# ------------------------------------------------------------------ local loaders

def _file_key(path) -> tuple:
    """Cache key for a parsed data file (which exists): its path and modification time (XIT_DATA_ROOT may
    point elsewhere)."""
    return str(path), os.stat(path).st_mtime_ns


@functools.lru_cache(maxsize=64)
def _conllu_sentences(key: tuple) -> tuple:
    """A CoNLL-U file parsed once per process (``key`` from _file_key): a grid worker evaluates every unit it
    runs on the same treebanks. The UDSentence objects are shared: treat them as read-only."""
    from .data import read_conllu

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
    from .data.paths import ud_file

    if half not in PUD_HALVES:
        raise DataError(f"unknown PUD half {half!r}: allowed are {', '.join(PUD_HALVES)}")
    sents = _pud_sentences(lang, _file_key(ud_file(lang, "pud")))
    inter, ev = pud_split()
    return [sents[i] for i in (inter if half == "intermediate" else ev)]


def _deprel(d: str) -> str:
    return d.split(":")[0]


def _load_deprel(data: str) -> list[dict]:
    if data == "en":
        sents = load_pud("en", "intermediate")
        return [{"words": s.words, "tags": [_deprel(d) for d in s.deprel], "lang": "en"} for s in sents]
    by_lang = {l: load_pud(l, "intermediate") for l in PUD_NON_EN}
    out = []
    for j in range(PUD_SIZE // 2):  # same sentence positions, language rotates
        lang = PUD_NON_EN[j % len(PUD_NON_EN)]
        s = by_lang[lang][j]
        out.append({"words": s.words, "tags": [_deprel(d) for d in s.deprel], "lang": lang})
    return out


def _load_chunk(data: str) -> list[dict]:
    from .data import read_conll2000

    return [{"words": w, "tags": t, "lang": "en"} for w, t in read_conll2000("train")]


def _load_nli(data: str) -> list[dict]:
    from .data import read_rte

    return [{"text_a": r["premise"], "text_b": r["hypothesis"], "label": int(r["label"]), "lang": "en"} for r in read_rte()]


def _load_sentiment(data: str) -> list[dict]:
    from .data import read_sentence_polarity

    return [{"text_a": r["text"], "text_b": None, "label": int(r["label"]), "lang": "en"} for r in read_sentence_polarity()]


TREC_COARSE = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def _load_trec(data: str) -> list[dict]:
    from .data import read_trec

    return [{"text_a": r["text"], "text_b": None, "label": TREC_COARSE.index(r["coarse"]), "lang": "en"}
            for r in read_trec("train")]


def _squad_examples(records, lang):
    out = []
    for r in records:
        ans = r["answers"]
        out.append({"id": r["id"], "context": r["context"], "question": r["question"],
                    "answer_text": ans["text"][0], "answer_start": int(ans["answer_start"][0]), "lang": lang})
    return out


def _load_qa(data: str) -> list[dict]:
    from .data import read_xquad

    en = read_xquad("en")
    if data == "en":
        return _squad_examples(en, "en")
    # Same questions, paragraph by paragraph in a rotating non-English language (XQuAD ids align).
    by_lang = {l: {r["id"]: r for r in read_xquad(l)} for l in XQUAD_NON_EN}
    contexts = []
    for r in en:
        if r["context"] not in contexts:
            contexts.append(r["context"])
    para_of = {c: i for i, c in enumerate(contexts)}
    out = []
    for r in en:
        lang = XQUAD_NON_EN[para_of[r["context"]] % len(XQUAD_NON_EN)]
        t = by_lang[lang].get(r["id"])
        if t is None:
            raise DataError(f"XQuAD {lang}: question id {r['id']} missing")
        out += _squad_examples([t], lang)
    return out


def _copa_examples(items, lang):
    return [{"premise": it["premise"], "question": it["question"], "choices": [it["choice1"], it["choice2"]],
             "label": int(it["label"]), "idx": it["idx"], "lang": lang} for it in items]


def _load_copa(data: str) -> list[dict]:
    from .data import read_xcopa

    if data == "en":
        return _copa_examples(read_xcopa(COPA_ENGLISH_SOURCE, "test", translated=True), "en")
    by_lang = {l: read_xcopa(l, "test") for l in XCOPA_LANGS}
    n = len(by_lang[XCOPA_LANGS[0]])
    return [_copa_examples([by_lang[XCOPA_LANGS[i % len(XCOPA_LANGS)]][i]], XCOPA_LANGS[i % len(XCOPA_LANGS)])[0]
            for i in range(n)]


INTERMEDIATE_TASKS: dict[str, TaskSpec] = {
    # Hub: GLUE's RTE (0 = entailment), mapped onto the local label order (1 = entailment); MNLI is 'mnli'.
    "nli": TaskSpec("nli", "classification", "RTE 1-3 entailment pairs", "MNLI / ANLI", ["not_entailment", "entailment"],
                    _load_nli, HubSpec("nyu-mll/glue", "rte", label_map={0: 1, 1: 0})),
    "sentiment": TaskSpec("sentiment", "classification", "sentence polarity (movie reviews)", "SST-2",
                          ["negative", "positive"], _load_sentiment, HubSpec("nyu-mll/glue", "sst2")),
    "questions": TaskSpec("questions", "classification", "TREC question classification (coarse)", "QQP (sentence classification)",
                          TREC_COARSE, _load_trec, HubSpec("CogComp/trec")),
    "qa": TaskSpec("qa", "qa", "XQuAD extractive QA (English side / human translations)", "SQuAD", [], _load_qa,
                   HubSpec("rajpurkar/squad"), translated=True),
    "copa": TaskSpec("copa", "multiple_choice", "COPA cause/effect items (XCOPA English MT / native items)",
                     "CommonsenseQA / CosmosQA / HellaSwag", [], _load_copa, HubSpec("super_glue", "copa"), translated=True),
    "deprel": TaskSpec("deprel", "tagging", "universal dependency relation per word (PUD intermediate half)", "CCG supertagging",
                       DEPRELS, _load_deprel, HubSpec("universal_dependencies", "en_ewt"), translated=True),
    "chunk": TaskSpec("chunk", "tagging", "CoNLL-2000 chunking (WSJ)", "CCG supertagging", [], _load_chunk,
                      HubSpec("conll2000")),
}

# The paper's nine English intermediate tasks at full scale (hub only, except CCG from a local CCGbank copy).
_NLI3 = ["entailment", "neutral", "contradiction"]
PAPER_TASKS = {
    "mnli": ("classification", _NLI3, "MultiNLI"), "anli": ("classification", _NLI3, "ANLI rounds 1-3"),
    "qqp": ("classification", ["not_duplicate", "duplicate"], "Quora Question Pairs"),
    "sst2": ("classification", ["negative", "positive"], "SST-2"),
    "squad": ("qa", [], "SQuAD v1.1"), "hellaswag": ("multiple_choice", [], "HellaSwag"),
    "commonsenseqa": ("multiple_choice", [], "CommonsenseQA"), "cosmosqa": ("multiple_choice", [], "CosmosQA"),
    "ccg": ("tagging", [], "CCGbank supertags"),
}


CCGBANK_ENV = "XIT_CCGBANK"


def _load_ccg(data: str) -> list[dict]:
    """CCG supertags from a local CCGbank copy (LDC2005T13 is licensed: never shipped, never on the hub)."""
    from pathlib import Path

    from .kinds.ccg import load_ccg_auto, load_ccg_piped

    root = os.environ.get(CCGBANK_ENV)
    if not root or not Path(root).is_dir():
        raise DataError(f"task 'ccg' needs CCGbank (LDC2005T13, licensed, not shipped): set {CCGBANK_ENV} to a directory "
                        f"of .auto files (sections 02-21) or word|tag files (.txt); got {root!r}")
    files = sorted(Path(root).rglob("*.auto")) or sorted(Path(root).rglob("*.txt"))
    if not files:
        raise DataError(f"task 'ccg': {root} holds no .auto or .txt files; allowed: CCGbank .auto, word|tag .txt")
    load = load_ccg_auto if files[0].suffix == ".auto" else load_ccg_piped
    return [{"words": list(s.words), "tags": list(s.tags), "lang": "en"} for f in files for s in load(f)]


def _paper_task(name: str) -> TaskSpec:
    from .kinds import get_task_def

    kind, labels, title = PAPER_TASKS[name]
    d = get_task_def(name)
    hub = HubSpec(d.hub_dataset, d.hub_config("en"), d.splits.get("train", "train"), via_kinds=True) if d.hub_dataset else None
    local = _load_ccg if name == "ccg" else None
    return TaskSpec(name, kind, f"{title} (paper task; {'local CCGbank' if local else 'hub data'})", title,
                    list(labels), local, hub)


INTERMEDIATE_TASKS.update({n: _paper_task(n) for n in PAPER_TASKS})


def translated_variant_exists(name: str) -> bool:
    return INTERMEDIATE_TASKS[name].translated


def get_task(name: str) -> TaskSpec:
    if name not in INTERMEDIATE_TASKS:
        raise DataError(f"task '{name}' is unknown; allowed: {', '.join(sorted(INTERMEDIATE_TASKS))}")
    return INTERMEDIATE_TASKS[name]


def load_task_examples(name: str, data: str = "en", backend: str = "local") -> tuple[TaskSpec, list[dict]]:
    spec = get_task(name)
    if backend == "hub" and (spec.hub is not None or spec.load_local is None):
        return spec, load_hub_examples(spec)
    if spec.load_local is None:
        local = sorted(n for n, t in INTERMEDIATE_TASKS.items() if t.load_local is not None)
        how = "backend: hub" if spec.hub else "a local CCGbank copy (not redistributable; see xitcore.kinds.ccg)"
        raise DataError(f"task '{name}' has no shipped data; use {how}, or a shipped task: {', '.join(local)}")
    examples = spec.load_local(data)
    if spec.kind == "tagging" and not spec.labels:
        spec.labels = sorted({t for ex in examples for t in ex["tags"]})
    return spec, examples


# ------------------------------------------------------------------ targets

def load_pos_train() -> list[dict]:
    """English UPOS training data: UD English-EWT dev (the EWT train file is not shipped)."""
    from .data import read_conllu
    from .data.paths import ud_file

    return [{"words": s.words, "tags": s.upos, "lang": "en", "sentence": s}
            for s in read_conllu(ud_file("en", "ewt-dev"))]


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
    from .data.paths import ALL_PUD_TREEBANKS

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
    from .data.paths import ALL_PUD_TREEBANKS, ud_file

    if lang in UD_DEV_EVAL:
        return list(_conllu_sentences(_file_key(ud_file(lang, UD_DEV_EVAL[lang][split == "evaluation"]))))
    if lang in ALL_PUD_TREEBANKS:
        return load_pud(lang, "evaluation" if split == "evaluation" else "intermediate")
    if split == "dev":
        raise DataError(f"no UPOS dev split for language '{lang}'; allowed: {', '.join(pos_shipped_languages())} "
                        f"(a treebank in eval.pos_treebanks is for evaluation only)")
    raise DataError(f"no UPOS evaluation treebank for language '{lang}'; allowed: "
                    f"{', '.join(pos_shipped_languages())} or a code given a file in eval.pos_treebanks")


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
    from .data.paths import file_sha256

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
    from .data import read_ieer_documents

    return [{"words": w, "tags": t, "lang": "en"} for w, t in read_ieer_documents()]


def map_ner_tag(tag: str) -> str:
    """CoNLL-2002 tags -> the shared PER/ORG/LOC label set; MISC (absent from IEER) becomes O."""
    if tag == "O" or tag[2:] not in NER_TYPES:
        return "O"
    return tag


@functools.lru_cache(maxsize=8)
def _ner_eval_sentences(lang: str, key: tuple, split: str = "testb") -> tuple:
    from .data import read_conll2002

    return tuple((tuple(w), tuple(map_ner_tag(t) for t in tags)) for w, tags in read_conll2002(lang, split))


def load_ner_eval(lang: str, split: str = "evaluation") -> list[dict]:
    """CoNLL-2002 ``lang``: testb for evaluation, testa (CoNLL-2002's own development set) for ``split="dev"``."""
    from .data.paths import data_file

    part = "testa" if split == "dev" else "testb"
    return [{"words": list(w), "tags": list(t), "lang": lang}
            for w, t in _ner_eval_sentences(lang, _file_key(data_file("nltk/conll2002.zip")), part)]


# ------------------------------------------------------------------ hub backend


def hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_hub_examples(spec: TaskSpec) -> list[dict]:
    """Load a task from the Hugging Face hub. Offline, fail at once with a clear message instead of hanging."""
    if spec.hub is None:
        raise DataError(f"task '{spec.name}' has no hub backend; allowed backends: local")
    name = spec.hub.dataset + (f"/{spec.hub.config}" if spec.hub.config else "")
    if not hub_reachable():
        raise DataError(f"task '{spec.name}': backend 'hub' needs {HUB_HOST} (dataset {name}) but it is unreachable; "
                        f"use backend: local for the shipped data")
    if spec.hub.via_kinds:
        from .kinds import load_hub_examples as load_kind_examples

        return _from_kind_examples(load_kind_examples(spec.name, "en", "train"), spec)
    import datasets

    ds = datasets.load_dataset(spec.hub.dataset, spec.hub.config, split=spec.hub.split)
    out = [HUB_MAPPERS[spec.kind](dict(r), spec) for r in ds]
    if spec.hub.label_map and spec.kind == "classification":
        out = [{**ex, "label": spec.hub.label_map.get(ex["label"], ex["label"])} for ex in out]
    return out


def _from_kind_examples(examples: list, spec: TaskSpec) -> list[dict]:
    """xitcore.kinds examples (dataclasses) -> this registry's example dicts; unlabelled rows are dropped."""
    from .xtreme import is_labelled, to_dicts

    kept = [e for e in examples if is_labelled(e)]
    if spec.kind == "qa":  # train.encode_qa wants one answer span per example
        return [{"id": e.id, "question": e.question, "context": e.context, "answer_text": e.answers[0],
                 "answer_start": e.answer_starts[0], "lang": "en"} for e in kept]
    if spec.kind not in ("classification", "multiple_choice"):
        raise DataError(f"task '{spec.name}': hub rows of kind {spec.kind} are not supported here; allowed: "
                        "classification, multiple_choice, qa")
    return [{**d, "lang": "en"} for d in to_dicts(spec.kind, kept)]


def _hub_classification(r: dict, spec: TaskSpec) -> dict:
    keys = [k for k in ("premise", "sentence1", "question1", "sentence", "text") if k in r]
    keys_b = [k for k in ("hypothesis", "sentence2", "question2") if k in r]
    label = r.get("label", r.get("coarse_label"))
    return {"text_a": r[keys[0]], "text_b": r[keys_b[0]] if keys_b else None, "label": int(label), "lang": "en"}


def _hub_qa(r: dict, spec: TaskSpec) -> dict:
    return _squad_examples([r], "en")[0]


def _hub_multiple_choice(r: dict, spec: TaskSpec) -> dict:
    return {"premise": r["premise"], "question": r["question"], "choices": [r["choice1"], r["choice2"]],
            "label": int(r["label"]), "idx": r.get("idx"), "lang": "en"}


def _hub_tagging(r: dict, spec: TaskSpec) -> dict:
    tags = r.get("deprel") or r.get("chunk_tags") or r.get("upos")
    return {"words": r["tokens"], "tags": [_deprel(str(t)) for t in tags], "lang": "en"}


HUB_MAPPERS = {"classification": _hub_classification, "qa": _hub_qa, "multiple_choice": _hub_multiple_choice,
               "tagging": _hub_tagging}


# ------------------------------------------------------------------ English dev sets of the intermediate tasks
# So that a reader sees that phase ii learned its task: deprel and copa have a natural English dev set that their
# training never reads (EWT dev with DEPREL labels; the XCOPA val items' English machine translations); the others
# hold out a stable share of their items (params intermediate.dev_fraction), in every language variant alike.
HELD_OUT_TASKS = ("qa", "nli", "sentiment", "questions", "chunk")


def _stable_unit(text: str) -> float:
    import hashlib

    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF


@functools.lru_cache(maxsize=1)
def _xquad_english_context() -> dict:
    from .data import read_xquad

    return {r["id"]: r["context"] for r in read_xquad("en")}


def item_key(name: str, ex: dict) -> str:
    """What an intermediate item is held out by: a QA question by its English paragraph (no paragraph is split
    between training and dev), a sentence pair or sentence by its English text."""
    if name == "qa":
        return _xquad_english_context().get(ex["id"], ex["context"])
    if "text_a" in ex:
        return f"{ex['text_a']}\t{ex.get('text_b') or ''}"
    if "words" in ex:
        return " ".join(ex["words"])
    return f"{ex.get('premise')}\t{ex.get('idx')}"  # COPA items (never held out: XCOPA val is their dev set)


def english_dev(name: str, fraction: float) -> tuple[set[str], list[dict]]:
    """(keys of the items that training must leave out, English dev examples) of intermediate task ``name``;
    (set(), []) when the task has no dev set at this ``fraction``."""
    from .data import read_conllu, read_xcopa
    from .data.paths import ud_file

    if name == "deprel":
        return set(), [{"words": s.words, "tags": [_deprel(d) for d in s.deprel], "lang": "en"}
                       for s in read_conllu(ud_file("en", "ewt-dev"))]
    if name == "copa":
        return set(), _copa_examples(read_xcopa(COPA_ENGLISH_SOURCE, "val", translated=True), "en")
    if name not in HELD_OUT_TASKS or fraction <= 0:
        return set(), []
    english = get_task(name).load_local("en")
    held = {k for k in {item_key(name, ex) for ex in english} if _stable_unit(f"{name}\t{k}") < fraction}
    return held, [ex for ex in english if item_key(name, ex) in held]
