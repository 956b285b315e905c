"""Machine translation of English intermediate-task examples with M2M100 or NLLB (``transformers``).

Translation is batched (length-sorted batches, little padding), cached on disk in sqlite keyed by
(model, target language, sha256 of the source text) with one committed transaction per batch, so a killed
run loses at most the batch in flight and a rerun translates only what is missing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import DataError
from ..tasks import io as task_io
from .label_projection import (
    Markers,
    ProjectionError,
    ProjectionReport,
    bio_to_char_spans,
    char_spans_to_bio,
    extract_spans,
    insert_markers,
    mark_answer,
)

DEFAULT_MODEL = "facebook/nllb-200-distilled-600M"

# ISO 639-1 (project codes) -> NLLB-200 (FLORES-200) codes. M2M100 uses the ISO codes themselves.
NLLB_CODES = {
    "ar": "arb_Arab",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "et": "est_Latn",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "hi": "hin_Deva",
    "ht": "hat_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
    "nl": "nld_Latn",
    "pt": "por_Latn",
    "qu": "quy_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sw": "swh_Latn",
    "ta": "tam_Taml",
    "th": "tha_Thai",
    "tr": "tur_Latn",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
}
# Scripts written without spaces between sentences.
_NO_SPACE_LANGS = {"ja", "th", "zh"}


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationCache:
    """sqlite file of translations keyed by (model, tgt_lang, sha256(source)); safe to reopen after a crash."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path))
            self.conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; commits are atomic
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS translations (model TEXT NOT NULL, tgt_lang TEXT NOT NULL, "
                "src_sha256 TEXT NOT NULL, src TEXT NOT NULL, tgt TEXT NOT NULL, "
                "PRIMARY KEY (model, tgt_lang, src_sha256))"
            )
        except sqlite3.DatabaseError as e:
            raise DataError(f"translation cache {self.path}: not a usable sqlite file ({e})") from None

    def lookup(self, model: str, tgt_lang: str, texts: Sequence[str]) -> dict[str, str]:
        """source text -> cached translation, for those of ``texts`` that are cached."""
        by_hash = {source_hash(t): t for t in texts}
        found, hashes = {}, list(by_hash)
        for i in range(0, len(hashes), 500):  # stay under sqlite's bound-parameter limit
            chunk = hashes[i : i + 500]
            rows = self.conn.execute(
                f"SELECT src_sha256, tgt FROM translations WHERE model=? AND tgt_lang=? AND src_sha256 IN "
                f"({','.join('?' * len(chunk))})",
                [model, tgt_lang, *chunk],
            )
            found.update({by_hash[h]: tgt for h, tgt in rows})
        return found

    def store(self, model: str, tgt_lang: str, pairs: Sequence[tuple[str, str]]) -> None:
        with self.conn:  # one transaction: all of the batch or none of it
            self.conn.executemany(
                "INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?)",
                [(model, tgt_lang, source_hash(s), s, t) for s, t in pairs],
            )

    def count(self, model: str | None = None, tgt_lang: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM translations WHERE 1=1", []
        for col, val in (("model", model), ("tgt_lang", tgt_lang)):
            if val is not None:
                sql += f" AND {col}=?"
                args.append(val)
        return self.conn.execute(sql, args).fetchone()[0]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BatchTranslator(Protocol):
    cache_key: str  # names the model and decoding settings in the cache
    batch_size: int

    def translate_batch(self, texts: list[str], tgt_lang: str) -> list[str]: ...


@dataclass
class TranslatorConfig:
    model_name: str = DEFAULT_MODEL  # hub id or local save_pretrained dir of an M2M100/NLLB model
    src_lang: str = "en"
    batch_size: int = 32
    num_beams: int = 4
    max_source_tokens: int = 512  # longer inputs are truncated (contexts are split into sentences first)
    max_new_tokens: int = 256  # also capped at 2 * source tokens + 16 against degenerate repetition
    device: str | None = None  # None: cuda when available, else cpu


def is_nllb(tokenizer) -> bool:
    return type(tokenizer).__name__.startswith("Nllb")


def model_language_code(tokenizer, lang: str) -> str:
    """Project language code (ISO 639-1) -> the code the tokenizer knows (NLLB: ``deu_Latn``; M2M100: ``de``)."""
    if not is_nllb(tokenizer) or "_" in lang:
        return lang
    if lang not in NLLB_CODES:
        raise DataError(
            f"translation: no NLLB code for language '{lang}'; allowed: {', '.join(sorted(NLLB_CODES))} "
            f"or an NLLB code such as deu_Latn"
        )
    return NLLB_CODES[lang]


def language_token_id(tokenizer, lang: str) -> int:
    """Id of the language token that starts the target (``forced_bos_token_id``)."""
    code = model_language_code(tokenizer, lang)
    if hasattr(tokenizer, "get_lang_id"):  # M2M100Tokenizer
        try:
            return tokenizer.get_lang_id(code)
        except KeyError:
            raise DataError(
                f"translation: M2M100 has no language '{code}'; "
                f"allowed: {', '.join(sorted(tokenizer.lang_code_to_token))}"
            ) from None
    tid = tokenizer.convert_tokens_to_ids(code)
    if tid is None or tid == tokenizer.unk_token_id:
        raise DataError(f"translation: tokenizer {type(tokenizer).__name__} has no language token '{code}'")
    return tid


class HFTranslator:
    """M2M100ForConditionalGeneration + its tokenizer; one ``generate`` call per batch."""

    def __init__(self, model, tokenizer, cfg: TranslatorConfig):
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg
        self.batch_size = cfg.batch_size
        self.cache_key = (
            f"{cfg.model_name}|src={cfg.src_lang}|beams={cfg.num_beams}|"
            f"src_tokens={cfg.max_source_tokens}|new_tokens={cfg.max_new_tokens}"
        )
        self.tokenizer.src_lang = model_language_code(tokenizer, cfg.src_lang)

    @classmethod
    def load(cls, cfg: TranslatorConfig) -> HFTranslator:
        import torch
        from transformers import AutoTokenizer, M2M100ForConditionalGeneration

        local_dir = Path(cfg.model_name).is_dir()
        offline = not local_dir and not task_io.hub_reachable()
        try:  # concrete model class and trust_remote_code=False: nothing downloaded is executed
            tok = AutoTokenizer.from_pretrained(cfg.model_name, local_files_only=offline, trust_remote_code=False)
            model = M2M100ForConditionalGeneration.from_pretrained(cfg.model_name, local_files_only=offline)
        except (OSError, ValueError, ImportError) as e:  # ImportError: M2M100's tokenizer needs sentencepiece
            where = f"{task_io.HUB_HOST} unreachable and not in the local cache" if offline else str(e).splitlines()[0]
            raise DataError(
                f"translation model '{cfg.model_name}': cannot load ({where}); allowed: an M2M100/NLLB "
                f"hub id or a local save_pretrained dir"
            ) from None
        device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = model.to(device, dtype=torch.float16 if device.startswith("cuda") else torch.float32).eval()
        return cls(model, tok, cfg)

    def translate_batch(self, texts: list[str], tgt_lang: str) -> list[str]:
        import torch

        enc = self.tokenizer(
            texts, return_tensors="pt", padding=True, truncation=True, max_length=self.cfg.max_source_tokens
        ).to(self.model.device)
        new_tokens = min(self.cfg.max_new_tokens, 2 * enc["input_ids"].shape[1] + 16)
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                forced_bos_token_id=language_token_id(self.tokenizer, tgt_lang),
                num_beams=self.cfg.num_beams,
                do_sample=False,
                max_new_tokens=new_tokens,
            )
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)


