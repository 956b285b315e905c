"""Multilingual raw text for MLM pre-training, built from the shipped data.

Every sentence used for evaluation anywhere in the project is excluded (PUD evaluation halves,
EWT test, all Tatoeba sentences, CoNLL-2002 testb, XCOPA val); the stats record how many were dropped.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

from .config import PUD_LANGUAGES
from .data import read_xcopa, read_xquad
from .data.treebanks import XCOPA_LANGS, XQUAD_NON_EN, load_pud
from .errors import DataError
from .multilingual.mc4 import StreamState, local_source, open_mc4_stream
from .tasks.registry import XCOPA_TEST_SET, XQUAD_SET

_SENT_SPLIT = re.compile(r"(?<=[.!?।。！？])\s+")


def normalize(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower()
    return " ".join(s.split())


def split_sentences(text: str) -> list[str]:
    out = []
    for para in text.splitlines():
        para = para.strip()
        if para:
            out += [s.strip() for s in _SENT_SPLIT.split(para) if s.strip()]
    return out


@functools.lru_cache(maxsize=1)
def evaluation_sentences() -> frozenset[str]:
    """Normalized text of every sentence the project evaluates on."""
    from .data import read_conll2002, read_conllu, read_tatoeba, read_xcopa
    from .data.paths import TATOEBA_ISO3, ud_file

    ev = set()
    for lang in PUD_LANGUAGES:
        ev |= {normalize(s.text) for s in load_pud(lang, "evaluation")}
    ev |= {normalize(s.text) for s in read_conllu(ud_file("en", "ewt-test"))}
    for iso3 in sorted(set(TATOEBA_ISO3.values())):
        xx, en = read_tatoeba(iso3)
        ev |= {normalize(s) for s in xx + en}
    for lang in ("es", "nl"):
        ev |= {normalize(" ".join(w)) for w, _ in read_conll2002(lang, "testb")}
    for lang in XCOPA_LANGS:
        for it in read_xcopa(lang, "val"):
            ev |= {normalize(it[k]) for k in ("premise", "choice1", "choice2")}
    ev.discard("")
    return frozenset(ev)


def raw_sources() -> dict[str, list[tuple[str, str]]]:
    """language -> [(source name, text)] of the shipped raw text that is not evaluation data by construction."""
    from .data import (
        read_conll2000,
        read_conll2002,
        read_conllu,
        read_ieer_documents,
        read_rte,
        read_sentence_polarity,
        read_trec,
        read_udhr,
        read_xcopa,
        read_xquad,
    )
    from .data.paths import UDHR_FILES, ud_file

    src: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for lang in PUD_LANGUAGES:
        src[lang] += [("pud-intermediate-half", s.text) for s in load_pud(lang, "intermediate")]
    for lang in ["en"] + XQUAD_NON_EN:
        seen = set()
        for r in read_xquad(lang):
            if r["context"] not in seen:
                seen.add(r["context"])
                src[lang].append(("xquad-context", r["context"]))
    for lang in XCOPA_LANGS:
        for it in read_xcopa(lang, "test"):
            src[lang] += [("xcopa-test", it[k]) for k in ("premise", "choice1", "choice2")]
    for lang in ("es", "nl"):
        src[lang] += [("conll2002-train", " ".join(w)) for w, _ in read_conll2002(lang, "train")]
    src["en"] += [("ewt-dev", s.text) for s in read_conllu(ud_file("en", "ewt-dev"))]
    src["en"] += [("conll2000-train", " ".join(w)) for w, _ in read_conll2000("train")]
    src["en"] += [("ieer", " ".join(w)) for w, _ in read_ieer_documents()]
    src["en"] += [("rte", r["premise"] + " " + r["hypothesis"]) for r in read_rte()]
    src["en"] += [("sentence-polarity", r["text"]) for r in read_sentence_polarity()]
    src["en"] += [("trec", r["text"]) for r in read_trec("train")]
    for lang in UDHR_FILES:
        src[lang].append(("udhr", read_udhr(lang)))
    return dict(src)


def corpus_data_sets(languages: list[str]) -> set[str]:
    """Which evaluated data sets the corpus of ``languages`` (empty: every language) holds text of: XQuAD contexts
    and XCOPA test items are raw text here (raw_sources), and XTREME-R's xquad / xcopa targets evaluate them. For the
    train/test guard (pipeline.check_train_test_overlap); the sets the project itself scores are excluded sentence
    by sentence (evaluation_sentences)."""
    langs = set(languages) if languages else None
    out = set()
    if langs is None or langs & ({"en"} | set(XQUAD_NON_EN)):
        out.add(XQUAD_SET)
    if langs is None or langs & set(XCOPA_LANGS):
        out.add(XCOPA_TEST_SET)
    return out


def parallel_sources() -> list[dict]:
    """Translation pairs {lang, xx, en} from shipped data that is not evaluation data by construction.

    PUD sentences are translations of one English set, so each language's intermediate half pairs with
    the English one sentence by sentence (the evaluation halves are never used); XQuAD contexts are
    human translations of the same English paragraphs.
    """
    from .data import read_xquad

    pairs = []
    en_pud = [s.text for s in load_pud("en", "intermediate")]
    for lang in PUD_LANGUAGES:
        if lang != "en":
            pairs += [
                {"lang": lang, "source": "pud-intermediate-half", "xx": s.text, "en": e}
                for s, e in zip(load_pud(lang, "intermediate"), en_pud)
            ]
    en_ctx = list(dict.fromkeys(r["context"] for r in read_xquad("en")))
    for lang in XQUAD_NON_EN:
        ctx = list(dict.fromkeys(r["context"] for r in read_xquad(lang)))
        if len(ctx) == len(en_ctx):  # same paragraphs in the same order
            pairs += [{"lang": lang, "source": "xquad-context", "xx": x, "en": e} for x, e in zip(ctx, en_ctx)]
    return pairs


def _new_sentences(text: str, seen: set[str], ev, room: int | None = None) -> tuple[list[str], int]:
    """(the sentences of ``text`` not yet ``seen`` and not evaluated, at most ``room`` of them; how many were
    evaluated sentences). Adds what it keeps to ``seen``."""
    kept, dropped = [], 0
    for s in split_sentences(text):
        if room is not None and len(kept) >= room:
            break
        n = normalize(s)
        if len(n) < 3 or n in seen:
            continue
        if n in ev:
            dropped += 1
            continue
        seen.add(n)
        kept.append(s)
    return kept, dropped


def build_corpus(out_dir: Path, languages: list[str], max_sentences_per_language: int) -> dict:
    """Write ``<lang>.txt.gz`` (one sentence a line) and ``parallel.jsonl.gz``; return stats."""
    ev = evaluation_sentences()
    sources = raw_sources()
    if languages:
        unknown = [l for l in languages if l not in sources]
        if unknown:
            raise DataError(
                f"corpus.languages: no shipped raw text for {', '.join(unknown)}; allowed: {', '.join(sorted(sources))}"
            )
        sources = {l: sources[l] for l in languages}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = {"languages": {}, "excluded_evaluation_sentences": 0, "evaluation_sentences_known": len(ev)}
    texts = {}
    for lang, items in sorted(sources.items()):
        kept, dropped, seen = [], 0, set()
        per_source = defaultdict(int)
        for name, text in items:
            new, excluded = _new_sentences(text, seen, ev)
            kept += new
            dropped += excluded
            if new:
                per_source[name] += len(new)
        kept = kept[:max_sentences_per_language]
        texts[lang] = kept
        stats["languages"][lang] = {
            "sentences": len(kept),
            "characters": sum(map(len, kept)),
            "excluded_evaluation_sentences": dropped,
            "sources": dict(per_source),
        }
        stats["excluded_evaluation_sentences"] += dropped
    stats["parallel_pairs"] = _write_corpus_files(out_dir, texts, languages, ev)
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


@functools.lru_cache(maxsize=1)
def evaluated_elsewhere() -> frozenset[str]:
    """Normalised sentences of the shipped sets that XTREME-R targets evaluate (XQuAD contexts, XCOPA test items):
    the shipped corpus holds them as raw text (the train/test guard then refuses those targets), an mC4 corpus
    must not."""
    out = set()
    for lang in ["en", *XQUAD_NON_EN]:
        for r in read_xquad(lang):
            out |= {normalize(s) for s in split_sentences(r["context"])}
    for lang in XCOPA_LANGS:
        for it in read_xcopa(lang, "test"):
            out |= {normalize(it[k]) for k in ("premise", "choice1", "choice2")}
    out.discard("")
    return frozenset(out)


def _write_corpus_files(out_dir: Path, texts: dict[str, list[str]], languages: list[str], ev: set[str]) -> dict:
    """``<lang>.txt.gz`` of ``texts`` and ``parallel.jsonl.gz`` of the shipped translation pairs in ``languages``
    (empty: all) that hold no evaluated sentence; returns the pair counts per language."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for lang, kept in sorted(texts.items()):
        with gzip.open(out_dir / f"{lang}.txt.gz", "wt", encoding="utf-8") as f:
            f.write("\n".join(kept) + "\n")
    pairs = [
        p
        for p in parallel_sources()
        if (not languages or p["lang"] in languages) and normalize(p["xx"]) not in ev and normalize(p["en"]) not in ev
    ]
    with gzip.open(out_dir / "parallel.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs)
    return {l: sum(p["lang"] == l for p in pairs) for l in sorted({p["lang"] for p in pairs})}


def build_mc4_corpus(
    out_dir: Path,
    languages: list[str],
    max_sentences_per_language: int,
    *,
    alpha: float,
    seed: int = 0,
    files: str = "",
    cache_dir: Path | None = None,
    flush_every: int = 200,
    max_documents: int = 0,
) -> dict:
    """The MLM corpus from mC4: documents streamed language by language with XLM-R's alpha-smoothed sampling
    (multilingual.mc4), cut into sentences, deduplicated, and cleared of every sentence the project or an XTREME-R
    target evaluates, until each language has ``max_sentences_per_language`` or its stream runs dry.

    ``files``: a directory of mC4 shards (allenai/c4 multilingual layout) instead of the hub stream. ``cache_dir``
    makes the build resumable: every ``flush_every`` documents the sentences so far and the stream's state are
    saved there, and a build started again continues from them (the result is the same as an uninterrupted one).
    """
    languages = sorted(languages or raw_sources())
    ev = evaluation_sentences() | evaluated_elsewhere()
    texts: dict[str, list[str]] = {l: [] for l in languages}
    dropped, documents, state = 0, 0, None
    state_file = Path(cache_dir) / "state.json" if cache_dir else None
    if state_file is not None and state_file.is_file():  # resume
        saved = json.loads(state_file.read_text())
        texts.update({l: list(v) for l, v in saved["texts"].items()})
        dropped, documents, state = saved["dropped"], saved["documents"], StreamState.from_dict(saved["stream"])
    seen = {normalize(s) for kept in texts.values() for s in kept}
    stream = open_mc4_stream(
        languages, alpha=alpha, seed=seed, state=state, source=local_source(files) if files else None
    )

    def save() -> None:
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = state_file.with_suffix(".tmp")
            tmp.write_text(
                json.dumps(
                    {"texts": texts, "dropped": dropped, "documents": documents, "stream": stream.state().to_dict()},
                    ensure_ascii=False,
                )
            )
            tmp.replace(state_file)

    limit = max_documents or 1000 * max_sentences_per_language * len(languages)  # a stream of near-duplicates ends
    while documents < limit and any(len(texts[l]) < max_sentences_per_language for l in languages):
        doc = next(stream, None)  # drawn only when it will be used: a resumed build continues exactly here
        if doc is None:
            break
        documents += 1
        new, excluded = _new_sentences(doc.text, seen, ev, room=max_sentences_per_language - len(texts[doc.lang]))
        texts[doc.lang] += new
        dropped += excluded
        if documents % flush_every == 0:
            save()
    save()
    stats = {
        "source": "mc4 (local shards)" if files else "mc4 (allenai/c4, streamed)",
        "documents": documents,
        "languages": {l: {"sentences": len(texts[l]), "characters": sum(map(len, texts[l]))} for l in languages},
        "excluded_evaluation_sentences": dropped,
        "evaluation_sentences_known": len(ev),
        "stream": stream.state().to_dict()["positions"],
    }
    stats["parallel_pairs"] = _write_corpus_files(Path(out_dir), texts, languages, ev)
    (Path(out_dir) / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def read_corpus(corpus_dir: Path) -> dict[str, list[str]]:
    corpus_dir = Path(corpus_dir)
    files = sorted(corpus_dir.glob("*.txt.gz"))
    if not files:
        raise DataError(f"corpus dir {corpus_dir} holds no <lang>.txt.gz files")
    out = {}
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            out[f.name.split(".")[0]] = [l for l in fh.read().split("\n") if l]
    return out


def read_parallel(corpus_dir: Path) -> list[dict]:
    """Translation pairs written by :func:`build_corpus` (empty for corpora built before they existed)."""
    path = Path(corpus_dir) / "parallel.jsonl.gz"
    if not path.is_file():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(l) for l in fh if l.strip()]
