"""What a book chapter reads: the results of the conditions it names (a variant's, under its condition's name,
when the book was built with ``--set``).  Kept apart from ``tables`` (pure views of a frame, imported by
``xitcore.results`` itself) so that the import graph stays acyclic."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .tables import COLUMNS, REFERENCE, VARIANT_MARK, committed, select


def book_results(runs_dir, preset: str, conditions: Sequence[str], *, baselines: bool = True) -> pd.DataFrame:
    """The results a book chapter reads: ``conditions`` of ``preset`` (names from the condition indexes; a
    variant's name when the book was built with ``--set``) plus the baselines. Variant rows are loaded only when a
    variant is named, and carry their condition's name, so every table and figure compares them as conditions."""
    import xitcore.results

    names = [str(c) for c in conditions]
    want_variants = any(VARIANT_MARK in c for c in names)
    df = (
        xitcore.results.load_results(runs_dir, variants=True)
        if want_variants
        else xitcore.results.load_results(runs_dir)
    )
    attrs = dict(df.attrs)
    df = select(df, preset=preset, conditions=names, baselines=baselines)
    if want_variants:
        df = df.assign(condition=df["condition"].map(committed))
        # the in-language and fold facts of a variant belong to its condition's name, as its rows now do
        for key in ("in_language", "folds"):
            attrs[key] = {committed(k): v for k, v in (attrs.get(key) or {}).items()}
    keep = list(COLUMNS) + (["zero_shot"] if "zero_shot" in df.columns else [])
    out = df[keep].reset_index(drop=True)
    out.attrs = attrs  # what load_results found beside the rows: in-language conditions, language folds, damage
    return out


def reference_for(runs_dir, preset: str, condition: str, reference: str = REFERENCE) -> str:
    """The reference's index name to compare ``condition`` with: the reference's variant with the same suffix when
    there is one (a book built with ``--set``), else the reference itself."""
    from pathlib import Path

    suffix = str(condition)[len(committed(condition)) :]
    if suffix and (Path(runs_dir) / "index" / preset / f"{reference}{suffix}.json").is_file():
        return f"{reference}{suffix}"
    return reference