def translate_texts(
    texts: Sequence[str], tgt_lang: str, translator: BatchTranslator, cache: TranslationCache, progress: bool = True
) -> list[str]:
    """Translations of ``texts`` in order; only texts missing from ``cache`` reach the model, each batch is
    committed to the cache as soon as it is translated."""
    from tqdm.auto import tqdm

    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    done = cache.lookup(translator.cache_key, tgt_lang, unique)
    todo = sorted((t for t in unique if t not in done), key=lambda t: (-len(t), t))  # longest first: OOM shows early
    bs = translator.batch_size
    batches = [todo[i : i + bs] for i in range(0, len(todo), bs)]
    for batch in tqdm(batches, desc=f"translate -> {tgt_lang}", unit="batch", disable=not progress or not batches):
        out = translator.translate_batch(batch, tgt_lang)
        if len(out) != len(batch):
            raise DataError(f"translator {translator.cache_key}: {len(out)} outputs for a batch of {len(batch)}")
        cache.store(translator.cache_key, tgt_lang, list(zip(batch, out)))
        done.update(zip(batch, out))
    return [done.get(t, t) for t in texts]  # blank texts stay as they are


# ------------------------------------------------------------------ task examples

Builder = Callable[[list[str]], dict]


def _plan(ex: dict, kind: str, lang: str, ask: Callable[[str], int], markers: Markers) -> Builder:
    """Register the texts of one example for translation; return how to rebuild it from the translations."""
    from ..corpus import split_sentences

    if kind == "classification":
        a = ask(ex["text_a"])
        b = ask(ex["text_b"]) if ex.get("text_b") else None
        return lambda tr: {**ex, "text_a": tr[a], "text_b": tr[b] if b is not None else ex.get("text_b"), "lang": lang}
    if kind == "multiple_choice":
        p, cs = ask(ex["premise"]), [ask(c) for c in ex["choices"]]
        return lambda tr: {**ex, "premise": tr[p], "choices": [tr[c] for c in cs], "lang": lang}
    if kind == "qa":
        # Sentence by sentence: long paragraphs translate badly, and the unmarked sentences of a paragraph
        # are shared by all its questions (cache hits).
        ids = [
            ask(s)
            for s in split_sentences(mark_answer(ex["context"], ex["answer_starts"][0], ex["answers"][0], markers))
        ]
        q = ask(ex["question"])
        joiner = "" if lang in _NO_SPACE_LANGS else " "

        def build_qa(tr: list[str]) -> dict:
            context, [(s, e)] = extract_spans(joiner.join(tr[i] for i in ids), 1, markers)
            return {
                **ex,
                "context": context,
                "question": tr[q],
                "answers": [context[s:e]],
                "answer_starts": [s],
                "lang": lang,
            }

        return build_qa
    if kind == "tagging":
        text, spans = bio_to_char_spans(ex["words"], ex["tags"])
        i = ask(insert_markers(text, [(s, e) for s, e, _ in spans], markers))

        def build_tagging(tr: list[str]) -> dict:
            clean, got = extract_spans(tr[i], len(spans), markers)
            words, tags = char_spans_to_bio(clean, [(s, e, typ) for (s, e), (_, _, typ) in zip(got, spans)])
            return {**ex, "words": words, "tags": tags, "lang": lang}

        return build_tagging
    raise DataError(f"translation: task kind '{kind}' unknown; allowed: classification, multiple_choice, qa, tagging")


