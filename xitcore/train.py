"""Training and inference loops: packed MLM, length-grouped fine-tuning, zero-shot prediction.

CPU minutes are the scarce resource at smoke scale, so: MLM blocks are packed (no padding at all) and
project onto the vocabulary only at masked positions; fine-tuning batches are grouped by length and
padded dynamically, so almost no compute goes to padding.
"""
from __future__ import annotations

import contextlib
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .metrics import unigram_entropy
from .model import linear_warmup_decay, masked_lm_loss
from .surface import bare_ids, encode_tagging_surface


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _progress(total, desc, enabled=True):
    import sys

    # On a terminal: a live bar. In logs (CI, papermill): a line every 30 s rather than one per step.
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, leave=False, disable=not enabled, mininterval=2.0 if tty else 30.0,
                dynamic_ncols=True)


# ====================================================================== speed options, data parallelism
# Both loops take the same options; their defaults give plain single-process training, unchanged:
#   grad_accum_steps   split each step's batch into that many micro-batches, one optimizer step per batch
#   compile            torch.compile the loss (falls back to eager, with a one-line warning, if that fails)
#   fp16               float16 autocast plus a GradScaler (bf16 needs no scaler: see xitcore.model.autocast)
#   rank, world_size, wrap   data parallel (see xitcore.distributed): every rank draws the same global
#                      batch and trains on its own contiguous share of it; ``wrap`` wraps the loss in DDP.
# ``batch_size`` stays the global batch per optimizer step, so neither option changes a hyper-parameter:
# each micro-batch's mean loss is weighted by its share of the batch's loss units (masked or labelled
# tokens, or examples), which makes the update that of the whole batch, up to float rounding.

