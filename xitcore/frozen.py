"""Frozen lower layers computed once.

When phases ii and iii keep the embedding block and the first ``k`` transformer layers fixed
(``model.freeze_layers``), the output of those layers for a token sequence is the same in every condition and
seed that starts from the same pretrained encoder: phase ii cannot change them, so phase iii's checkpoint has
them too. :class:`FrozenPrefix` runs them in eval mode (no dropout: they are fixed, so a dropout mask there is
noise, not regularisation of anything trained), rounds their output to bf16 (the stored form), and memoises it
by token sequence. A ``frozen`` step of the run store (``pipeline.step_frozen``) computes it for a data set once
(training, dev and evaluation sequences of one target or intermediate task, or Tatoeba) and every consumer
loads it: a sequence that is not stored is computed on the fly in the same way, so results never depend on
what was stored, only the time does.

Stored layout (``activations.safetensors``, written atomically by the run store): ``hidden`` [tokens, H] bf16,
``ids`` [tokens] int32, ``offsets`` [sequences + 1] int64; the metadata holds the fingerprint of the frozen
weights it was computed with, which a consumer checks against its own model's frozen weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

STORE_DTYPE = torch.bfloat16
ACTIVATIONS = "activations.safetensors"


def sequences_of(features: list[dict]) -> list[list[int]]:
    """The model inputs of a kind's features: ``input_ids`` (tagging, classification, QA) or each of ``choices``
    (multiple choice)."""
    out = []
    for f in features:
        if "choices" in f:
            out += [list(c) for c in f["choices"]]
        else:
            out.append(list(f["input_ids"]))
    return out


def frozen_modules(encoder, k: int) -> list[torch.nn.Module]:
    return [encoder.embeddings, *encoder.encoder.layer[:k]]


def fingerprint(encoder, k: int) -> str:
    """A hash of the frozen weights (embedding block and the first ``k`` layers), exact to the bit."""
    h = hashlib.sha1()  # a check against mix-ups, not a security measure; sha1 hashes 400 MB in 0.2 s
    h.update(str(k).encode())
    for module in frozen_modules(encoder, k):
        for name, t in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(memoryview(t.detach().contiguous().cpu().numpy()).cast("B"))
    return h.hexdigest()[:24]


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, 1, 1, L] additive mask (0 on tokens, the dtype's minimum on padding), as BERT/XLM-R layers take it."""
    m = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


def run_layers(layers, hidden: torch.Tensor, attention_mask: torch.Tensor, collect: list | None = None):
    mask = additive_mask(attention_mask, hidden.dtype)
    for layer in layers:
        out = layer(hidden, mask)
        hidden = out[0] if isinstance(out, tuple) else out  # transformers 4 returns a tuple, 5 a tensor
        if collect is not None:
            collect.append(hidden)
    return hidden


def key_of(ids) -> bytes:
    return np.asarray(ids, dtype=np.int32).tobytes()


