"""Shared helpers of the task kinds: file reading with one-line errors, hub rows (offline: fail at once), padding."""

from __future__ import annotations

import csv
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import torch

from ..data.paths import open_text
from ..errors import DataError

HUB_HOST = "huggingface.co"


def open_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a UTF-8 text file (plain or .gz), without line ends; DataError if it cannot be read."""
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


def hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"


def datasets_cache_dir(dataset: str) -> Path:
    """Where ``datasets`` caches ``dataset`` (``<HF_DATASETS_CACHE>/<namespace>___<name>``), without importing it."""
    root = (
        os.environ.get("HF_DATASETS_CACHE")
        or Path(
            os.environ.get("HF_HOME")
            or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
        )
        / "datasets"
    )
    return Path(root).expanduser() / dataset.replace("/", "___")


def load_hub_rows(task: str, dataset: str, config: str | None, split: str) -> list[dict]:
    """Rows of one split of a hub dataset; offline, fail at once with one line instead of hanging. Offline
    (``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``, e.g. a compute node) a data set fetched before into the cache
    (``scripts/prefetch.py``) is read from there."""
    name = dataset + (f" (config {config})" if config else "")
    cached = hub_offline() and datasets_cache_dir(dataset).is_dir()
    if not cached and not hub_reachable():
        raise DataError(
            f"task '{task}': hub dataset {name}, split {split}, needs {HUB_HOST}, which is unreachable; "
            f"run where the hub is reachable, fetch it there first (scripts/prefetch.py), or use the task's local "
            f"loader on downloaded files"
        )
    import datasets  # heavy, and only needed here

    # Never trust_remote_code: data must not run code.
    if not cached:
        return [dict(r) for r in datasets.load_dataset(dataset, config, split=split)]
    try:
        # The cache this process's environment names (datasets reads HF_DATASETS_CACHE once, when imported)
        cache_dir = str(datasets_cache_dir(dataset).parent)
        return [dict(r) for r in datasets.load_dataset(dataset, config, split=split, cache_dir=cache_dir)]
    except Exception as e:  # this config or split was not fetched
        raise DataError(
            f"task '{task}': hub dataset {name}, split {split}, is not in the offline cache "
            f"{datasets_cache_dir(dataset).parent} ({type(e).__name__}); fetch it where the hub is reachable: "
            "scripts/prefetch.py"
        ) from None


def pad(seqs: list[list[int]], value: int) -> torch.Tensor:
    """Right-pad id lists to one [batch, longest] tensor."""
    n = max(len(s) for s in seqs)
    out = torch.full((len(seqs), n), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def padded_inputs(feats: list[dict], pad_id: int) -> dict:
    """``input_ids`` of a batch of features, right-padded, and their attention mask."""
    ids = pad([f["input_ids"] for f in feats], pad_id)
    return {"input_ids": ids, "attention_mask": (ids != pad_id).long()}


def input_length(f: dict) -> int:
    """A feature's length for length-grouped batching: its input ids."""
    return len(f["input_ids"])
