"""Continued multilingual MLM data streamed from mC4 (hub dataset ``allenai/c4``, one config per language).

Languages are interleaved document by document: each draw picks language l with p_l ∝ n_l^alpha
(XLM-R: alpha = 0.3), using a seeded numpy generator. The stream is resumable: ``MC4Stream.state()``
holds the generator state and how many documents of each language were consumed, so a stream rebuilt
from a saved state yields exactly the continuation of the original.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..tasks import io as task_io

MC4_DATASET = "allenai/c4"
XLMR_ALPHA = 0.3

# mC4 language codes (allenai/c4 multilingual files, mC4 3.1.0); each is a config name of allenai/c4.
MC4_LANGUAGES = [
    "af",
    "am",
    "ar",
    "az",
    "be",
    "bg",
    "bg-Latn",
    "bn",
    "ca",
    "ceb",
    "co",
    "cs",
    "cy",
    "da",
    "de",
    "el",
    "el-Latn",
    "en",
    "eo",
    "es",
    "et",
    "eu",
    "fa",
    "fi",
    "fil",
    "fr",
    "fy",
    "ga",
    "gd",
    "gl",
    "gu",
    "ha",
    "haw",
    "hi",
    "hi-Latn",
    "hmn",
    "ht",
    "hu",
    "hy",
    "id",
    "ig",
    "is",
    "it",
    "iw",
    "ja",
    "ja-Latn",
    "jv",
    "ka",
    "kk",
    "km",
    "kn",
    "ko",
    "ku",
    "ky",
    "la",
    "lb",
    "lo",
    "lt",
    "lv",
    "mg",
    "mi",
    "mk",
    "ml",
    "mn",
    "mr",
    "ms",
    "mt",
    "my",
    "ne",
    "nl",
    "no",
    "ny",
    "pa",
    "pl",
    "ps",
    "pt",
    "ro",
    "ru",
    "ru-Latn",
    "sd",
    "si",
    "sk",
    "sl",
    "sm",
    "sn",
    "so",
    "sq",
    "sr",
    "st",
    "su",
    "sv",
    "sw",
    "ta",
    "te",
    "tg",
    "th",
    "tr",
    "uk",
    "und",
    "ur",
    "uz",
    "vi",
    "xh",
    "yi",
    "yo",
    "zh",
    "zh-Latn",
    "zu",
]

# allenai/c4 config "en" is the English-only C4; mC4's own English is the config "en-multi" (its ~3.07B documents
# match mT5's mC4 English page count). Override with ``hub_source(configs=...)``.
MC4_CONFIGS = {"en": "en-multi"}

# Documents per language config (all splits), rounded as shown by the Hugging Face dataset viewer for
# allenai/c4 ("en" is the en-multi config). Only languages whose count was checked are listed; pass ``sizes``
# for any other language.
MC4_DOCUMENTS: dict[str, int] = {
    "af": 2_150_000,
    "am": 163_000,
    "ar": 53_300_000,
    "az": 5_280_000,
    "be": 1_740_000,
    "bg": 23_400_000,
    "bn": 7_440_000,
    "ca": 14_500_000,
    "ceb": 352_000,
    "co": 495_000,
    "cs": 60_100_000,
    "cy": 4_130_000,
    "da": 28_700_000,
    "de": 397_000_000,
    "el": 41_900_000,
    "en": 3_070_000_000,
    "eo": 501_000,
    "es": 416_000_000,
    "et": 6_940_000,
    "eu": 1_560_000,
    "fa": 53_900_000,
    "fi": 26_800_000,
    "fil": 2_100_000,
    "fr": 332_000_000,
    "fy": 1_110_000,
    "ga": 466_000,
    "gd": 323_000,
    "gl": 4_550_000,
    "gu": 632_000,
    "ha": 248_000,
    "haw": 84_400,
    "hi": 18_500_000,
    "hmn": 296_000,
    "ht": 269_000,
    "hu": 36_900_000,
}

# (language, start) -> iterable of document texts, beginning at the start-th document of that language.
StreamSource = Callable[[str, int], Iterable[str]]


def language_probabilities(sizes: Mapping[str, float], alpha: float = XLMR_ALPHA) -> dict[str, float]:
    """p_l = n_l^alpha / sum_k n_k^alpha over the languages with n_l > 0, in sorted language order."""
    if not 0 < alpha <= 1:
        raise DataError(f"mc4 alpha {alpha}: must be in (0, 1]")
    if any(n < 0 for n in sizes.values()):
        raise DataError(f"mc4 sizes: counts must be >= 0, got {dict(sizes)}")
    weights = {lang: float(n) ** alpha for lang, n in sorted(sizes.items()) if n > 0}
    if not weights:
        raise DataError("mc4 sizes: no language has a positive document count")
    total = sum(weights.values())
    return {lang: w / total for lang, w in weights.items()}


def resolve_sizes(languages: list[str], sizes: Mapping[str, float] | None = None) -> dict[str, float]:
    """Per-language counts for ``languages``: from ``sizes`` when given, else from ``MC4_DOCUMENTS``."""
    table = MC4_DOCUMENTS if sizes is None else sizes
    missing = [lang for lang in languages if lang not in table]
    if missing:
        raise DataError(
            f"mc4: no document count for {', '.join(missing)}; pass sizes, or use languages "
            f"from the built-in table: {', '.join(sorted(table))}"
        )
    return {lang: table[lang] for lang in languages}


@dataclass
class StreamState:
    """Everything needed to continue a stream: JSON-serialisable via ``to_dict``/``from_dict``."""

    seed: int
    documents: int = 0  # documents yielded so far, all languages
    positions: dict[str, int] = field(default_factory=dict)  # documents consumed per language
    exhausted: list[str] = field(default_factory=list)  # languages whose source ran dry
    rng: dict | None = None  # numpy PCG64 bit-generator state

    def to_dict(self) -> dict:
        return {
            "seed": self.seed,
            "documents": self.documents,
            "positions": dict(self.positions),
            "exhausted": list(self.exhausted),
            "rng": self.rng,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> StreamState:
        return cls(
            int(d["seed"]),
            int(d["documents"]),
            {k: int(v) for k, v in d["positions"].items()},
            list(d["exhausted"]),
            d["rng"],
        )


@dataclass(frozen=True)
class Document:
    lang: str
    text: str


class MC4Stream:
    """Iterator over ``Document``s interleaving languages by alpha-smoothed probabilities."""

    def __init__(
        self, probabilities: Mapping[str, float], source: StreamSource, seed: int = 0, state: StreamState | None = None
    ):
        self.probabilities = dict(sorted(probabilities.items()))
        self.source = source
        # A private copy: the caller's saved state stays as it was.
        self._state = StreamState.from_dict(state.to_dict()) if state else StreamState(seed)
        for lang in self.probabilities:
            self._state.positions.setdefault(lang, 0)
        self._rng = np.random.Generator(np.random.PCG64(self._state.seed))
        if self._state.rng is not None:
            self._rng.bit_generator.state = self._state.rng
        self._iters: dict[str, Iterator[str]] = {}
        self._langs, self._cdf = self._active()

    def state(self) -> StreamState:
        """A snapshot; the stream continues exactly from it when passed back as ``state``."""
        s = StreamState.from_dict(self._state.to_dict())
        s.rng = self._rng.bit_generator.state
        return s

    def _active(self) -> tuple[list[str], np.ndarray]:
        langs = [lang for lang in self.probabilities if lang not in self._state.exhausted]
        p = np.array([self.probabilities[lang] for lang in langs])
        return langs, np.cumsum(p / p.sum())

    def __iter__(self) -> Iterator[Document]:
        return self

    def __next__(self) -> Document:
        while self._langs:
            # One uniform draw per document, inverted through the CDF.
            i = int(np.searchsorted(self._cdf, self._rng.random(), side="right"))
            lang = self._langs[min(i, len(self._langs) - 1)]
            if lang not in self._iters:  # opened lazily, so a resumed stream skips what was consumed
                self._iters[lang] = iter(self.source(lang, self._state.positions[lang]))
            try:
                text = next(self._iters[lang])
            except StopIteration:
                self._state.exhausted.append(lang)  # renormalise over the rest; the draw is spent
                self._langs, self._cdf = self._active()
                continue
            self._state.positions[lang] += 1
            self._state.documents += 1
            return Document(lang, text)
        raise StopIteration


def hub_source(
    dataset: str = MC4_DATASET, split: str = "train", configs: Mapping[str, str] | None = None
) -> StreamSource:
    """Streams ``dataset`` config ``lang`` (``datasets.load_dataset(..., streaming=True)``) from document ``start``."""
    configs = {**MC4_CONFIGS, **(configs or {})}

    def open_language(lang: str, start: int) -> Iterable[str]:
        import datasets

        ds = datasets.load_dataset(dataset, configs.get(lang, lang), split=split, streaming=True)
        if start:
            ds = ds.skip(start)  # reads past the consumed documents; streamed shards have no random access
        return (row["text"] for row in ds)

    return open_language


def local_source(directory: str | Path) -> StreamSource:
    """Documents from mC4 shards on disk, in allenai/c4's multilingual layout
    (``c4-<lang>.tfrecord-NNNNN-of-NNNNN.json.gz``, one JSON object with a ``text`` field a line), read in file
    order, the first ``start`` documents skipped."""
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"corpus.mc4_files: '{root}' is not a directory of c4-<lang>.tfrecord-*.json.gz shards")

    def open_language(lang: str, start: int) -> Iterable[str]:
        files = sorted(root.glob(f"c4-{lang}.tfrecord-*.json.gz"))
        if not files:
            raise DataError(f"corpus.mc4_files: no c4-{lang}.tfrecord-*.json.gz in {root}")

        def documents() -> Iterator[str]:
            n = 0
            for f in files:
                with gzip.open(f, "rt", encoding="utf-8") as fh:
                    for lineno, line in enumerate(fh, 1):
                        if not line.strip():
                            continue
                        if n >= start:
                            try:
                                yield json.loads(line)["text"]
                            except (json.JSONDecodeError, KeyError, TypeError):
                                raise DataError(f"{f}:{lineno}: not an mC4 JSON object with a 'text' field") from None
                        n += 1

        return documents()

    return open_language


def open_mc4_stream(
    languages: list[str],
    sizes: Mapping[str, float] | None = None,
    alpha: float = XLMR_ALPHA,
    seed: int = 0,
    state: StreamState | Mapping | None = None,
    source: StreamSource | None = None,
    split: str = "train",
) -> MC4Stream:
    """mC4 documents in ``languages``; without ``source``, streamed from the hub (fails at once when offline).

    ``state`` (a ``StreamState`` or its ``to_dict()``) resumes a stream; its own seed then replaces ``seed``.
    """
    if not languages:
        raise DataError("mc4 languages: empty; give at least one mC4 language code")
    if source is None:
        unknown = [lang for lang in languages if lang not in MC4_LANGUAGES]
        if unknown:
            raise DataError(f"mc4 languages: {', '.join(unknown)} not in mC4; allowed: {', '.join(MC4_LANGUAGES)}")
        if not task_io.hub_reachable():
            raise DataError(
                f"mc4: streaming {MC4_DATASET} needs {task_io.HUB_HOST} but it is unreachable; "
                f"use the shipped corpus (corpus.build_corpus) offline"
            )
        source = hub_source(split=split)
    probs = language_probabilities(resolve_sizes(languages, sizes), alpha)
    if isinstance(state, Mapping):
        state = StreamState.from_dict(state)
    return MC4Stream(probs, source, seed=seed, state=state)


@dataclass(frozen=True)
class TokenBlock:
    lang: str
    input_ids: list[int]


class BlockPacker:
    """Packs a document stream into fixed-length, single-language token blocks (run_mlm's group_texts, per language).

    Documents are tokenized with the tokenizer's special tokens (``<s> doc </s>`` for XLM-R) and concatenated per
    language; a block is emitted when a language's buffer holds ``block_size`` ids. ``carry`` (the partial buffers)
    is part of the resumable state: ``{"stream": stream.state().to_dict(), "carry": packer.carry}``.
    """

    def __init__(self, tokenizer, block_size: int, carry: Mapping[str, list[int]] | None = None):
        if block_size < 2:
            raise DataError(f"mc4 block_size {block_size}: must be >= 2")
        self.tokenizer = tokenizer
        self.block_size = block_size
        self.carry: dict[str, list[int]] = {k: list(v) for k, v in (carry or {}).items()}

    def blocks(self, stream: Iterable[Document]) -> Iterator[TokenBlock]:
        for doc in stream:
            buf = self.carry.setdefault(doc.lang, [])
            buf += self.tokenizer(doc.text, add_special_tokens=True)["input_ids"]
            while len(buf) >= self.block_size:
                block, self.carry[doc.lang] = buf[: self.block_size], buf[self.block_size :]
                buf = self.carry[doc.lang]
                yield TokenBlock(doc.lang, block)
