"""Masked language modelling as a task kind: packed blocks of the corpus (no padding at all), BERT masking,
XLM's translation-pair (TLM) rows and code-switched rows, XLM-R's smoothed language sampling.

The training loop is ``xitcore.train.train_mlm``; the loss, projecting onto the vocabulary only at masked
positions, is ``xitcore.model.masked_lm_loss``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from ..metrics import unigram_entropy


def sampling_weights(sizes: dict[str, int], alpha: float) -> dict[str, float]:
    """XLM-R's exponentially smoothed language sampling: p_l ∝ (n_l / N)^alpha."""
    total = sum(sizes.values())
    w = {l: (n / total) ** alpha for l, n in sizes.items() if n > 0}
    z = sum(w.values())
    return {l: v / z for l, v in w.items()}


def pack_blocks(token_lists: list[list[int]], block: int, bos: int, eos: int) -> np.ndarray:
    """Concatenate sentences (each ended by </s>) and cut into <s> ... blocks of exactly ``block`` ids."""
    flat = [t for ids in token_lists for t in ids + [eos]]
    body = block - 1
    n = len(flat) // body
    if n == 0:
        return np.zeros((0, block), dtype=np.int64)
    arr = np.asarray(flat[: n * body], dtype=np.int64).reshape(n, body)
    return np.concatenate([np.full((n, 1), bos, dtype=np.int64), arr], axis=1)


def tokenize_corpus(tokenizer, corpus: dict[str, list[str]]) -> dict[str, list[list[int]]]:
    out = {}
    for lang, sents in corpus.items():
        out[lang] = tokenizer(sents, add_special_tokens=False)["input_ids"]
    return out


def save_tokenized(path, tokenized: dict[str, list[list[int]]]) -> None:
    """A tokenised corpus as one .npz: per language its ids (int32) and sentence offsets."""
    arrays = {}
    for lang, lists in tokenized.items():
        arrays[f"{lang}.offsets"] = np.cumsum([0] + [len(x) for x in lists]).astype(np.int64)
        arrays[f"{lang}.ids"] = np.fromiter((t for x in lists for t in x), dtype=np.int32)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_tokenized(path) -> dict[str, list[list[int]]]:
    with np.load(path) as z:
        langs = sorted({k.rsplit(".", 1)[0] for k in z.files})
        out = {}
        for lang in langs:
            ids, off = z[f"{lang}.ids"].tolist(), z[f"{lang}.offsets"].tolist()
            out[lang] = [ids[a:b] for a, b in zip(off, off[1:])]
    return out


def mask_tokens(ids: torch.Tensor, tokenizer, mask_prob: float, gen: torch.Generator, special_ids: torch.Tensor):
    """BERT masking: choose ``mask_prob`` of non-special positions; 80 % <mask>, 10 % random, 10 % kept."""
    labels = ids.clone()
    prob = torch.full(ids.shape, mask_prob)
    prob[torch.isin(ids, special_ids)] = 0.0
    chosen = torch.bernoulli(prob, generator=gen).bool()
    labels[~chosen] = -100
    inputs = ids.clone()
    r = torch.rand(ids.shape, generator=gen)
    inputs[chosen & (r < 0.8)] = tokenizer.mask_token_id
    rand_pos = chosen & (r >= 0.8) & (r < 0.9)
    inputs[rand_pos] = torch.randint(len(special_ids), len(tokenizer), (int(rand_pos.sum()),), generator=gen)
    return inputs, labels


@dataclass
class MLMData:
    train: dict[str, np.ndarray]
    heldout: np.ndarray
    weights: dict[str, float]
    unigram_entropy: float
    parallel: np.ndarray | None = None  # packed translation pairs for TLM rows (XLM), or None
    code_switched: np.ndarray | None = None  # packed code-switched text for code-switched rows, or None


def pack_translation_pairs(tokenizer, pairs: list[dict], seq_length: int, rng: random.Random) -> np.ndarray:
    """XLM's TLM input: a sentence and its translation in one sequence (random order), packed into blocks.

    Each side keeps at most half a block, so a masked word can be recovered from its translation.
    """
    half = (seq_length - 2) // 2 - 1
    xx = tokenizer([p["xx"] for p in pairs], add_special_tokens=False)["input_ids"]
    en = tokenizer([p["en"] for p in pairs], add_special_tokens=False)["input_ids"]
    seqs = []
    for a, b in zip(xx, en):
        a, b = a[:half], b[:half]
        if rng.random() < 0.5:
            a, b = b, a
        seqs.append(a + [tokenizer.eos_token_id] + b)
    rng.shuffle(seqs)
    return pack_blocks(seqs, seq_length, tokenizer.bos_token_id, tokenizer.eos_token_id)


