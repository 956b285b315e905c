"""Machine-translated intermediate data (``intermediate.data: mt``), size-matched like the shipped variants.

Example ``i`` of the English task goes to language ``languages[i % n]``: the same items, the same count, only
the language mix changes (examples whose span markers do not survive translation are dropped and counted).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import DataError
from .translate import TranslationCache, TranslatorConfig, translate_examples, translate_texts


def rotate_languages(n: int, languages: list[str]) -> list[str]:
    return [languages[i % len(languages)] for i in range(n)]


def machine_translate_examples(
    examples: list[dict],
    kind: str,
    languages: list[str],
    translate_for: Callable[[str], Callable[[list[str]], list[str]]],
) -> tuple[list[dict], dict]:
    """Translate each example into its rotating language; returns (examples grouped by language, report).

    Training shuffles, so the grouping does not matter; the report gives kept/dropped counts per language.
    """
    if not languages:
        raise DataError("intermediate.mt_languages is empty; allowed: any target languages of the MT model")
    targets = rotate_languages(len(examples), languages)
    out, report = [], {}
    for lang in languages:
        mine = [ex for ex, t in zip(examples, targets) if t == lang]
        done, rep = translate_examples(mine, kind, lang, translate_for(lang))
        out += [{**ex, "lang": lang} for ex in done]
        report[lang] = rep.to_dict()
    return out, report


def hub_translator(model_name: str, cache_path: Path):
    """``translate_for(lang)`` backed by an M2M100/NLLB model and an on-disk cache (resumable)."""
    from .translate import HFTranslator

    translator = HFTranslator.load(TranslatorConfig(model_name=model_name))
    cache = TranslationCache(cache_path)
    return lambda lang: lambda texts: translate_texts(texts, lang, translator, cache)
