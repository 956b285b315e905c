"""Tokenizer, XLM-R encoder and task heads.

The encoder is transformers' XLM-R (``XLMRobertaConfig``/``XLMRobertaForMaskedLM``), from scratch for the
smoke and gpu-small presets, or ``xlm-roberta-large`` from the hub for the paper preset. Task heads are
small modules on top of one shared encoder so that multi-task intermediate training shares it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import ConfigError

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

# CJK characters are split one by one (like BERT's CJK handling) so that segmented UD words and
# unsegmented raw text tokenise the same way.
_CJK = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]"


def build_tokenizer_object(vocab_size: int, texts: Iterable[str], algorithm: str = "bpe", limit_alphabet: int = 2000):
    """Train a SentencePiece-style tokenizer (``▁`` word-start marker) with the ``tokenizers`` library.

    Pre-tokenisation isolates punctuation and CJK characters before the Metaspace step, so raw MLM text
    ("world,") and pre-split treebank words ("world", ",") become the same pieces ("▁world", "▁,").
    BPE is the default: with a small vocabulary, Unigram here split ~12 % of all pieces off as a bare
    ``▁`` (49 % for Chinese), doubling many words' length; BPE merges the marker into the word (0.1 %).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    texts = list(texts)
    tok = Tokenizer(models.BPE(unk_token="<unk>") if algorithm == "bpe" else models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Punctuation(behavior="isolated"),
            pre_tokenizers.Split(Regex(_CJK), behavior="isolated"),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    if algorithm == "bpe":
        # The trainer's own cut to ``limit_alphabet`` characters breaks ties in hash order, so two runs gave
        # different alphabets and token ids; choosing the characters here (by count, then code point) and
        # passing them as the initial alphabet makes the tokenizer, and so every later step, repeatable.
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL_TOKENS,
            min_frequency=2,
            limit_alphabet=limit_alphabet,
            show_progress=False,
            initial_alphabet=top_characters(tok, texts, limit_alphabet),
        )
    else:
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL_TOKENS,
            unk_token="<unk>",
            max_piece_length=12,
            show_progress=False,
        )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return tok


def top_characters(tok, texts: list[str], limit: int) -> list[str]:
    """The ``limit`` most frequent characters of ``texts`` as the tokenizer's normalizer sees them (with the
    ``▁`` word marker), ties broken by code point."""
    from collections import Counter

    counts: Counter = Counter()
    for t in texts:
        counts.update(tok.normalizer.normalize_str(t))
    counts["▁"] = max(counts.values(), default=0) + 1
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if not c.isspace()][:limit]


def train_tokenizer(
    vocab_size: int, texts: Iterable[str], out_dir: Path, algorithm: str = "bpe", limit_alphabet: int = 2000
):
    from transformers import PreTrainedTokenizerFast

    tok = build_tokenizer_object(vocab_size, texts, algorithm, limit_alphabet)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )
    fast.save_pretrained(str(out_dir))
    return fast


def load_tokenizer(path_or_name: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path_or_name))


def encoder_config(model_cfg, vocab_size: int, tokenizer):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=vocab_size,
        hidden_size=model_cfg.hidden_size,
        num_hidden_layers=model_cfg.num_layers,
        num_attention_heads=model_cfg.num_heads,
        intermediate_size=model_cfg.intermediate_size,
        hidden_dropout_prob=model_cfg.dropout,
        attention_probs_dropout_prob=model_cfg.dropout,
        max_position_embeddings=model_cfg.max_length + 4,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def new_mlm_model(model_cfg, tokenizer):
    from transformers import XLMRobertaForMaskedLM

    cfg = encoder_config(model_cfg, len(tokenizer), tokenizer)
    cfg._attn_implementation = "sdpa"
    return XLMRobertaForMaskedLM(cfg)


def load_mlm_model(path_or_name: str):
    """An encoder with its MLM head: XLM-R checkpoints, or a BERT-architecture encoder (multilingual-e5-small) whose
    missing head is created here, tied to the input embeddings (new transform and bias, seeded by the caller)."""
    from transformers import AutoModelForMaskedLM

    return AutoModelForMaskedLM.from_pretrained(str(path_or_name), attn_implementation="sdpa")