class FrozenPrefix:
    """Embeddings + the first ``k`` layers of ``encoder`` as a memoised function of the token sequence."""

    def __init__(self, encoder, k: int):
        if k < 1 or k > len(encoder.encoder.layer):
            raise ValueError(f"FrozenPrefix: k must be 1..{len(encoder.encoder.layer)}, got {k}")
        self.encoder, self.k = encoder, k
        self.memo: dict[bytes, torch.Tensor] = {}
        self.fingerprint = fingerprint(encoder, k)
        self.hits = self.misses = 0
        self.stored = 0  # sequences read from the run store's copies (load)

    @torch.no_grad()
    def compute(self, seqs: list[list[int]], pad_id: int, batch_size: int = 64) -> list[torch.Tensor]:
        """Frozen-layer output of each sequence ([len, H], bf16), computed in eval mode, longest-first batches."""
        modules = frozen_modules(self.encoder, self.k)
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        device = next(self.encoder.parameters()).device
        out: list[torch.Tensor | None] = [None] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        try:
            with torch.autocast(device.type, enabled=False):  # the stored form is fixed, whatever the caller's
                for s in range(0, len(order), batch_size):
                    idx = order[s : s + batch_size]
                    n = max(len(seqs[i]) for i in idx)
                    ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
                    mask = torch.zeros((len(idx), n), dtype=torch.long)
                    for r, i in enumerate(idx):
                        ids[r, : len(seqs[i])] = torch.as_tensor(seqs[i])
                        mask[r, : len(seqs[i])] = 1
                    ids, mask = ids.to(device), mask.to(device)
                    h = self.encoder.embeddings(input_ids=ids)
                    h = run_layers(self.encoder.encoder.layer[: self.k], h, mask)
                    h = h.to(STORE_DTYPE).cpu()
                    for r, i in enumerate(idx):
                        out[i] = h[r, : len(seqs[i])].clone()
        finally:
            for m, t in zip(modules, modes):
                m.train(t)
        return out  # type: ignore[return-value]

    def add(self, seqs: list[list[int]], hidden: list[torch.Tensor]) -> None:
        for s, h in zip(seqs, hidden):
            self.memo[key_of(s)] = h

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, L, H] float: the stored (or now computed and memoised) frozen output of each row's tokens, zeros on
        padding (masked out of attention above; no loss reads a padded position)."""
        ids_cpu, lengths = input_ids.cpu(), attention_mask.sum(-1).cpu().tolist()
        rows = [ids_cpu[b, :n].numpy() for b, n in enumerate(lengths)]
        keys = [key_of(r) for r in rows]
        todo = {k: r.tolist() for k, r in zip(keys, rows) if k not in self.memo}
        self.misses += len(todo)
        self.hits += len(keys) - len(todo)
        if todo:
            pad_id = int(self.encoder.config.pad_token_id or 0)
            self.add(list(todo.values()), self.compute(list(todo.values()), pad_id))
        b, n = input_ids.shape
        out = torch.zeros((b, n, self.encoder.config.hidden_size), dtype=STORE_DTYPE)
        for i, (k, length) in enumerate(zip(keys, lengths)):
            out[i, :length] = self.memo[k]
        return out.to(input_ids.device).float()

    def top(self, hidden: torch.Tensor, attention_mask: torch.Tensor, collect: list | None = None) -> torch.Tensor:
        """The layers above the frozen ones, from their input."""
        return run_layers(self.encoder.encoder.layer[self.k :], hidden, attention_mask, collect)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.top(self.hidden(input_ids, attention_mask), attention_mask)

    # ------------------------------------------------------------------ the run store's copy

    def save(self, path: Path, seqs: list[list[int]], hidden: list[torch.Tensor]) -> dict:
        """Write ``seqs`` and their frozen output to ``path`` (safetensors; the run store renames it into place)."""
        from safetensors.torch import save_file

        offsets = np.cumsum([0] + [len(s) for s in seqs]).astype(np.int64)
        flat = np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs]) if seqs else np.zeros(0, np.int32)
        hid = torch.cat(hidden) if hidden else torch.zeros((0, self.encoder.config.hidden_size), dtype=STORE_DTYPE)
        tensors = {"hidden": hid.contiguous(), "ids": torch.from_numpy(flat), "offsets": torch.from_numpy(offsets)}
        save_file(tensors, str(path), metadata={"fingerprint": self.fingerprint, "layers": str(self.k)})
        return {
            "sequences": len(seqs),
            "tokens": int(offsets[-1]),
            "megabytes": round(path.stat().st_size / 2**20, 1),
            "fingerprint": self.fingerprint,
            "frozen_layers": self.k,
        }

    def load(self, path: Path) -> int:
        """Add a stored copy's sequences to the memo (views into one tensor, no copy); the number added. Refuses
        a copy computed with other frozen weights: that would be a bug in how steps share it, never a choice."""
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            if meta.get("fingerprint") != self.fingerprint or meta.get("layers") != str(self.k):
                raise RuntimeError(
                    f"{path}: frozen-layer activations of other weights (fingerprint {meta.get('fingerprint')}, "
                    f"{meta.get('layers')} layers; this model: {self.fingerprint}, {self.k}); delete that step "
                    "directory to recompute it"
                )
            hid, ids, offsets = f.get_tensor("hidden"), f.get_tensor("ids").numpy(), f.get_tensor("offsets").tolist()
        before = len(self.memo)
        for a, b in zip(offsets, offsets[1:]):
            self.memo.setdefault(ids[a:b].tobytes(), hid[a:b])
        self.stored += len(self.memo) - before
        return len(self.memo) - before


def unique_sequences(seqs: list[list[int]]) -> list[list[int]]:
    seen, out = set(), []
    for s in seqs:
        k = key_of(s)
        if k not in seen:
            seen.add(k)
            out.append(list(s))
    return out
