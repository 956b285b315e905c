"""Shared helpers of the task kinds: file reading with one-line errors, hub rows, tokenizer details."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterator

from xitcore.errors import DataError



def open_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a UTF-8 text file (plain or .gz), without line ends; DataError if it cannot be read."""
    from xitcore.data.paths import open_text

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        with open_text(p) as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise DataError(f"{p}: not UTF-8 text (byte {e.start})") from None
    # Split on newlines only: str.splitlines would also cut at U+2028/U+0085 inside a sentence.
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_json(path: str | os.PathLike):
    try:
        return json.loads("\n".join(open_lines(path)))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def read_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line."""
    for n, line in enumerate(open_lines(path), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def read_tsv_rows(path: str | os.PathLike, required: list[str]) -> Iterator[tuple[int, dict]]:
    """Rows of a tab-separated file with a header line (no quoting: GLUE/XNLI text holds bare quotes)."""
    lines = open_lines(path)
    if not lines:
        raise DataError(f"{path}: empty file, expected a header with {', '.join(required)}")
    header = lines[0].split("\t")
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{path}: header lacks column(s) {', '.join(missing)}; found {', '.join(header)}")
    for n, row in enumerate(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE), 2):
        if not row:
            continue
        if len(row) < len(header):
            raise DataError(f"{path}:{n}: {len(row)} columns, header has {len(header)}")
        yield n, dict(zip(header, row))


def need(obj: dict, key: str, where: str):
    if key not in obj:
        raise DataError(f"{where}: missing field '{key}'")
    return obj[key]


def load_hub_rows(task: str, dataset: str, config: str | None, split: str) -> list[dict]:
    """Rows of one split of a hub dataset; offline, fail at once with one line instead of hanging."""
    name = dataset + (f" (config {config})" if config else "")
    from xitcore import tasks as _tasks  # at call time: no import cycle, and tests can monkeypatch it

    if not _tasks.hub_reachable():
        raise DataError(f"task '{task}': hub dataset {name}, split {split}, needs {_tasks.HUB_HOST}, which is unreachable; "
                        f"run where the hub is reachable, or use the task's local loader on downloaded files")
    import datasets

    # Never trust_remote_code: data must not run code.
    return [dict(r) for r in datasets.load_dataset(dataset, config, split=split)]


def bare_piece_ids(tokenizer) -> set[int]:
    """Ids of pieces that are only the word-start marker (SentencePiece '▁'): they carry no character of a word,
    so a word is represented by its first *other* piece."""
    return {i for t, i in tokenizer.get_vocab().items() if t in ("▁", "Ġ")}