def load_encoder(path_or_name: str):
    """Load the encoder (``XLMRobertaModel`` or ``BertModel``) from an MLM or encoder checkpoint dir or a hub id."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(path_or_name), add_pooling_layer=False, attn_implementation="sdpa")


def checkpoint_pooler(path_or_name: str) -> dict[str, torch.Tensor]:
    """The pooler (dense + tanh on the first token) of a pretrained checkpoint's ``model.safetensors`` (a local
    dir or a hub id), as ``{"weight", "bias"}`` of a dense layer: ``model.pooling: pooler`` initialises the sentence
    heads' dense layer with it. ConfigError (one line) if the checkpoint has none (e5 has no pooler)."""
    from safetensors import safe_open

    where = Path(str(path_or_name))
    if where.is_dir():
        file = where / "model.safetensors"
    else:
        try:
            from huggingface_hub import hf_hub_download

            file = Path(hf_hub_download(str(path_or_name), "model.safetensors"))
        except Exception as e:  # offline, unknown id, no safetensors file
            raise ConfigError(
                f"model.pooling 'pooler': cannot read model.safetensors of '{path_or_name}' ({type(e).__name__}); "
                f"allowed without it: mean, cls"
            ) from None
    if not file.is_file():
        raise ConfigError(f"model.pooling 'pooler': {file} does not exist; allowed without it: mean, cls")
    with safe_open(str(file), "pt") as f:
        names = {k.rsplit("pooler.dense.", 1)[-1]: k for k in f.keys() if "pooler.dense." in k}  # noqa: SIM118
        if set(names) != {"weight", "bias"}:
            raise ConfigError(
                f"model.pooling 'pooler': checkpoint '{path_or_name}' has no pooler; allowed for it: mean, cls"
            )
        return {k: f.get_tensor(v) for k, v in names.items()}


def mlm_head(mlm_model):
    """The vocabulary head of an ``*ForMaskedLM`` model (XLM-R: ``lm_head``; BERT: ``cls``)."""
    head = getattr(mlm_model, "lm_head", None)
    return head if head is not None else mlm_model.cls


def masked_lm_loss(mlm_model, input_ids, labels, attention_mask=None):
    """MLM loss that projects onto the vocabulary only at masked positions (-100 elsewhere).

    The vocabulary projection dominates a small model's cost; doing it for ~15 % of positions saves most of it.
    """
    hidden = mlm_model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    sel = labels != -100
    vocab = getattr(mlm_model, "xit_output_vocab", None)
    if vocab is None:
        logits = mlm_head(mlm_model)(hidden[sel])
        return F.cross_entropy(logits.float(), labels[sel])
    ids, remap = vocab
    return F.cross_entropy(_restricted_logits(mlm_head(mlm_model), hidden[sel], ids).float(), remap[labels[sel]])


def _restricted_logits(head, h, ids):
    """The MLM head's logits over the vocabulary rows ``ids`` only (same weights, a smaller softmax)."""
    if hasattr(head, "predictions"):  # BERT: transform (dense, act, LayerNorm), tied decoder + bias
        x, dec = head.predictions.transform(h), head.predictions.decoder
    else:  # XLM-R: dense, gelu, layer_norm, tied decoder + bias
        x, dec = head.layer_norm(F.gelu(head.dense(h))), head.decoder
    return F.linear(x, dec.weight[ids], dec.bias[ids])


def restrict_output_vocab(mlm_model, ids) -> None:
    """MLM softmax over ``ids`` (the pieces of the MLM data, ``mlm.output_vocab: corpus``) instead of the full
    vocabulary: every target is among them; with a 250k-piece vocabulary the projection dominated a step."""
    ids = torch.as_tensor(sorted(set(int(i) for i in ids)), dtype=torch.long)
    remap = torch.full((mlm_head_rows(mlm_model),), -100, dtype=torch.long)
    remap[ids] = torch.arange(len(ids))
    mlm_model.xit_output_vocab = (ids, remap)


def mlm_head_rows(mlm_model) -> int:
    return mlm_model.get_output_embeddings().weight.shape[0]


def keep_first_layers(model, n: int):
    """Drop every transformer layer after the first ``n`` (``n = 0``: keep all); works on encoders and MLM models."""
    layers = model.base_model.encoder.layer
    if 0 < n < len(layers):
        model.base_model.encoder.layer = layers[:n]
        model.config.num_hidden_layers = n
    elif n > len(layers):
        raise ConfigError(f"model.keep_layers is {n} but the model has {len(layers)} layers; allowed: 0-{len(layers)}")
    return model