def _local_shares(n: int, grad_accum_steps: int, rank: int, world_size: int) -> list[slice]:
    """This rank's micro-batches: slices of a global batch of ``n`` rows (an empty one when n is too small)."""
    if grad_accum_steps < 1 or world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"grad_accum_steps ({grad_accum_steps}) and world_size ({world_size}) must be >= 1, "
                         f"rank ({rank}) in [0, world_size)")
    parts = grad_accum_steps * world_size
    bounds = [n * k // parts for k in range(parts + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(rank * grad_accum_steps, (rank + 1) * grad_accum_steps)]


class _LossModule(torch.nn.Module):
    """The loss as a module: DDP syncs gradients only through a wrapped module's forward; compile wants one too."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, *args):
        return self.loss_fn(self.model, *args)


class _Runner:
    """Forward and backward of (weighted) micro-batches and the optimizer step, for both training loops."""

    def __init__(self, model, loss_fn, *, compile: bool, wrap, fp16: bool, device):
        self.model = model
        self.module = _LossModule(model, loss_fn)
        if wrap is not None:
            self.module = wrap(self.module)
        self.compiled = torch.compile(self.module) if compile else None
        dev = torch.device(device).type
        self.fp16 = (lambda: torch.autocast(dev, dtype=torch.float16)) if fp16 else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler(dev) if fp16 else None
        self.first = True

    def _fall_back(self, e: Exception) -> None:
        msg = (str(e).strip().splitlines() or [""])[0][:160]
        print(f"warning: torch.compile failed here ({type(e).__name__}: {msg}); training without it",
              file=sys.stderr, flush=True)
        self.compiled = None

    def _one(self, args, weight):
        """Forward + backward of one micro-batch; returns its (unweighted) mean loss, detached."""
        while True:
            compiled = self.compiled is not None
            with self.fp16():
                try:
                    loss = (self.compiled if compiled else self.module)(*args)
                except Exception as e:
                    if not compiled:
                        raise
                    self._fall_back(e)
                    continue
            value = loss.detach()
            if weight is not None:  # a share without loss units would be nan: it still runs (DDP), weighted 0
                loss = loss * weight if weight else loss.nan_to_num(0.0) * 0.0
            try:
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            except Exception as e:
                if not (compiled and self.first):  # only the first step has no gradients to lose yet
                    raise
                for p in self.model.parameters():
                    p.grad = None
                self._fall_back(e)
                continue
            self.first = False
            return value

    def accumulate(self, micro: list[tuple], units: list[int] | None = None, total: int = 0, world_size: int = 1):
        """Backward of every micro-batch (a tuple of loss arguments); returns this rank's batch mean loss.

        ``units=None``: one batch, its plain mean loss. Otherwise micro-batch i's mean loss is weighted by
        units[i] * world_size / total (DDP averages gradients over ranks), total = units in the global batch.
        """
        if units is None:
            return self._one(micro[0], None)
        no_sync = getattr(self.module, "no_sync", None)
        out, n = 0.0, 0
        for i, (args, u) in enumerate(zip(micro, units)):
            last = i == len(micro) - 1  # DDP: all-reduce gradients once, after the last micro-batch
            with contextlib.nullcontext() if last or no_sync is None else no_sync():
                value = self._one(args, u * world_size / total if total else 0.0)
            if u:
                out, n = out + value * u, n + u
        return out / n if n else torch.tensor(float("nan"))

    def optimizer_step(self, opt, params) -> None:
        if self.scaler:
            self.scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()


# ====================================================================== MLM

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


def prepare_mlm_data(tokenizer, corpus, seq_length: int, alpha: float, heldout_fraction: float = 0.03,
                     seed: int = 0, pairs: list[dict] | None = None,
                     code_switched: list[str] | None = None) -> MLMData:
    from .corpus import sampling_weights

    tok = tokenize_corpus(tokenizer, corpus)
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


@torch.no_grad()
def mlm_heldout_loss(model, tokenizer, blocks: np.ndarray, mask_prob: float, device, batch_size: int = 64) -> float:
    if len(blocks) == 0:
        return float("nan")
    model.eval()
    gen = torch.Generator().manual_seed(1234)  # fixed masks: comparable across checkpoints
    special = torch.tensor(sorted(tokenizer.all_special_ids))
    total, n = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        ids = torch.from_numpy(blocks[i:i + batch_size])
        inputs, labels = mask_tokens(ids, tokenizer, mask_prob, gen, special)
        k = int((labels != -100).sum())
        if k == 0:
            continue
        loss = masked_lm_loss(model, inputs.to(device), labels.to(device))
        total += float(loss) * k
        n += k
    model.train()
    return total / max(n, 1)


def draw_mlm_rows(data: MLMData, langs: list[str], probs: np.ndarray, batch_size: int, rng: np.random.Generator,
                  tlm_fraction: float = 0.0, code_switch_fraction: float = 0.0) -> np.ndarray:
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


def train_mlm(model, tokenizer, data: MLMData, *, steps: int, batch_size: int, lr: float, warmup: int,
              weight_decay: float, mask_prob: float, seed: int, device, progress: bool = True,
              desc: str = "MLM", eval_every: int = 0, tlm_fraction: float = 0.0, code_switch_fraction: float = 0.0,
              grad_accum_steps: int = 1,
              compile: bool = False, fp16: bool = False, rank: int = 0, world_size: int = 1, wrap=None) -> dict:
    """Packed MLM; ``batch_size`` rows per optimizer step in all (speed and DDP options: see above)."""
    set_seed(seed)
    model.to(device).train()
    plain = grad_accum_steps == 1 and world_size == 1
    shares = _local_shares(batch_size, grad_accum_steps, rank, world_size)
    if not plain and any(s.stop == s.start for s in shares):
        raise ValueError(f"MLM batch_size {batch_size} is smaller than grad_accum_steps x world_size "
                         f"({grad_accum_steps} x {world_size})")
    runner = _Runner(model, masked_lm_loss, compile=compile, wrap=wrap, fp16=fp16, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98), eps=1e-6)
    sched = linear_warmup_decay(opt, warmup, steps)
    gen = torch.Generator().manual_seed(seed)
    special = torch.tensor(sorted(tokenizer.all_special_ids))
    langs = sorted(data.train)
    probs = np.array([data.weights[l] for l in langs])
    rng = np.random.default_rng(seed)
    curve, t0, tokens = [], time.time(), 0
    eval_every = eval_every or max(1, steps // 5)
    bar = _progress(steps, desc, progress)
    running = None
    for step in range(steps):
        ids = torch.from_numpy(draw_mlm_rows(data, langs, probs, batch_size, rng, tlm_fraction, code_switch_fraction))
        inputs, labels = mask_tokens(ids, tokenizer, mask_prob, gen, special)
        if plain:
            loss = runner.accumulate([(inputs.to(device), labels.to(device))])
        else:  # the logged loss is this rank's share's; tokens below count the global batch (all ranks)
            masked = labels != -100
            loss = runner.accumulate([(inputs[s].to(device), labels[s].to(device)) for s in shares],
                                     [int(masked[s].sum()) for s in shares], int(masked.sum()), world_size)
        tokens += ids.numel()
        runner.optimizer_step(opt, model.parameters())
        sched.step()
        opt.zero_grad(set_to_none=True)
        lv = loss.item()
        running = lv if running is None else 0.95 * running + 0.05 * lv
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}", refresh=False)
        if (step + 1) % eval_every == 0 or step == steps - 1:
            curve.append({"step": step + 1, "train_loss": round(running, 4),
                          "heldout_loss": round(mlm_heldout_loss(model, tokenizer, data.heldout, mask_prob, device), 4),
                          "seconds": round(time.time() - t0, 1)})
    bar.close()
    secs = time.time() - t0
    out = {"curve": curve, "train_seconds": round(secs, 1), "tokens_per_second": round(tokens / max(secs, 1e-9), 1),
           "final_heldout_loss": curve[-1]["heldout_loss"] if curve else float("nan")}
    return out if plain else {**out, "grad_accum_steps": grad_accum_steps, "world_size": world_size}


# ====================================================================== features

def bare_piece_ids(tokenizer) -> set[int]:
    """Ids of pieces that carry no characters of the word (the Metaspace marker alone)."""
    return bare_ids(tokenizer)


def encode_tagging(tokenizer, examples: list[dict], label2id: dict | None, max_length: int) -> list[dict]:
    """Words -> windows of subword ids; each word labelled at its first non-bare subword.

    Sentences longer than ``max_length`` are split into windows at word boundaries; no word is dropped.

    Examples carrying ``text`` and ``spans`` (see ``xitcore.surface.surface_example``) are tokenised as surface
    text instead, by ``xitcore.surface.encode_tagging_surface`` (same output; words of one surface token share a
    position). Without them each word is tokenised on its own, as before.
    """
    with_surface = sum("text" in ex and "spans" in ex for ex in examples)
    if with_surface:
        if with_surface != len(examples):
            raise ValueError(f"encode_tagging: {with_surface} of {len(examples)} examples carry text and spans; "
                             "either all or none must")

        return encode_tagging_surface(tokenizer, examples, label2id, max_length)
    bare = bare_piece_ids(tokenizer)
    word_lists = [ex["words"] for ex in examples]
    enc = tokenizer(word_lists, is_split_into_words=True, add_special_tokens=False)
    body = max_length - 2
    feats = []
    for i, ex in enumerate(examples):
        ids, wids = enc["input_ids"][i], enc.word_ids(i)
        pieces = [[] for _ in ex["words"]]
        for tid, w in zip(ids, wids):
            if w is not None:
                pieces[w].append(tid)
        windows, cur, cur_len = [], [], 0
        for w, p in enumerate(pieces):
            if not p:
                pieces[w] = p = [tokenizer.unk_token_id]
            p = pieces[w] = p[:body]
            if cur and cur_len + len(p) > body:
                windows.append(cur)
                cur, cur_len = [], 0
            cur.append(w)
            cur_len += len(p)
        if cur:
            windows.append(cur)
        for win in windows:
            input_ids, positions = [tokenizer.bos_token_id], []
            for w in win:
                p = pieces[w]
                first = next((k for k, t in enumerate(p) if t not in bare), 0)
                positions.append(len(input_ids) + first)
                input_ids += p
            input_ids.append(tokenizer.eos_token_id)
            labels = [-100] * len(input_ids)
            if label2id is not None:
                for w, pos in zip(win, positions):
                    labels[pos] = label2id.get(ex["tags"][w], -100)
            feats.append({"input_ids": input_ids, "labels": labels, "example": i, "words": win, "positions": positions})
    return feats


def encode_classification(tokenizer, examples, max_length):
    a = [ex["text_a"] for ex in examples]
    b = [ex["text_b"] for ex in examples]
    if all(x is None for x in b):
        enc = tokenizer(a, truncation=True, max_length=max_length)
    else:
        enc = tokenizer(a, [x or "" for x in b], truncation="longest_first", max_length=max_length)
    return [{"input_ids": enc["input_ids"][i], "label": ex["label"]} for i, ex in enumerate(examples)]


COPA_CONNECTIVE = {"cause": "because", "effect": "so"}  # a fixed English template, as in jiant's COPA


def encode_multiple_choice(tokenizer, examples, max_length):
    feats = []
    for ex in examples:
        a = f"{ex['premise']} {COPA_CONNECTIVE.get(ex['question'], ex['question'])}"
        enc = tokenizer([a] * len(ex["choices"]), ex["choices"], truncation=True, max_length=max_length)
        feats.append({"choices": enc["input_ids"], "label": ex["label"], "lang": ex.get("lang")})
    return feats


def encode_qa(tokenizer, examples, max_length, stride: int = 32):
    """SQuAD-style windows over long contexts (with stride); the answer span, or <s> when not in the window."""
    # Keep room for the context: questions are cut to a third of the window, the stride to a quarter.
    limit = max_length // 3
    stride = min(stride, max_length // 4)
    q_ids = tokenizer([ex["question"] for ex in examples], add_special_tokens=False)["input_ids"]
    questions = [ex["question"] if len(ids) <= limit else tokenizer.decode(ids[:limit])
                 for ex, ids in zip(examples, q_ids)]
    enc = tokenizer(questions, [ex["context"] for ex in examples], truncation="only_second",
                    max_length=max_length, stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True)
    feats = []
    for j, ids in enumerate(enc["input_ids"]):
        ex = examples[enc["overflow_to_sample_mapping"][j]]
        s_char = ex["answer_start"]
        e_char = s_char + len(ex["answer_text"])
        seq = enc.sequence_ids(j)
        offs = enc["offset_mapping"][j]
        start = end = 0
        ctx = [k for k, s in enumerate(seq) if s == 1]
        if ctx and offs[ctx[0]][0] <= s_char and offs[ctx[-1]][1] >= e_char:
            start = next(k for k in ctx if offs[k][1] > s_char)
            end = next(k for k in reversed(ctx) if offs[k][0] < e_char)
        feats.append({"input_ids": ids, "start": start, "end": end})
    return feats


def encode_task(spec, tokenizer, examples, max_length):
    if spec.kind == "tagging":
        l2i = {l: i for i, l in enumerate(spec.labels)}
        return encode_tagging(tokenizer, examples, l2i, max_length)
    if spec.kind == "classification":
        return encode_classification(tokenizer, examples, max_length)
    if spec.kind == "multiple_choice":
        return encode_multiple_choice(tokenizer, examples, max_length)
    if spec.kind == "qa":
        return encode_qa(tokenizer, examples, max_length)
    raise ValueError(spec.kind)


# ====================================================================== batching

def _pad(seqs, value):
    n = max(len(s) for s in seqs)
    out = torch.full((len(seqs), n), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def _feature_len(f):
    return max(len(c) for c in f["choices"]) if "choices" in f else len(f["input_ids"])


def length_grouped_batches(feats, batch_size: int, rng: random.Random, group: int = 50):
    """Shuffle, sort within mega-batches of ``group`` batches by length, shuffle the batches."""
    idx = list(range(len(feats)))
    rng.shuffle(idx)
    batches = []
    mega = batch_size * group
    for i in range(0, len(idx), mega):
        chunk = sorted(idx[i:i + mega], key=lambda k: _feature_len(feats[k]))
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(kind: str, feats, pad_id: int):
    if kind == "multiple_choice":
        flat = [c for f in feats for c in f["choices"]]
        ids = _pad(flat, pad_id)
        return {"input_ids": ids, "attention_mask": (ids != pad_id).long(), "n_choices": len(feats[0]["choices"]),
                "labels": torch.tensor([f["label"] for f in feats])}
    ids = _pad([f["input_ids"] for f in feats], pad_id)
    batch = {"input_ids": ids, "attention_mask": (ids != pad_id).long()}
    if kind == "tagging":
        batch["labels"] = _pad([f["labels"] for f in feats], -100)
    elif kind == "classification":
        batch["labels"] = torch.tensor([f["label"] for f in feats])
    elif kind == "qa":
        batch["start"] = torch.tensor([f["start"] for f in feats])
        batch["end"] = torch.tensor([f["end"] for f in feats])
    return batch


def task_loss(model, task: str, kind: str, batch, device):
    ids = batch["input_ids"].to(device)
    mask = batch["attention_mask"].to(device)
    if kind == "tagging":
        h = model.encode(ids, mask)
        labels = batch["labels"].to(device)
        sel = labels != -100
        logits = model.heads[task](h[sel])  # only labelled positions
        return F.cross_entropy(logits, labels[sel])
    out = model(task, ids, mask)
    if kind == "classification":
        return F.cross_entropy(out, batch["labels"].to(device))
    if kind == "multiple_choice":
        return F.cross_entropy(out.view(-1, batch["n_choices"]), batch["labels"].to(device))
    if kind == "qa":
        s, e = out
        s = s.masked_fill(mask == 0, -1e4)
        e = e.masked_fill(mask == 0, -1e4)
        return (F.cross_entropy(s, batch["start"].to(device)) + F.cross_entropy(e, batch["end"].to(device))) / 2
    raise ValueError(kind)


def _loss_units(kind: str, feature: dict) -> int:
    """What ``task_loss`` averages over: labelled tokens for tagging, examples otherwise."""
    return sum(l != -100 for l in feature["labels"]) if kind == "tagging" else 1


def finetune(model, tasks: dict[str, tuple[str, list[dict]]], *, steps: int, batch_size: int, lr: float,
             warmup: int, seed: int, pad_id: int, device, progress: bool = True, desc: str = "fine-tune",
             grad_accum_steps: int = 1, compile: bool = False, fp16: bool = False, rank: int = 0,
             world_size: int = 1, wrap=None) -> dict:
    """Train ``model`` on one or more tasks ({name: (kind, features)}) for ``steps`` optimizer steps.

    Multi-task: each step picks a task with probability proportional to its number of features
    (examples-proportional mixing); every task keeps its own length-grouped batch stream.
    ``batch_size`` features per optimizer step in all (speed and DDP options: see above).
    """
    set_seed(seed)
    model.to(device).train()
    plain = grad_accum_steps == 1 and world_size == 1
    runner = _Runner(model, task_loss, compile=compile, wrap=wrap, fp16=fp16, device=device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = linear_warmup_decay(opt, warmup, steps)
    rng = random.Random(seed)
    names = sorted(tasks)
    sizes = [len(tasks[n][1]) for n in names]
    streams: dict[str, list] = {}
    losses = {n: [] for n in names}
    t0 = time.time()
    bar = _progress(steps, desc, progress)
    for step in range(steps):
        name = rng.choices(names, weights=sizes)[0]
        kind, feats = tasks[name]
        if not streams.get(name):
            streams[name] = length_grouped_batches(feats, batch_size, rng)
        chosen = [feats[k] for k in streams[name].pop()]
        if plain:
            loss = runner.accumulate([(name, kind, collate(kind, chosen, pad_id), device)])
        else:
            units = [_loss_units(kind, f) for f in chosen]
            shares = _local_shares(len(chosen), grad_accum_steps, rank, world_size)
            # A stream's last batch can be short: an empty share runs one example weighted 0 (DDP stays in step).
            micro = [(name, kind, collate(kind, chosen[s] or chosen[:1], pad_id), device) for s in shares]
            loss = runner.accumulate(micro, [sum(units[s]) for s in shares], sum(units), world_size)
        runner.optimizer_step(opt, params)
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses[name].append(loss.item())
        bar.update(1)
        bar.set_postfix(task=name, loss=f"{losses[name][-1]:.3f}", refresh=False)
    bar.close()
    out = {"train_seconds": round(time.time() - t0, 1), "steps": steps}
    if not plain:
        out.update(grad_accum_steps=grad_accum_steps, world_size=world_size)
    for n, ls in losses.items():
        if ls:
            k = max(1, len(ls) // 10)
            out[f"{n}_first_loss"] = round(float(np.mean(ls[:k])), 4)
            out[f"{n}_last_loss"] = round(float(np.mean(ls[-k:])), 4)
            out[f"{n}_steps"] = len(ls)
    return out


# ====================================================================== inference

@torch.no_grad()
def predict_tagging(model, task: str, tokenizer, examples: list[dict], labels: list[str], max_length: int, device,
                    batch_size: int = 64) -> list[list[str]]:
    """Predicted tag for every word of every example (windows stitched back together).

    Each word reads the prediction at its own ``positions`` entry, so words sharing a position (the parts of a
    multiword token under surface tokenisation) each get a tag: the one predicted at that position.
    """
    model.eval()
    feats = encode_tagging(tokenizer, examples, None, max_length)
    preds = [[None] * len(ex["words"]) for ex in examples]
    order = sorted(range(len(feats)), key=lambda k: len(feats[k]["input_ids"]))
    for i in range(0, len(order), batch_size):
        chunk = [feats[k] for k in order[i:i + batch_size]]
        ids = _pad([f["input_ids"] for f in chunk], tokenizer.pad_token_id).to(device)
        logits = model(task, ids, (ids != tokenizer.pad_token_id).long())
        best = logits.argmax(-1).cpu()
        for f, row in zip(chunk, best):
            for w, pos in zip(f["words"], f["positions"]):
                preds[f["example"]][w] = labels[int(row[pos])]
    missing = [(i, w) for i, p in enumerate(preds) for w, t in enumerate(p) if t is None]
    if missing:  # every encoder puts each word in exactly one window; a gap is a bug, not a tag
        raise RuntimeError(f"predict_tagging: {len(missing)} words got no prediction, first (example, word) "
                           f"{missing[0]}")
    model.train()
    return preds


@torch.no_grad()
def predict_multiple_choice(model, task: str, tokenizer, examples, max_length, device, batch_size: int = 32) -> list[int]:
    model.eval()
    feats = encode_multiple_choice(tokenizer, examples, max_length)
    out = []
    for i in range(0, len(feats), batch_size):
        b = collate("multiple_choice", feats[i:i + batch_size], tokenizer.pad_token_id)
        scores = model(task, b["input_ids"].to(device), b["attention_mask"].to(device)).view(-1, b["n_choices"])
        out += scores.argmax(-1).cpu().tolist()
    model.train()
    return out


@torch.no_grad()
def embed_sentences(encoder, tokenizer, sentences: list[str], layer: int, max_length: int, device,
                    batch_size: int = 64) -> np.ndarray:
    """Mean-pooled hidden states of one layer, no training (the sentence embeddings of XTREME's Tatoeba/BUCC
    protocol). Tatoeba is scored in XTREME's direction by the caller: each English sentence is the query over the
    other language's sentences (pipeline.step_tatoeba: retrieval_top1(en, xx))."""
    encoder.eval()
    order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
    out = np.zeros((len(sentences), encoder.config.hidden_size), dtype=np.float32)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        enc = tokenizer([sentences[k] for k in idx], truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        hs = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer]
        m = mask.unsqueeze(-1).to(hs.dtype)
        pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1)
        out[idx] = pooled.float().cpu().numpy()
    encoder.train()
    return out