def prepare_mlm_data(
    tokenizer,
    corpus,
    seq_length: int,
    alpha: float,
    heldout_fraction: float = 0.03,
    seed: int = 0,
    pairs: list[dict] | None = None,
    code_switched: list[str] | None = None,
    tokenized: dict[str, list[list[int]]] | None = None,
) -> MLMData:
    """``tokenized``: ``corpus`` already tokenised by ``tokenizer`` (pipeline.step_corpus_tokens), else done here."""
    tok = tokenized if tokenized is not None else tokenize_corpus(tokenizer, corpus)
    rng = random.Random(seed)
    train, held = {}, []
    counts: Counter = Counter()
    for lang, lists in sorted(tok.items()):
        lists = list(lists)
        rng.shuffle(lists)
        blocks = pack_blocks(lists, seq_length, tokenizer.bos_token_id, tokenizer.eos_token_id)
        if len(blocks) == 0:
            continue
        n_held = min(8, max(1, int(len(blocks) * heldout_fraction))) if len(blocks) > 10 else 0
        held.append(blocks[:n_held])
        train[lang] = blocks[n_held:]
        for ids in lists:
            counts.update(ids)
    weights = sampling_weights({l: len(b) for l, b in train.items()}, alpha)
    ent = unigram_entropy(counts)
    heldout = np.concatenate(held) if held else np.zeros((0, seq_length), dtype=np.int64)
    parallel = pack_translation_pairs(tokenizer, pairs, seq_length, rng) if pairs else None
    switched = None
    if code_switched:
        lists = tokenizer(code_switched, add_special_tokens=False)["input_ids"]
        rng.shuffle(lists)
        switched = pack_blocks(lists, seq_length, tokenizer.bos_token_id, tokenizer.eos_token_id)
    return MLMData(train, heldout, weights, ent, parallel, switched)


def mlm_vocabulary(data: MLMData, tokenizer) -> set[int]:
    """Every piece id in the MLM blocks (training, held-out, TLM and code-switched rows) plus the special tokens."""
    blocks = [*data.train.values(), data.heldout, *(b for b in (data.parallel, data.code_switched) if b is not None)]
    ids = set(tokenizer.all_special_ids)
    for b in blocks:
        ids.update(np.unique(b).tolist())
    return ids


def draw_mlm_rows(
    data: MLMData,
    langs: list[str],
    probs: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    tlm_fraction: float = 0.0,
    code_switch_fraction: float = 0.0,
) -> np.ndarray:
    """One batch of blocks: languages drawn by ``probs``; then each row becomes a translation pair (TLM) with
    probability ``tlm_fraction`` or code-switched text with probability ``code_switch_fraction``."""
    lang_idx = rng.choice(len(langs), size=batch_size, p=probs)
    rows = [data.train[langs[li]][rng.integers(len(data.train[langs[li]]))] for li in lang_idx]
    tlm = tlm_fraction if data.parallel is not None and len(data.parallel) else 0.0
    cs = code_switch_fraction if data.code_switched is not None and len(data.code_switched) else 0.0
    if tlm > 0 or cs > 0:  # no extra draws when both are off: plain MLM stays bit-identical to earlier runs
        u = rng.random(batch_size)
        for r in np.flatnonzero(u < tlm):
            rows[r] = data.parallel[rng.integers(len(data.parallel))]
        for r in np.flatnonzero((u >= tlm) & (u < tlm + cs)):
            rows[r] = data.code_switched[rng.integers(len(data.code_switched))]
    return np.stack(rows)


# ------------------------------------------------------------------ MLM as a fine-tuning kind (intermediate.mlm_mix)
# MLM batches interleaved with intermediate-task batches in one loop (xitcore.train.finetune): the blocks are
# features like any task's, masked once when drawn (a block is drawn for each MLM batch the mix needs, so a
# block is seen about as many times as the task's examples are); the head is the checkpoint's own MLM head.


def mix_features(data: MLMData, n: int, tokenizer, mask_prob: float, seed: int) -> list[dict]:
    """``n`` BERT-masked blocks of ``data`` (languages α-sampled by ``data.weights``), each a feature
    ``{"input_ids", "labels"}`` (labels -100 where not masked). Fixed by ``seed``."""
    if n <= 0:
        return []
    langs = sorted(data.weights)
    if not langs:
        raise ValueError("mix_features: the MLM corpus has no blocks")
    probs = np.array([data.weights[l] for l in langs])
    rows = draw_mlm_rows(data, langs, probs / probs.sum(), n, np.random.default_rng(seed))
    gen = torch.Generator().manual_seed(seed)
    special = torch.tensor(sorted(tokenizer.all_special_ids))
    inputs, labels = mask_tokens(torch.as_tensor(rows), tokenizer, mask_prob, gen, special)
    return [{"input_ids": i.tolist(), "labels": l.tolist()} for i, l in zip(inputs, labels)]


def feature_length(f: dict) -> int:
    return len(f["input_ids"])


def collate(feats: list[dict], pad_id: int) -> dict:
    n = max(len(f["input_ids"]) for f in feats)
    ids = torch.full((len(feats), n), pad_id, dtype=torch.long)
    labels = torch.full((len(feats), n), -100, dtype=torch.long)
    for k, f in enumerate(feats):
        ids[k, : len(f["input_ids"])] = torch.tensor(f["input_ids"])
        labels[k, : len(f["labels"])] = torch.tensor(f["labels"])
    return {"input_ids": ids, "attention_mask": (ids != pad_id).long(), "labels": labels}


def loss(model, task: str, batch: dict, device):
    """Cross-entropy at the masked positions only (the vocabulary projection on those rows alone)."""
    hidden = model.encode(batch["input_ids"].to(device), batch["attention_mask"].to(device))
    labels = batch["labels"].to(device)
    sel = labels != -100
    logits = model.heads[task](hidden[sel])
    return torch.nn.functional.cross_entropy(logits.float(), labels[sel])


def loss_units(feature: dict) -> int:
    return max(1, sum(1 for t in feature["labels"] if t != -100))


def mix_size(task_features: int, ratio: float) -> int:
    """MLM blocks that make ``ratio`` of the loop's batches MLM ones: the loop picks a task with probability
    proportional to its features, so n / (n + task_features) = ratio."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mlm_mix ratio must be in [0, 1), got {ratio}")
    return round(task_features * ratio / (1.0 - ratio))