def reinitialise(model, seed: int):
    """The same architecture with fresh random weights (``model.random_init``: the no-pretraining control)."""
    torch.manual_seed(seed)
    return type(model)(model.config)


def freeze_word_embeddings(encoder) -> None:
    encoder.get_input_embeddings().weight.requires_grad_(False)


def freeze_lower(encoder, model_cfg) -> None:
    """``model.freeze_word_embeddings`` and ``model.freeze_layers`` on an encoder (or an MLM model's base model)."""
    if model_cfg.freeze_word_embeddings:
        freeze_word_embeddings(encoder)
    if model_cfg.freeze_layers:
        for p in encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in encoder.encoder.layer[: model_cfg.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)


class MultiTaskModel(nn.Module):
    """One shared XLM-R encoder, one head per task."""

    def __init__(self, encoder, heads: dict[str, nn.Module]):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        self.prefix = None  # xitcore.frozen.FrozenPrefix: frozen lower layers read from their stored output

    def use_frozen_prefix(self, prefix) -> None:
        """Read the frozen lower layers' output from ``prefix`` (xitcore.frozen) instead of recomputing it."""
        self.prefix = prefix

    def encode(self, input_ids, attention_mask=None):
        if self.prefix is not None:
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            return self.prefix.encode(input_ids, attention_mask)
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(self, task: str, input_ids, attention_mask=None):
        head = self.heads[task]
        h = self.encode(input_ids, attention_mask)
        return head(h, attention_mask) if getattr(head, "takes_mask", False) else head(h)  # sentence heads pool

    def save(self, out_dir: Path, head_specs: dict):
        from safetensors.torch import save_file

        out_dir = Path(out_dir)
        self.encoder.save_pretrained(str(out_dir))
        state = {f"{t}.{k}": v.contiguous() for t, h in self.heads.items() for k, v in h.state_dict().items()}
        if state:
            save_file(state, str(out_dir / "heads.safetensors"))
        (out_dir / "heads.json").write_text(json.dumps(head_specs, indent=2))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def linear_warmup_decay(optimizer, warmup: int, total: int):
    def f(step):
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, f)


_PRECISION_CACHE: dict[str, tuple[str, str]] = {}


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(setting: str, device: torch.device) -> tuple[str, str]:
    """(precision, why) for ``precision: auto``: bf16 autocast where the device multiplies bf16 fast (a CUDA device
    that supports it; a CPU with AMX or AVX512-BF16 units), fp32 elsewhere (a CPU without them emulates bf16: on
    an AVX2 machine a bf16 forward of the e5-small preset's encoder took 7x as long as fp32). Decided once per
    process and device; ``fp32``/``bf16`` are returned as set."""
    if setting != "auto":
        return setting, "set in the params"
    if device.type not in _PRECISION_CACHE:
        if device.type == "cuda" and not torch.cuda.is_available():  # planning a GPU run on a machine without one
            ok, why = True, "a CUDA device is assumed to support bf16 (none here to ask)"
        elif device.type == "cuda":
            ok = torch.cuda.is_bf16_supported()
            name = torch.cuda.get_device_name(device)
            why = f"{name} {'supports' if ok else 'does not support'} bf16"
        else:
            units = sorted({"amx_bf16", "avx512_bf16"} & cpu_flags())
            ok = bool(units)
            why = f"CPU with {', '.join(units)}" if ok else "CPU without bf16 matrix units (amx_bf16, avx512_bf16)"
        _PRECISION_CACHE[device.type] = ("bf16" if ok else "fp32", f"auto: {why}")
    return _PRECISION_CACHE[device.type]


def autocast(precision: str, device: torch.device):
    """bf16 autocast for matmuls (weights and optimizer stay fp32); a no-op context for fp32.

    The context wraps whole steps (training loop included), so autocast's weight cache is off: with it, the bf16
    copy of each weight made at the first forward was reused until the context closed, every later forward ignored
    the optimizer's updates, and nothing was learnt (dev UPOS 14.5 against 78.9 in fp32; book, Log of trials)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16", cache_enabled=False)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but no CUDA device is available; allowed here: cpu, auto")
    return torch.device(name)