def translate_examples(
    examples: Sequence[dict],
    kind: str,
    tgt_lang: str,
    translate: Callable[[list[str]], list[str]],
    markers: Markers | None = None,
) -> tuple[list[dict], ProjectionReport]:
    """Translate the text fields of task examples (``xitcore.tasks`` formats) into ``tgt_lang``.

    ``translate`` maps a list of source texts to their translations in order, e.g.
    ``lambda xs: translate_texts(xs, tgt_lang, translator, cache)``. QA answers and BIO spans are carried over by
    marker preservation; examples whose markers do not survive are dropped and counted in the report.
    Tagging tasks must use BIO span tags (NER); dense tags (POS, deprel) cannot be projected this way.
    """
    markers = markers or Markers()
    requests: list[str] = []

    def ask(text: str) -> int:
        requests.append(text)
        return len(requests) - 1

    plans: list[Builder | ProjectionError] = []
    for ex in examples:
        try:
            plans.append(_plan(ex, kind, tgt_lang, ask, markers))
        except ProjectionError as e:
            plans.append(e)
    translations = translate(requests) if requests else []
    if len(translations) != len(requests):
        raise DataError(f"translation: {len(translations)} outputs for {len(requests)} texts")
    out, report = [], ProjectionReport()
    for plan in plans:
        try:
            if isinstance(plan, ProjectionError):
                raise plan
            out.append(plan(translations))
            report.keep()
        except ProjectionError as e:
            report.drop(str(e))
    return out, report
