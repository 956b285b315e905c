"""The three-phase experiment as a graph of resumable steps in the run store.

corpus -> tokenizer -> mlm (phase i, shared by every condition of a preset)
       -> intermediate (phase ii, per condition and seed; absent for no-intermediate)
       -> target pos / ner, or an XTREME-R task on hub data (phase iii, per seed), zero-shot per language
Tatoeba retrieval is evaluated on the checkpoint after each phase. A step's key hashes exactly the
config it depends on plus its parents' keys, so conditions that share a step share its directory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from . import overlap, tasks
from .baselines import pos_baselines
from .config import (
    INTERMEDIATE_KEY_DEFAULTS,
    MODEL_KEY_DEFAULTS,
    ExperimentConfig,
    config_hash,
    config_identity,
    portable_path,
)
from .corpus import build_corpus, build_mc4_corpus, corpus_data_sets, read_corpus, read_parallel
from .data import read_conllu, read_tatoeba, read_xcopa
from .data.paths import DATA_ROOT, TATOEBA_ISO3, ud_file
from .data.treebanks import (
    NER_TYPES,
    load_conll2002_eval,
    load_ner_eval,
    load_ner_train,
    load_pos_dev,
    load_pos_eval,
    load_uner_eval,
    ner_file_keys,
    pos_dev_sentences,
    pos_eval_sentences,
    pos_treebank_keys,
)
from .errors import ConfigError, DataError
from .frozen import ACTIVATIONS, FrozenPrefix, sequences_of, unique_sequences
from .metrics import multiple_choice_accuracy, ner_scores, pos_accuracy, retrieval_top1, xtreme_seqeval_f1
from .model import (
    MultiTaskModel,
    autocast,
    count_parameters,
    freeze_lower,
    keep_first_layers,
    load_encoder,
    load_mlm_model,
    load_tokenizer,
    mlm_head,
    new_mlm_model,
    pick_device,
    reinitialise,
    resolve_precision,
    restrict_output_vocab,
    train_tokenizer,
)
from .multilingual.dictionary import DICTIONARY_SETTINGS, code_switch, dictionary_summary, induce_dictionary
from .runstore import RunStore, Step, StepNode, atomic_write_json
from .surface import surface_layout
from .tasks import classification, multiple_choice, qa, tagging
from .tasks.mlm import (
    load_tokenized,
    mix_features,
    mix_size,
    mlm_vocabulary,
    prepare_mlm_data,
    save_tokenized,
    tokenize_corpus,
)
from .tasks.retrieval import bucc_candidates, bucc_f1, embed_sentences, load_bucc
from .train import finetune, mlm_heldout_loss, set_seed, train_mlm, train_mlm_head

LOG_PREFIX = "[xit]"


def quiet_transformers() -> None:
    """Load reports and per-file progress bars of transformers drown the pipeline's own progress."""
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def log(msg: str) -> None:
    print(f"{LOG_PREFIX} {msg}", flush=True)


def _asdict(x):
    return dataclasses.asdict(x)


def _data_files(*rel: str) -> list[Path]:

    out = []
    for r in rel:
        out += sorted(Path(DATA_ROOT).glob(r))
    return out


def precision_of(cfg: ExperimentConfig) -> str:
    """The precision the steps run in: ``precision`` as set, or for ``auto`` bf16 where the device has fast bf16
    matrix units and fp32 elsewhere (model.resolve_precision), decided once per process and device."""
    if cfg.precision != "auto":
        return cfg.precision
    cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    return resolve_precision(cfg.precision, torch.device("cuda" if cuda else "cpu"))[0]


def _in_precision(cfg: ExperimentConfig, fn):
    """Run a step function under the resolved precision's autocast (bf16 matmuls) on the configured device; the
    precision goes into the run record."""

    def wrapped(work: Path) -> dict:
        precision = precision_of(cfg)
        with autocast(precision, pick_device(cfg.device)):
            out = fn(work)
        return {**out, "precision": precision} if isinstance(out, dict) else out

    return wrapped


def _precision_key(cfg: ExperimentConfig) -> dict:
    p = precision_of(cfg)
    # fp32 keys stay as before the option; bf16 steps made with autocast's weight cache on learnt nothing (see
    # model.autocast), so theirs carry the fix and never reuse such a step
    return {"precision": p, "autocast_cache": False} if p != "fp32" else {}


def _setup_threads(cfg: ExperimentConfig) -> torch.device:

    quiet_transformers()
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    return pick_device(cfg.device)


# ---------------------------------------------------------------------------------------- phase (i)


def step_corpus(store: RunStore, cfg: ExperimentConfig) -> StepNode:

    cc = cfg.corpus
    corpus = {k: v for k, v in _asdict(cc).items() if k not in ("source", "mc4_files")}  # shipped keys as before
    payload = {"corpus": corpus, "version": 2}  # 2: adds parallel.jsonl.gz
    if cc.source == "mc4":
        payload["source"] = {
            "mc4": _mc4_files_key(cc.mc4_files) if cc.mc4_files else "allenai/c4 (hub)",
            "seed": cfg.mlm.seed,
        }
    cache = store.root / ".cache" / "corpus-mc4" / store.step("corpus", payload).key

    def fn(work: Path) -> dict:
        if cc.source == "mc4":
            log(
                f"building the MLM corpus from mC4 ({cc.mc4_files or 'streamed from the hub'}; resumable, "
                f"evaluated sentences excluded)"
            )
            stats = build_mc4_corpus(
                work / "text",
                cc.languages,
                cc.max_sentences_per_language,
                alpha=cc.alpha,
                seed=cfg.mlm.seed,
                files=cc.mc4_files,
                cache_dir=cache,
            )
            shutil.rmtree(cache, ignore_errors=True)  # finished: the step holds the corpus now
            return stats
        log("building the multilingual MLM corpus (evaluation sentences excluded)")
        return build_corpus(work / "text", cc.languages, cc.max_sentences_per_language)

    return store.node("corpus", payload, fn, data_files=_data_files("**/*.gz", "**/*.zip"))


def _mc4_files_key(directory: str) -> str:
    """What identifies local mC4 shards in the corpus key: their names and sizes (moving the folder keeps results)."""
    files = sorted(Path(directory).glob("c4-*.json.gz"))
    return config_hash([(f.name, f.stat().st_size) for f in files])


def step_encoder(store: RunStore, cfg: ExperimentConfig) -> StepNode | None:
    """A packaged model (``model.init: packaged:<package>``) converted once into a ``save_pretrained`` directory,
    keyed by the file's SHA-256; None for other inits (scratch, hub ids and local dirs load directly)."""
    if not cfg.model.init.startswith("packaged:"):
        return None
    from . import packaged

    path = packaged.locate(cfg.model.init.split(":", 1)[1])  # a missing package is one ConfigError line
    sha = packaged.sha256_of(path)
    payload = {"init": cfg.model.init, "file": path.name, "sha256": sha, "converter": packaged.CONVERTER_VERSION}

    def fn(work: Path) -> dict:
        log(
            f"converting {path.name} ({packaged.PACKAGE} {packaged.package_version()}, 4-bit weights) into a "
            f"save_pretrained directory"
        )
        return packaged.convert(path, work / "model", sha256=sha)  # parses and checks it all before writing

    return store.node("encoder", payload, fn)


def _packaged_info(encoder: Step) -> dict:
    """The packaged model's provenance (package version, file checksum, '4-bit weights, dequantised')."""
    return json.loads((encoder.path / "model" / "packaged.json").read_text())


def encoder_source(cfg: ExperimentConfig, encoder: Step | None) -> str:
    """Where pretrained weights load from: the converted packaged model, else model.init (hub id or local dir)."""
    return str(encoder.path / "model") if encoder is not None else cfg.model.init


def _model_key(cfg: ExperimentConfig) -> dict:
    """model.* as it enters step keys: keys added later stay out at their defaults, so older keys stay valid."""

    # store_frozen: how phases ii and iii treat the frozen layers (their keys say it), nothing phase i computes;
    # pooling shapes the sentence heads of phases ii and iii only (_sentence_head_key), never the MLM step
    model = {k: v for k, v in _asdict(cfg.model).items() if k not in ("store_frozen", "pooling")}
    return {k: v for k, v in model.items() if MODEL_KEY_DEFAULTS.get(k, object()) != v}


SENTENCE_KINDS = ("classification", "multiple_choice")


def _sentence_head_key(cfg: ExperimentConfig, kinds) -> dict:
    """The sentence heads as they enter step keys, only where they changed what is computed: the pooling when it
    is not the first token (the only head before model.pooling), and multiple choice's dense + tanh head (a bare
    linear layer before it). Steps without a sentence head keep their keys."""
    kinds = set(kinds)
    out = {}
    if kinds & set(SENTENCE_KINDS) and cfg.model.sentence_pooling() != "cls":
        out["pooling"] = cfg.model.sentence_pooling()
    if "multiple_choice" in kinds:
        out["choice_head"] = "dense_tanh"
    return out


def _make_head(cfg: ExperimentConfig, kind_name: str, hidden: int, num_labels: int):
    """A task's head: sentence heads with model.pooling (``pooler``: the dense layer from the checkpoint's)."""
    kind = tasks.kind_module(kind_name)
    if kind_name not in SENTENCE_KINDS:
        return kind.make_head(hidden, num_labels, cfg.model.dropout)
    pooling = cfg.model.sentence_pooling()
    head = kind.make_head(hidden, num_labels, cfg.model.dropout, pooling=pooling)
    if pooling == "pooler":
        from .model import checkpoint_pooler

        with torch.no_grad():
            for name, value in checkpoint_pooler(cfg.model.init).items():
                getattr(head.dense, name).copy_(value)
    return head


def step_tokenizer(store: RunStore, cfg: ExperimentConfig, corpus: Step, encoder: Step | None = None) -> StepNode:
    # version 2: a repeatable alphabet (model.top_characters); version 1 could differ from run to run
    payload = {"tokenizer": _asdict(cfg.tokenizer), "corpus": corpus.key, "version": 2}
    if cfg.tokenizer.source == "model":
        encoder = encoder or step_encoder(store, cfg)
        payload["model"] = encoder.key if encoder is not None else cfg.model.init

    def fn(work: Path) -> dict:
        if cfg.tokenizer.source == "train":
            # A balanced sample per language: faster, and keeps high-resource languages from owning the vocabulary.
            texts = [
                s
                for sents in read_corpus(corpus.path / "text").values()
                for s in sents[: cfg.tokenizer.sample_sentences_per_language]
            ]
            log(
                f"training a {cfg.tokenizer.vocab_size}-piece {cfg.tokenizer.algorithm} tokenizer on "
                f"{len(texts)} sentences"
            )
            tok = train_tokenizer(
                cfg.tokenizer.vocab_size,
                texts,
                work / "tokenizer",
                cfg.tokenizer.algorithm,
                cfg.tokenizer.limit_alphabet,
            )
        else:
            src = encoder_source(cfg, encoder) if cfg.tokenizer.source == "model" else cfg.tokenizer.source
            tok = load_tokenizer(src)
            tok.save_pretrained(str(work / "tokenizer"))
        return {"vocab_size": len(tok), "coverage": tokenizer_coverage(tok, cfg)}

    return store.node("tokenizer", payload, fn, (corpus, encoder))


def tokenizer_coverage(tok, cfg: ExperimentConfig) -> dict:
    """Per evaluation language: share of <unk> subwords and subwords per word on the PUD evaluation half."""

    out = {}
    bare = {i for t, i in tok.get_vocab().items() if t == "▁"}
    for lang in cfg.eval.pos_languages:
        words = [w for ex in load_pos_eval(lang, cfg.eval.pos_treebanks) for w in ex["words"]]
        ids = tok(words, add_special_tokens=False)["input_ids"]
        n = sum(len(x) for x in ids)
        unk = sum(x.count(tok.unk_token_id) for x in ids)
        out[lang] = {
            "unk_rate": round(100 * unk / max(n, 1), 2),
            "subwords_per_word": round(n / max(len(words), 1), 3),
            "bare_marker_rate": round(100 * sum(sum(t in bare for t in x) for x in ids) / max(n, 1), 2),
            "words_with_unk": round(100 * sum(tok.unk_token_id in x for x in ids) / max(len(words), 1), 2),
        }
    return out


def _mlm_data(
    cfg: ExperimentConfig, tok, corpus: Step, seed: int, dictionary: Step | None = None, tokens: Step | None = None
):
    """Packed MLM blocks of the corpus step's text, plus translation pairs (TLM rows) and code-switched English
    text (code-switched rows) when those rows are on. ``tokens``: the corpus already tokenised (step_corpus_tokens)."""

    text = read_corpus(corpus.path / "text")
    pairs = read_parallel(corpus.path / "text") if cfg.mlm.tlm_fraction > 0 else None
    switched = None
    if dictionary is not None:  # code-switched rows are on (step_dictionary)
        switched = code_switched_text(text.get("en", []), read_dictionary(dictionary), cfg.mlm.code_switch_prob, seed)
    tokenized = load_tokenized(tokens.path / "tokens.npz") if tokens is not None else None
    return prepare_mlm_data(
        tok,
        text,
        cfg.mlm.seq_length,
        cfg.corpus.alpha,
        seed=seed,
        pairs=pairs,
        code_switched=switched,
        tokenized=tokenized,
    )


def step_corpus_tokens(store: RunStore, cfg: ExperimentConfig, source: Step, corpus: Step) -> StepNode:
    """The MLM corpus tokenised once by ``source``'s tokenizer, for continued MLM in every seed and condition."""
    payload = {"tokenizer_of": source.key, "corpus": corpus.key, "version": 1}

    def fn(work: Path) -> dict:
        tok = load_tokenizer(source.path / "model")
        tokenized = tokenize_corpus(tok, read_corpus(corpus.path / "text"))
        save_tokenized(work / "tokens.npz", tokenized)
        return {"languages": len(tokenized), "tokens": sum(len(x) for v in tokenized.values() for x in v)}

    return store.node("tokens", payload, fn, (source, corpus))


def _mlm_key(cfg: ExperimentConfig, dictionary: Step | None) -> dict:
    """The MLM settings that enter step keys: code-switching ones only when it is on (``dictionary`` is the
    step_dictionary result, None when off), so older keys stay valid."""
    out = _asdict(cfg.mlm)
    if out["output_vocab"] == "full":  # added later: keys of full-softmax MLM stay as they were
        out.pop("output_vocab")
    if dictionary is None:
        return {k: v for k, v in out.items() if not k.startswith("code_switch")}
    return {**out, "dictionary": dictionary.key}


def step_dictionary(store: RunStore, cfg: ExperimentConfig, corpus: Step) -> StepNode | None:
    """Bilingual word lists from the corpus step's translation pairs (only when code-switched MLM rows are on)."""
    if cfg.mlm.code_switch_fraction == 0:
        return None

    payload = {"corpus": corpus.key, **DICTIONARY_SETTINGS, "version": 1}

    def fn(work: Path) -> dict:
        pairs = read_parallel(corpus.path / "text")
        log(f"inducing bilingual dictionaries from {len(pairs)} translation pairs (IBM Model 1, both directions)")
        table = induce_dictionary(pairs, **DICTIONARY_SETTINGS)
        (work / "dictionary.json").write_text(json.dumps(table, ensure_ascii=False, indent=0))
        return dictionary_summary(table, pairs)

    return store.node("dictionary", payload, fn, (corpus,))


def read_dictionary(step: Step) -> dict:
    return json.loads((step.path / "dictionary.json").read_text())


def code_switched_text(english: list[str], table: dict, prob: float, seed: int) -> list[str]:
    """Each English corpus sentence once, its dictionary words switched into one language drawn per sentence."""

    rng = random.Random(seed)
    langs = sorted(table)
    return [code_switch(s, table[rng.choice(langs)], prob, rng)[0] for s in english] if langs else []


def _restrict_vocab(cfg: ExperimentConfig, model, data, tok) -> None:
    if cfg.mlm.output_vocab == "corpus":
        ids = mlm_vocabulary(data, tok)
        restrict_output_vocab(model, ids)
        log(f"MLM softmax over the {len(ids)} pieces of the MLM data (of {len(tok)}; mlm.output_vocab: corpus)")


def _freeze_key(cfg: ExperimentConfig) -> dict:
    out = {"freeze_word_embeddings": True} if cfg.model.freeze_word_embeddings else {}
    if cfg.model.freeze_layers:
        out["freeze_layers"] = cfg.model.freeze_layers
    return out


def _word_input_key(cfg: ExperimentConfig, task: str, langs: list[str]) -> dict:
    """How UPOS words reach the tokenizer, in the key only when it is not the original per-word input."""
    if task != "pos":
        return {}
    modes = {lang: cfg.target.word_input_for(lang) for lang in ["en", *langs]}
    return {} if set(modes.values()) == {"split"} else {"word_input": modes}


def tagging_input(examples: list[dict], mode: str) -> list[dict]:
    """UPOS examples as ``target.word_input`` says: 'split' (each word tokenised alone, the original input) or
    the sentence rebuilt as text, tokenised once ('surface': from surface tokens, multiword tokens once;
    'words': from syntactic words), each word at the first piece of its span (xitcore.surface)."""
    if mode == "split":
        return [{k: v for k, v in ex.items() if k != "sentence"} for ex in examples]

    out = []
    for ex in examples:
        text, spans = surface_layout(ex["sentence"], mode)
        out.append({**{k: v for k, v in ex.items() if k != "sentence"}, "text": text, "spans": spans})
    return out


# ------------------------------------------------------------------ frozen lower layers, computed once


def frozen_layers(cfg: ExperimentConfig) -> int:
    """k when phases ii and iii read the stored output of the frozen embedding block and first k layers
    (``model.freeze_layers`` with ``model.store_frozen``; xitcore.frozen), else 0."""
    return cfg.model.freeze_layers if cfg.model.store_frozen and cfg.model.freeze_layers > 0 else 0


def _frozen_key(cfg: ExperimentConfig) -> dict:
    """In the keys of the steps that read the stored frozen output: those layers run in eval mode and their
    output is rounded to bf16, which changes the numbers (without it, keys stay as before the option)."""
    return {"frozen_prefix": "eval-bf16"} if frozen_layers(cfg) else {}


def step_frozen(store: RunStore, cfg: ExperimentConfig, phase1: Step, data: dict, sequences) -> StepNode:
    """The frozen layers' output for one data set (``data`` names it; ``sequences(tokenizer)`` gives its token
    sequences, as its readers featurise them), computed once from the phase-(i) encoder: phases ii and iii
    cannot change those layers, so every condition and seed that reads the same data shares this step."""
    k = frozen_layers(cfg)
    payload = {"encoder": phase1.key, "freeze_layers": k, "data": data, "max_length": cfg.model.max_length}
    payload["version"] = 1

    def fn(work: Path) -> dict:
        device = _setup_threads(cfg)
        tok = load_tokenizer(phase1.path / "model")
        prefix = FrozenPrefix(load_encoder(phase1.path / "model").to(device), k)
        seqs = unique_sequences(sequences(tok))
        what = ", ".join(f"{k_}={v}" for k_, v in data.items() if k_ in ("target", "intermediate", "data", "tatoeba"))
        log(f"frozen layers 1-{k}: {len(seqs)} distinct sequences ({what}), computed once and stored (bf16)")
        hidden = prefix.compute(seqs, tok.pad_token_id, cfg.eval.batch_size)
        return prefix.save(work / ACTIVATIONS, seqs, hidden)

    return store.node("frozen", payload, fn, (phase1,))


def attach_frozen(model, cfg: ExperimentConfig, steps: list) -> FrozenPrefix | None:
    """Make ``model`` (a MultiTaskModel) read its frozen layers' output from the stored ``frozen`` steps (a
    sequence not stored is computed the same way and kept for the rest of the step)."""
    k = frozen_layers(cfg)
    if not k:
        return None
    prefix = FrozenPrefix(model.encoder, k)
    for s in steps:
        if s is not None:
            prefix.load(s.path / ACTIVATIONS)
    model.use_frozen_prefix(prefix)
    return prefix


def frozen_report(prefix: FrozenPrefix | None) -> dict:
    """What the run record says of the stored frozen output: sequences read from the store, computed here."""
    if prefix is None:
        return {}
    return {
        "frozen_prefix": {"layers": prefix.k, "stored": prefix.stored, "read": prefix.hits, "computed": prefix.misses}
    }


def _loop_options(cfg: ExperimentConfig) -> dict:
    """Speed options of the training loops; they leave the update unchanged, so they are not in step keys."""
    out = {}
    if cfg.grad_accum_steps != 1:
        out["grad_accum_steps"] = cfg.grad_accum_steps
    if cfg.compile:
        out["compile"] = True
    return out


def step_mlm(
    store: RunStore,
    cfg: ExperimentConfig,
    tokenizer: Step,
    corpus: Step,
    train_kwargs: dict | None = None,
    dictionary: Step | None = None,
    encoder: Step | None = None,
) -> StepNode:
    """Phase (i). ``train_kwargs`` go to ``train_mlm`` as well (xitcore.distributed passes its rank's share, and
    the dictionary step that rank 0 built, so that other ranks do not build it in scratch).

    A pretrained ``model.init`` is loaded (its first ``model.keep_layers`` layers; random weights with
    ``model.random_init``) and trained further only if ``mlm.steps`` > 0."""
    dictionary = dictionary or step_dictionary(store, cfg, corpus)
    if encoder is None:
        encoder = step_encoder(store, cfg)
    payload = {
        "model": _model_key(cfg),
        "mlm": _mlm_key(cfg, dictionary),
        "tokenizer": tokenizer.key,
        "corpus": corpus.key,
        "alpha": cfg.corpus.alpha,
    }
    if encoder is not None:
        payload["encoder"] = encoder.key
    if cfg.mlm.steps > 0:  # a pretrained encoder loaded as is (0 steps) is the same in any precision
        payload.update(_precision_key(cfg))
    pretrained = cfg.model.init != "scratch"

    def fn(work: Path) -> dict:
        device = _setup_threads(cfg)
        tok = load_tokenizer(tokenizer.path / "tokenizer")
        # A pretrained encoder that is not trained further needs no MLM data and no held-out loss (its head is new).
        skip_loss = pretrained and cfg.mlm.steps == 0
        data = None if skip_loss else _mlm_data(cfg, tok, corpus, cfg.mlm.seed, dictionary)
        torch.manual_seed(cfg.mlm.seed)  # also seeds a pretrained encoder's new MLM head
        if not pretrained:
            model = new_mlm_model(cfg.model, tok)
        else:
            model = keep_first_layers(load_mlm_model(encoder_source(cfg, encoder)), cfg.model.keep_layers)
            if cfg.model.random_init:
                model = reinitialise(model, cfg.mlm.seed)
        model.to(device)
        extra = {"encoder": _packaged_info(encoder)} if encoder is not None else {}
        if pretrained:
            extra.update(init=cfg.model.init, layers=model.config.num_hidden_layers, random_init=cfg.model.random_init)
        if skip_loss:
            model.save_pretrained(str(work / "model"))
            tok.save_pretrained(str(work / "model"))
            return {**extra, "parameters": count_parameters(model)}
        _restrict_vocab(cfg, model, data, tok)
        init_loss = mlm_heldout_loss(model, tok, data.heldout, cfg.mlm.mask_prob, device)
        log(
            f"MLM pre-training: {count_parameters(model) / 1e6:.2f}M parameters, {cfg.mlm.steps} steps of "
            f"{cfg.mlm.batch_size}x{cfg.mlm.seq_length} tokens, {sum(len(b) for b in data.train.values())} blocks"
        )
        res = {}
        if cfg.mlm.steps > 0:
            res = train_mlm(
                model,
                tok,
                data,
                steps=cfg.mlm.steps,
                batch_size=cfg.mlm.batch_size,
                lr=cfg.mlm.lr,
                warmup=cfg.mlm.warmup_steps,
                weight_decay=cfg.mlm.weight_decay,
                mask_prob=cfg.mlm.mask_prob,
                seed=cfg.mlm.seed,
                device=device,
                desc="phase i: MLM",
                tlm_fraction=cfg.mlm.tlm_fraction,
                code_switch_fraction=cfg.mlm.code_switch_fraction,
                **{**_loop_options(cfg), **(train_kwargs or {})},
            )
        if data.parallel is not None:
            res["tlm_blocks"] = len(data.parallel)
        if data.code_switched is not None:
            res["code_switched_blocks"] = len(data.code_switched)
        model.save_pretrained(str(work / "model"))
        tok.save_pretrained(str(work / "model"))
        final = res.get("final_heldout_loss", init_loss)
        log(f"MLM held-out loss {init_loss:.3f} -> {final:.3f} (unigram-entropy floor {data.unigram_entropy:.3f})")
        return {
            **extra,
            "initial_heldout_loss": round(init_loss, 4),
            "final_heldout_loss": round(final, 4),
            "unigram_entropy": round(data.unigram_entropy, 4),
            "parameters": count_parameters(model),
            "language_weights": {k: round(v, 4) for k, v in data.weights.items()},
            "train_blocks": {k: len(v) for k, v in data.train.items()},
            **res,
        }

    return store.node(
        "mlm", payload, _in_precision(cfg, fn), (tokenizer, corpus, dictionary, encoder), seed=cfg.mlm.seed
    )


# ---------------------------------------------------------------------------------------- phase (ii)


def step_intermediate(
    store: RunStore,
    cfg: ExperimentConfig,
    mlm: Step,
    corpus: Step,
    seed: int,
    frozen: tuple = (),
    fold: list[str] | None = None,
) -> StepNode | None:
    """Phase (ii). ``frozen``: the ``frozen`` steps of its tasks (``_intermediate_frozen``), read when training
    and scoring (task kind with ``model.freeze_layers`` and ``model.store_frozen``); ``fold``: one fold of
    intermediate.language_folds (its translated data from those languages)."""
    ic = cfg.intermediate
    if ic.kind == "none":
        return None
    dictionary = step_dictionary(store, cfg, corpus) if ic.kind == "mlm" else None
    tokens = step_corpus_tokens(store, cfg, mlm, corpus) if ic.kind == "mlm" else None
    inter = _asdict(ic)
    if ic.data != "mt":  # MT settings only matter for MT data (and keep the other steps' keys unchanged)
        inter = {k: v for k, v in inter.items() if not k.startswith("mt_")}
    if ic.dev_fraction == 0:  # added later: keys without English dev sets stay as they were
        inter.pop("dev_fraction")
    if ic.mlm_mix == 0:  # added later: keys without MLM mixed in stay as they were
        inter.pop("mlm_mix")
    for k in (*INTERMEDIATE_KEY_DEFAULTS, "eval_every_steps", "patience"):
        inter.pop(k)
    inter.update(ic.schedule_key())  # added later: only what applies and is not at its default, so keys stay
    inter.pop("translator")  # a name for mt_model, which the key holds
    inter.pop("language_folds")  # a fold's step names its own languages below; the others keep their keys
    # version 2: heads initialised from the seed (version 1 took them from the worker's random state)
    payload = {
        "intermediate": inter,
        "mlm": mlm.key,
        "seed": seed,
        "max_length": cfg.model.max_length,
        "version": 2,
        "backend": cfg.backend,
        **_precision_key(cfg),
        "xcopa_languages": cfg.eval.xcopa_languages if "copa" in ic.tasks else [],
        **_freeze_key(cfg),
        **(_frozen_key(cfg) if ic.kind != "mlm" else {}),  # continued MLM masks its input: nothing to store
        **_sentence_head_key(cfg, [tasks.get_task(t).kind for t in ic.tasks]),
    }
    if ic.mlm_mix > 0:  # the MLM blocks mixed in: the corpus and how they are cut and masked
        payload.update(
            corpus=corpus.key, mask_prob=cfg.mlm.mask_prob, alpha=cfg.corpus.alpha, mlm_seq_length=cfg.mlm.seq_length
        )
    if fold:
        payload["languages"] = list(fold)
    if ic.kind == "mlm":
        payload.update(corpus=corpus.key, mask_prob=cfg.mlm.mask_prob, alpha=cfg.corpus.alpha)
        if cfg.mlm.tlm_fraction > 0:
            payload["tlm_fraction"] = cfg.mlm.tlm_fraction
        if cfg.mlm.output_vocab != "full":
            payload["output_vocab"] = cfg.mlm.output_vocab
        if dictionary is not None:
            payload.update(
                code_switch_fraction=cfg.mlm.code_switch_fraction,
                code_switch_prob=cfg.mlm.code_switch_prob,
                dictionary=dictionary.key,
            )

    def fn(work: Path) -> dict:
        device = _setup_threads(cfg)
        set_seed(seed)  # before the heads are built: their initial weights come from the seed, not the worker's history
        tok = load_tokenizer(mlm.path / "model")
        if ic.kind == "mlm":
            model = load_mlm_model(mlm.path / "model")
            freeze_lower(model.base_model, cfg.model)  # frozen word embeddings: the tied MLM decoder stays fixed too
            data = _mlm_data(cfg, tok, corpus, seed, dictionary, tokens)
            _restrict_vocab(cfg, model, data, tok)
            start_loss = mlm_heldout_loss(model, tok, data.heldout, cfg.mlm.mask_prob, device)
            log(f"continued MLM ({cfg.condition}, seed {seed}): held-out loss at the start {start_loss:.3f}")
            warm = {}
            if ic.mlm_head_warmup_steps:
                warm = train_mlm_head(
                    model,
                    tok,
                    data,
                    steps=ic.mlm_head_warmup_steps,
                    batch_size=ic.batch_size,
                    lr=ic.lr * ic.head_lr,
                    warmup=min(ic.warmup_steps, ic.mlm_head_warmup_steps // 10),
                    weight_decay=0.01,
                    mask_prob=cfg.mlm.mask_prob,
                    seed=seed,
                    device=device,
                    desc=f"phase ii: MLM head warm-up (seed {seed})",
                    tlm_fraction=cfg.mlm.tlm_fraction,
                    code_switch_fraction=cfg.mlm.code_switch_fraction,
                    **_loop_options(cfg),
                )
                warm = {"steps": ic.mlm_head_warmup_steps, "lr": ic.lr * ic.head_lr, **warm}
                log(f"MLM head warm-up: held-out loss {start_loss:.3f} -> {warm['final_heldout_loss']:.3f}")
            res = train_mlm(
                model,
                tok,
                data,
                steps=ic.steps,
                batch_size=ic.batch_size,
                lr=ic.lr,
                warmup=ic.warmup_steps,
                weight_decay=0.01,
                mask_prob=cfg.mlm.mask_prob,
                seed=seed,
                device=device,
                desc=f"phase ii: continued MLM (seed {seed})",
                tlm_fraction=cfg.mlm.tlm_fraction,
                code_switch_fraction=cfg.mlm.code_switch_fraction,
                **_loop_options(cfg),
            )
            model.base_model.save_pretrained(str(work / "model"))
            tok.save_pretrained(str(work / "model"))
            out = {"phase": "intermediate", "kind": "mlm", "initial_heldout_loss": round(start_loss, 4), **res}
            return {**out, "mlm_head_warmup": warm} if warm else out
        model, specs, feats = _build_task_model(
            cfg,
            mlm.path / "model",
            tok,
            ic.tasks,
            ic.data,
            mt_cache=store.root / ".cache" / "translations.sqlite",
            mlm_data=(lambda: _mlm_data(cfg, tok, corpus, seed)) if ic.mlm_mix > 0 else None,
            seed=seed,
            languages=fold,
        )
        freeze_lower(model.encoder, cfg.model)
        prefix = attach_frozen(model, cfg, list(frozen))
        stats = {
            n: {"examples": specs[n]["examples"], "features": len(f[1]), "languages": specs[n]["languages"]}
            for n, f in feats.items()
            if n in specs
        }
        for n, spec in specs.items():
            if "answerless_windows" in spec:
                stats[n]["answerless_windows"] = spec["answerless_windows"]
            if n in ic.task_max_length:
                stats[n]["max_length"] = spec["max_length"]
        sizes = ", ".join(f"{n}={s['examples']}" for n, s in stats.items())
        log(f"phase ii ({cfg.condition}, seed {seed}): {sizes} examples")
        stop = {}
        if ic.schedule_key().get("early_stopping"):
            stop = {
                "evaluate": lambda: english_dev_score(evaluate_english_dev(model, tok, cfg, specs, device, quiet=True)),
                "eval_every": ic.eval_every_steps,
                "patience": ic.patience,
            }
        res = finetune(
            model,
            feats,
            steps=ic.steps,
            batch_size=ic.batch_size,
            lr=ic.lr,
            warmup=ic.warmup_steps,
            seed=seed,
            pad_id=tok.pad_token_id,
            device=device,
            **_loop_options(cfg),
            desc=f"phase ii: {'+'.join(ic.tasks)} (seed {seed})",
            head_lr=ic.head_lr,
            temperature=ic.temperature if ic.kind == "multitask" else 1.0,
            **stop,
        )
        if "mlm" in model.heads:  # the MLM share of mlm_mix: its head stays with the checkpoint's encoder only
            stats["mlm"] = {"blocks": len(feats["mlm"][1]), "mix": ic.mlm_mix, "seq_length": cfg.mlm.seq_length}
            del model.heads["mlm"]
        metrics = {"phase": "intermediate", "kind": ic.kind, "tasks": stats, **res}
        if ic.dev_fraction > 0:
            metrics["english_dev"] = evaluate_english_dev(model, tok, cfg, specs, device)
        if "copa" in ic.tasks:
            metrics["xcopa_split"] = xcopa_split(cfg)
            metrics["xcopa"] = evaluate_xcopa(model, tok, cfg, device)
        metrics.update(frozen_report(prefix))
        model.save(
            work / "model",
            {n: {k: v for k, v in s.items() if k not in ("examples", "answerless_windows")} for n, s in specs.items()},
        )
        tok.save_pretrained(str(work / "model"))
        return metrics

    return store.node(
        "intermediate", payload, _in_precision(cfg, fn), (mlm, corpus, dictionary, tokens, *frozen), seed=seed
    )


def _intermediate_examples(cfg: ExperimentConfig, name: str, data: str, languages=None):
    """(task, training examples) of one intermediate task (``languages``: a language fold's translated data): its
    English dev items (any language) held out."""
    if languages:
        task, examples = tasks.load_fold_examples(name, languages)
    else:
        task, examples = tasks.load_task_examples(name, "en" if data == "mt" else data, cfg.backend)
    if cfg.intermediate.dev_fraction > 0 and cfg.backend == "local":
        held, _ = tasks.english_dev(name, cfg.intermediate.dev_fraction)
        examples = [ex for ex in examples if tasks.item_key(name, ex) not in held]
    return task, examples


def _intermediate_frozen(
    store: RunStore, cfg: ExperimentConfig, phase1: Step, name: str, fold: list[str] | None = None
) -> StepNode | None:
    """The stored frozen output of one intermediate task's sequences: training, English dev and (COPA) XCOPA."""
    ic = cfg.intermediate
    if (
        not frozen_layers(cfg) or ic.kind not in ("task", "multitask") or ic.data == "mt"
    ):  # MT text exists only once translated
        return None
    data = {"intermediate": name, "data": ic.data, "backend": cfg.backend, "dev_fraction": ic.dev_fraction}
    if fold:
        data["languages"] = list(fold)
    if name == "copa":
        data.update(xcopa_languages=cfg.eval.xcopa_languages, xcopa_split=xcopa_split(cfg))

    if name in ic.task_max_length:  # its own window length: other tasks' frozen steps keep their keys
        data["max_length"] = ic.task_max_length[name]

    def sequences(tok) -> list[list[int]]:
        task, examples = _intermediate_examples(cfg, name, ic.data, fold)
        kind, ml = tasks.kind_module(task.kind), intermediate_max_length(cfg, name)
        labels = tasks.task_labels(task, examples)
        lists = [examples]
        if ic.dev_fraction > 0:
            lists.append(tasks.english_dev(name, ic.dev_fraction)[1])
        if name == "copa":
            lists += [
                multiple_choice.copa_examples(read_xcopa(l, xcopa_split(cfg)), l) for l in cfg.eval.xcopa_languages
            ]
        return [s for ex in lists if ex for s in sequences_of(kind.featurise(tok, ex, labels, ml))]

    return step_frozen(store, cfg, phase1, data, sequences)


def _build_task_model(
    cfg, encoder_dir, tok, task_names, data, mt_cache: Path | None = None, mlm_data=None, seed: int = 0, languages=None
):
    """The encoder with one head per intermediate task, the tasks' specs and training features. With
    ``mlm_data`` (a callable giving the MLM corpus blocks; intermediate.mlm_mix > 0) also an ``mlm`` entry: the
    checkpoint's own MLM head over the same encoder, and masked blocks making mlm_mix of the loop's batches."""
    mlm_model = load_mlm_model(encoder_dir) if mlm_data is not None else None
    encoder = mlm_model.base_model if mlm_model is not None else load_encoder(encoder_dir)
    heads, specs, feats = {}, {}, {}
    translate_for = None
    for name in task_names:
        task, examples = _intermediate_examples(cfg, name, data, languages)
        if data == "mt":
            from .multilingual.intermediate import hub_translator, machine_translate_examples

            translate_for = translate_for or hub_translator(cfg.intermediate.mt_model, mt_cache)
            examples, report = machine_translate_examples(
                examples, task.kind, cfg.intermediate.mt_languages, translate_for
            )
            log(
                f"machine-translated {name}: "
                + ", ".join(f"{l} kept {r['kept']}/{r['total']}" for l, r in report.items())
            )
        kind = tasks.kind_module(task.kind)
        labels = tasks.task_labels(task, examples)
        heads[name] = _make_head(cfg, task.kind, encoder.config.hidden_size, len(labels))
        ml = intermediate_max_length(cfg, name)
        specs[name] = {
            "kind": task.kind,
            "labels": labels,
            "examples": len(examples),
            "languages": sorted({ex.get("lang", "en") for ex in examples}),
            "max_length": ml,
        }
        f = kind.featurise(tok, examples, labels, ml)
        if task.kind == "qa":
            keep = cfg.intermediate.qa_answerless_keep
            empty = sum(1 for x in f if x["start"] == 0 and x["end"] == 0)
            f = qa.keep_answerless(f, keep, seed=0)  # one sample for every seed: it chooses data, not a run
            kept = sum(1 for x in f if x["start"] == 0 and x["end"] == 0)
            specs[name]["answerless_windows"] = {"keep": keep, "of": empty, "kept": kept, "windows": len(f)}
        feats[name] = (task.kind, f)
    if mlm_model is not None:
        n = mix_size(sum(len(f) for _, f in feats.values()), cfg.intermediate.mlm_mix)
        feats["mlm"] = ("mlm", mix_features(mlm_data(), n, tok, cfg.mlm.mask_prob, seed))
        heads["mlm"] = mlm_head(mlm_model)
        log(f"mlm_mix {cfg.intermediate.mlm_mix}: {n} masked MLM blocks of {cfg.mlm.seq_length} mixed in")
    return MultiTaskModel(encoder, heads), specs, feats


def intermediate_max_length(cfg: ExperimentConfig, name: str) -> int:
    """Subwords per window of intermediate task ``name``: intermediate.task_max_length, else model.max_length."""
    return cfg.intermediate.max_length_for(name, cfg.model.max_length)


def english_dev_score(dev: dict) -> dict:
    """The score phase ii's early stopping follows: the mean of the tasks' headline dev metrics (accuracy; QA F1),
    COPA left out (its English dev is XCOPA val in English: the items its zero-shot XCOPA score reads), with each
    task's score beside it for the dev curve."""
    per_task = {n: r.get("accuracy", r.get("f1")) for n, r in dev.items()}
    followed = [v for n, v in per_task.items() if n != "copa"]
    return {"score": sum(followed) / len(followed) if followed else float("nan"), **per_task}


def evaluate_english_dev(model, tok, cfg, specs: dict, device, quiet: bool = False) -> dict:
    """Each intermediate task's own score on its English dev set (xitcore.tasks.english_dev): accuracy, or SQuAD
    F1/EM for QA, so that a reader sees that phase ii learned its task."""
    out = {}
    for name, spec in specs.items():
        _, dev = tasks.english_dev(name, cfg.intermediate.dev_fraction)
        if not dev:
            continue
        n, kind, ml = len(dev), spec["kind"], intermediate_max_length(cfg, name)
        if kind == "tagging":
            pred = tagging.predict_tagging(model, name, tok, dev, spec["labels"], ml, device)
            out[name] = {"accuracy": round(100 * pos_accuracy([e["tags"] for e in dev], pred), 2)}
        elif kind in ("classification", "multiple_choice"):
            predict = (
                classification.predict_classification
                if kind == "classification"
                else multiple_choice.predict_multiple_choice
            )
            pred = predict(model, name, tok, dev, ml, device)
            out[name] = {"accuracy": round(100 * multiple_choice_accuracy([e["label"] for e in dev], pred), 2)}
        else:
            s = qa.qa_scores([e["answers"] for e in dev], qa.predict_qa(model, name, tok, dev, ml, device), "en")
            out[name] = {"f1": round(100 * s["f1"], 2), "exact_match": round(100 * s["exact_match"], 2)}
        out[name]["examples"] = n
        if not quiet:
            log(f"phase ii ({cfg.condition}): {name} English dev {out[name]}")
    return out


def xcopa_split(cfg: ExperimentConfig) -> str:
    """Where XCOPA is scored after a COPA intermediate task: its test items (XTREME-R's, comparable), unless the
    shipped COPA data trained on them (backend local): then the 100 val items per language, which it never read."""
    return "val" if cfg.backend == "local" else "test"


def evaluate_xcopa(model, tok, cfg, device) -> dict:
    """Zero-shot XCOPA accuracy after a COPA intermediate task, on the split xcopa_split gives."""
    out = {}
    for lang in cfg.eval.xcopa_languages:
        ex = multiple_choice.copa_examples(read_xcopa(lang, xcopa_split(cfg)), lang)
        pred = multiple_choice.predict_multiple_choice(model, "copa", tok, ex, cfg.model.max_length, device)
        out[lang] = round(100 * multiple_choice_accuracy([e["label"] for e in ex], pred), 2)
    out["avg"] = round(sum(out.values()) / max(len(out), 1), 2)
    return out


# ---------------------------------------------------------------------------------------- phase (iii)


def _pretrain_key(task: str) -> dict:
    """A first training stage (XCOPA: SIQA), in the key only where a target has one."""
    first = tasks.get_task(task).pretrain_from[0]
    return {"pretrain_data": first} if first else {}


def _protocol_key(cfg: ExperimentConfig, task: str) -> dict:
    """Early stopping (target.early_stopping), in the key only when on, so that other keys stay as they were."""
    tc = cfg.target
    if not tc.early_stopping:
        return {}
    out = {"eval_every_steps": tc.eval_every_steps, "patience": tc.patience}
    if task in tasks.SHIPPED_TARGETS:
        out["dev_fraction"] = tc.dev_fraction
    elif tc.dev_examples:  # added later: in the key only when set
        out["dev_examples"] = tc.dev_examples
    return {"early_stopping": out}


def _held_out_dev(task: str, train: list[dict], fraction: float) -> tuple[list[dict], list[dict]]:
    """(training, dev) of a shipped target's English data: a stable share of the sentences, by their text."""
    dev_of = [tasks.registry.stable_unit(f"{task}\t{' '.join(ex['words'])}") < fraction for ex in train]
    return [ex for ex, d in zip(train, dev_of) if not d], [ex for ex, d in zip(train, dev_of) if d]


def _target_payload(cfg: ExperimentConfig, source: Step, task: str, seed: int, langs: list[str]) -> dict:
    """What a target step's key hashes. Shipped (pos, ner) and hub targets were added at different times and keep
    their own fields, so that every earlier key stays valid."""
    tc = cfg.target
    common = {
        "epochs": tc.epochs_for(task),
        "batch_size": tc.batch_size_for(task),
        "lr": tc.lr_for(task),
        "warmup_ratio": tc.warmup_ratio,
    }
    max_length = tc.max_length_for(task, cfg.model.max_length)
    if task not in tasks.SHIPPED_TARGETS:
        return {
            "target": task,
            "train_data": tasks.get_task(task).train_from[0],
            **_pretrain_key(task),
            **common,
            "max_train_examples": tc.max_train_examples,
            "source": source.rel,
            "seed": seed,
            "languages": langs,
            "max_length": max_length,
            "dropout": cfg.model.dropout,
            "freeze_embeddings": tc.freeze_embeddings,
            "version": 3 if task == "panx" else 2,  # 3: conlleval F1
            **_precision_key(cfg),
            **_protocol_key(cfg, task),
            **_sentence_head_key(cfg, [tasks.get_task(task).kind]),
        }
    payload = {
        "target": task,
        **common,
        "max_train_sentences": tc.max_train_sentences,
        "source": source.rel,
        "seed": seed,
        "languages": langs,
        "max_length": max_length,
        "dropout": cfg.model.dropout,
        "freeze_embeddings": tc.freeze_embeddings,
        **_protocol_key(cfg, task),
        # 2: the head initialised from the seed (see step_intermediate); 3 (NER): F1 in seqeval's default
        # (conlleval) mode, strict IOB2 beside it
        "version": 3 if task == "ner" else 2,
        **_precision_key(cfg),
        **_freeze_key(cfg),
        **_frozen_key(cfg),
        **_word_input_key(cfg, task, langs),
    }
    if task == "pos":
        tb_key = pos_treebank_keys(langs, cfg.eval.pos_treebanks)
        if tb_key:  # a user's own treebank: its checksum (editing the file invalidates the results)
            payload["pos_treebanks"] = tb_key
    if task == "ner":
        payload.update(_ner_data_key(cfg, langs))
    if cfg.eval.split == "dev":
        payload["split"] = "dev"
    cap = cfg.eval.max_sentences if task == "pos" else cfg.eval.ner_max_sentences
    if cap:
        payload["max_eval_sentences"] = cap
    return payload


def _ner_data_key(cfg: ExperimentConfig, langs: list[str]) -> dict:
    """What a ner step's key adds for its data: nothing with IEER and no user file (earlier keys stay valid); the
    training data (uner), the CoNLL-2002 second evaluation and each user IOB2 file's checksum otherwise."""
    out: dict = {}
    if cfg.target.ner_data != "ieer":
        out["ner_data"] = cfg.target.ner_data
        if cfg.eval.ner_conll2002:
            out["conll2002"] = list(cfg.eval.ner_conll2002)
    files = ner_file_keys(langs, cfg.eval.ner_files)
    if files:  # editing the file invalidates the results; moving it does not
        out["ner_files"] = files
    return out


def _ner_extra_evals(cfg: ExperimentConfig) -> dict:
    """UNER-trained NER's checks beside its evaluation sets: English EWT test (not with split dev) and the
    CoNLL-2002 second evaluation (testb, or testa with split dev), capped as the main sets (eval.ner_max_sentences)."""
    if cfg.target.ner_data != "uner":
        return {}
    cap, split = cfg.eval.ner_max_sentences or None, cfg.eval.split
    out: dict = {"ewt": load_uner_eval("ewt-test")[:cap]} if split != "dev" else {}
    out["conll2002"] = {lang: load_conll2002_eval(lang, split)[:cap] for lang in cfg.eval.ner_conll2002}
    return out


def _shipped_target_data(cfg: ExperimentConfig, task: str, langs: list[str]) -> dict:
    """English training examples and per-language evaluation examples of a shipped target (pos, ner)."""
    tc, dev = cfg.target, cfg.eval.split == "dev"
    cap = cfg.eval.max_sentences if task == "pos" else cfg.eval.ner_max_sentences
    train = load_ner_train(tc.ner_data) if task == "ner" else tasks.load_task_examples(task)[1]
    if tc.max_train_sentences:
        train = train[: tc.max_train_sentences]
    evals = {}
    for lang in langs:
        if task == "pos":
            ev = load_pos_dev(lang) if dev else load_pos_eval(lang, cfg.eval.pos_treebanks)
            ev = tagging_input(ev, tc.word_input_for(lang))
        else:
            ev = load_ner_eval(lang, cfg.eval.split, tc.ner_data, cfg.eval.ner_files)
        evals[lang] = ev[:cap] if cap else ev
    out = {"eval": evals, **(_ner_extra_evals(cfg) if task == "ner" else {})}
    if tc.early_stopping:
        train, out["dev"] = _held_out_dev(task, train, tc.dev_fraction)
        if not out["dev"]:  # early stopping would score an empty dev set
            raise DataError(
                f"target {task}: target.dev_fraction {tc.dev_fraction} of its {len(train)} English training "
                "sentences holds out none for early stopping; raise target.dev_fraction or target.max_train_sentences"
            )
    if task == "pos":
        train = tagging_input(train, tc.word_input_for("en"))
        if "dev" in out:
            out["dev"] = tagging_input(out["dev"], tc.word_input_for("en"))
    return {**out, "train": train}


def _ewt_test(cfg: ExperimentConfig) -> list[dict]:
    """UD English-EWT test as UPOS examples: the English in-domain check after the POS target."""
    sents = read_conllu(ud_file("en", "ewt-test"))
    return tagging_input(
        [{"words": s.words, "tags": s.upos, "sentence": s} for s in sents], cfg.target.word_input_for("en")
    )


# What a target's key holds that is not its data: the frozen step of its data leaves these out, so that every
# condition, seed and training setting shares it.
_NOT_TARGET_DATA = ("epochs", "batch_size", "lr", "warmup_ratio", "source", "seed", "dropout", "freeze_embeddings")
_NOT_TARGET_DATA += (
    "version",
    "precision",
    "autocast_cache",
    "freeze_word_embeddings",
    "freeze_layers",
    "frozen_prefix",
)


def _target_frozen(store: RunStore, cfg: ExperimentConfig, phase1: Step, task: str) -> StepNode | None:
    """The stored frozen output of a shipped target's sequences: English training (and early-stopping dev) data,
    every evaluated language, EWT test; one step for every condition and seed."""
    if not frozen_layers(cfg) or task not in tasks.SHIPPED_TARGETS:
        return None
    langs = cfg.eval.languages_of(task)
    payload = _target_payload(cfg, phase1, task, 0, langs)
    data = {k: v for k, v in payload.items() if k not in _NOT_TARGET_DATA and k != "early_stopping"}
    if cfg.target.early_stopping:
        data["dev_fraction"] = cfg.target.dev_fraction

    def sequences(tok) -> list[list[int]]:
        d = _shipped_target_data(cfg, task, langs)
        lists = [d["train"], d.get("dev", []), *d["eval"].values(), d.get("ewt", []), *d.get("conll2002", {}).values()]
        if task == "pos" and cfg.eval.split != "dev":
            lists.append(_ewt_test(cfg))
        ml = cfg.target.max_length_for(task, cfg.model.max_length)
        return [s for ex in lists if ex for s in sequences_of(tagging.encode_tagging(tok, ex, None, ml))]

    return step_frozen(store, cfg, phase1, data, sequences)


def _score_shipped(task: str, gold: list, pred: list) -> dict:
    if task == "pos":
        return {
            "accuracy": round(100 * pos_accuracy(gold, pred), 2),
            "seqeval_f1": round(100 * xtreme_seqeval_f1(gold, pred), 2),
            "sentences": len(gold),
            "words": sum(len(g) for g in gold),
        }
    # span_f1: seqeval default (conlleval) mode, the headline; span_f1_strict: strict IOB2 beside it
    return {**ner_scores(gold, pred, types=NER_TYPES), "sentences": len(gold)}


def evaluate_language(
    model, task: str, tok, examples: list, lang: str, max_length: int, device, batch_size: int = 64
) -> tuple[dict, dict | None]:
    """({metric: percent, ..., "examples": n}, QA predictions {id: text} or None) of a hub target in one language."""
    t = tasks.get_task(task)
    metric = tasks.METRICS[t.metric]
    pct = lambda v: round(100 * float(v), 2)  # noqa: E731
    out, preds = {"examples": len(examples)}, None
    if t.kind == "classification":
        pred = classification.predict_classification(model, task, tok, examples, max_length, device, batch_size)
        out["accuracy"] = pct(metric([e["label"] for e in examples], pred))
    elif t.kind == "multiple_choice":
        pred = multiple_choice.predict_multiple_choice(model, task, tok, examples, max_length, device, batch_size)
        out["accuracy"] = pct(metric([e["label"] for e in examples], pred))
    elif t.kind == "tagging":
        pred = tagging.predict_tagging(model, task, tok, examples, list(t.labels), max_length, device, batch_size)
        out.update({k: pct(v) for k, v in metric([e["tags"] for e in examples], pred).items()})
    else:
        texts = qa.predict_qa(model, task, tok, examples, max_length, device, batch_size)
        # XTREME: MLQA's own per-language normalisation for MLQA, official SQuAD v1.1 for XQuAD / TyDiQA.
        s = qa.qa_scores([e["answers"] for e in examples], texts, lang, mlqa=t.metric == "mlqa_f1_em")
        out.update(f1=pct(s["f1"]), exact_match=pct(s["exact_match"]))
        preds = {e["id"] or str(k): x for k, (e, x) in enumerate(zip(examples, texts))}
    return out, preds


def zero_shot_average(per_lang: dict[str, dict], metrics: list[str]) -> dict:
    """Zero-shot averages (English, the training language, excluded) of the headline metrics."""
    zs = [v for l, v in per_lang.items() if l != "en"]
    return {m: round(float(np.mean([v[m] for v in zs])), 2) for m in metrics} if zs else {}


def step_target(
    store: RunStore,
    cfg: ExperimentConfig,
    source: Step,
    task: str,
    seed: int,
    frozen: Step | StepNode | None = None,
    exclude: list[str] = (),
) -> StepNode:
    """Phase (iii), any target of the registry: English training, then zero-shot evaluation per language (all but
    ``exclude``: a language fold's training languages). Shipped targets (pos, ner) read the shipped data; the
    others load every hub set in the node's ``prepare``, so that offline, or a language without a hub source,
    fails at once with one line, before any training and with nothing written to the run store."""
    tc, shipped = cfg.target, task in tasks.SHIPPED_TARGETS
    langs = [lang for lang in cfg.eval.languages_of(task) if lang not in exclude]
    payload = _target_payload(cfg, source, task, seed, langs)
    t = tasks.get_task(task)
    kind = tasks.kind_module(t.kind)
    labels = list(t.labels)
    max_length, batch_size, lr = tc.max_length_for(task, cfg.model.max_length), tc.batch_size_for(task), tc.lr_for(task)
    data: dict = {}

    def prepare() -> None:
        if shipped:
            data.update(_shipped_target_data(cfg, task, langs))
            return
        data.update(
            pretrain=tasks.load_pretrain(task, tc.max_train_examples),
            train=tasks.load_train(task, tc.max_train_examples),
            eval={lang: tasks.load_eval(task, lang) for lang in langs},
        )
        if tc.early_stopping:  # jiant scores the first eval_subset_num validation examples (runner.py:213)
            data["dev"] = tasks.load_dev(task)[: tc.dev_examples or None]

    def dev_score(model, tok, device) -> float:
        """The English dev score early stopping follows: the task's first headline metric."""
        if shipped:
            pred = tagging.predict_tagging(model, task, tok, data["dev"], labels, max_length, device)
            s = _score_shipped(task, [e["tags"] for e in data["dev"]], pred)
            return s["accuracy"] if task == "pos" else s["span_f1"]
        s, _ = evaluate_language(model, task, tok, data["dev"], "en", max_length, device, cfg.eval.batch_size)
        return s[tasks.headline_metrics(task)[0]]

    def fn(work: Path) -> dict:
        if not data:
            prepare()
        device = _setup_threads(cfg)
        set_seed(seed)  # before the head is built (see step_intermediate)
        tok = load_tokenizer(source.path / "model")
        encoder = load_encoder(source.path / "model")
        model = MultiTaskModel(encoder, {task: _make_head(cfg, t.kind, encoder.config.hidden_size, len(labels))})
        if tc.freeze_embeddings:
            for p in encoder.embeddings.parameters():
                p.requires_grad_(False)
        prefix = None
        if shipped:
            freeze_lower(encoder, cfg.model)
            prefix = attach_frozen(model, cfg, [frozen.step if isinstance(frozen, StepNode) else frozen])

        def train(features: list, n_steps: int, desc: str, **early_stopping) -> dict:
            return finetune(
                model,
                {task: (t.kind, features)},
                steps=n_steps,
                batch_size=batch_size,
                lr=lr,
                warmup=int(n_steps * tc.warmup_ratio),
                seed=seed,
                pad_id=tok.pad_token_id,
                device=device,
                desc=desc,
                **_loop_options(cfg),
                **early_stopping,
            )

        stages = {}
        if data.get("pretrain"):  # XTREME-R's XCOPA: SIQA first, then COPA, with the same head
            pre = kind.featurise(tok, data["pretrain"], labels, max_length)
            pre_steps = max(1, math.ceil(len(pre) / batch_size * tc.epochs_for(task)))
            log(f"phase iii: {task}, first stage on {len(data['pretrain'])} examples ({t.pretrain_from[1]})")
            stages["pretrain"] = {
                "data": t.pretrain_from[1],
                "examples": len(data["pretrain"]),
                **train(pre, pre_steps, f"phase iii: {task} stage 1 (seed {seed})"),
            }
        feats = kind.featurise(tok, data["train"], labels, max_length)
        steps = max(1, math.ceil(len(feats) / batch_size * tc.epochs_for(task)))
        if not shipped:
            log(
                f"phase iii: {task} on {len(data['train'])} English examples ({t.train_from[1]}), "
                f"{steps} steps; zero-shot on {', '.join(langs)}"
            )
        stop = {
            "evaluate": lambda: dev_score(model, tok, device),
            "eval_every": tc.eval_every_steps,
            "patience": tc.patience,
        }
        res = train(feats, steps, f"phase iii: {task} (seed {seed})", **(stop if tc.early_stopping else {}))
        per_lang = {}
        for lang in langs:
            if shipped:
                ev = data["eval"][lang]
                pred = tagging.predict_tagging(model, task, tok, ev, labels, max_length, device)
                per_lang[lang] = _score_shipped(task, [e["tags"] for e in ev], pred)
                continue
            per_lang[lang], preds = evaluate_language(
                model, task, tok, data["eval"][lang], lang, max_length, device, cfg.eval.batch_size
            )
            if preds is not None:  # QA answers as text, for error analysis and XTREME-style submissions
                atomic_write_json(work / "predictions" / f"{lang}.json", preds)
        if not shipped:
            # No checkpoint saved: nothing reads it; at XLM-R Large size it would be ~2 GB per (task, seed, condition).
            metrics = tasks.headline_metrics(task)
            return {
                "phase": "target",
                "task": task,
                "kind": t.kind,
                "metrics": metrics,
                "languages": per_lang,
                "avg": zero_shot_average(per_lang, metrics),
                "train_examples": len(data["train"]),
                "train_features": len(feats),
                "train_data": t.train_from[1],
                **stages,
                **res,
            }
        if task == "pos" and cfg.eval.split != "dev":  # English in-domain check on EWT test
            ewt = _ewt_test(cfg)
            pred = tagging.predict_tagging(model, task, tok, ewt, labels, max_length, device)
            res["ewt_test_accuracy"] = round(100 * pos_accuracy([e["tags"] for e in ewt], pred), 2)
        if task == "ner" and data.get("ewt"):  # UNER: English in-domain check on EWT test
            pred = tagging.predict_tagging(model, task, tok, data["ewt"], labels, max_length, device)
            res["ewt_test"] = _score_shipped(task, [e["tags"] for e in data["ewt"]], pred)
        if task == "ner" and data.get("conll2002"):  # a second evaluation, under CoNLL-2002's guideline
            res["conll2002"] = {}
            for lang, ev in data["conll2002"].items():
                pred = tagging.predict_tagging(model, task, tok, ev, labels, max_length, device)
                res["conll2002"][lang] = _score_shipped(task, [e["tags"] for e in ev], pred)
        if task == "pos" and "target" in cfg.eval.tatoeba_phases:  # the only reader of a target checkpoint
            model.save(work / "model", {task: {"kind": "tagging", "labels": labels}})
            tok.save_pretrained(str(work / "model"))
        res.update(frozen_report(prefix))
        return {"phase": "target", "task": task, "languages": per_lang, "train_sentences": len(data["train"]), **res}

    return store.node(
        "target", payload, _in_precision(cfg, fn), (source, frozen), seed=seed, prepare=None if shipped else prepare
    )


# ---------------------------------------------------------------------------------------- evaluations


def _tatoeba_reads_frozen(cfg: ExperimentConfig) -> bool:
    layers = cfg.model.keep_layers or cfg.model.num_layers
    return bool(frozen_layers(cfg)) and cfg.eval.tatoeba_layer % (layers + 1) > frozen_layers(cfg)


def _tatoeba_frozen(store: RunStore, cfg: ExperimentConfig, phase1: Step) -> StepNode | None:
    """The stored frozen output of the Tatoeba sentences (both sides), read after every phase."""
    if not _tatoeba_reads_frozen(cfg) or not cfg.eval.tatoeba_phases:
        return None

    def sequences(tok) -> list[list[int]]:
        sents = [s for lang in cfg.eval.tatoeba_languages for side in read_tatoeba(TATOEBA_ISO3[lang]) for s in side]
        return tok(sents, truncation=True, max_length=cfg.model.max_length)["input_ids"]

    return step_frozen(store, cfg, phase1, {"tatoeba": cfg.eval.tatoeba_languages}, sequences)


def step_tatoeba(
    store: RunStore, cfg: ExperimentConfig, source: Step, phase: str, frozen: Step | StepNode | None = None
) -> StepNode:
    # version 2: English sentences are the queries (XTREME's direction); version 1 queried with xx.
    payload = {
        "source": source.rel,
        "phase": phase,
        "languages": cfg.eval.tatoeba_languages,
        "layer": cfg.eval.tatoeba_layer,
        "max_length": cfg.model.max_length,
        "version": 2,
        **_precision_key(cfg),
        **(_frozen_key(cfg) if _tatoeba_reads_frozen(cfg) else {}),
    }

    def fn(work: Path) -> dict:
        device = _setup_threads(cfg)
        tok = load_tokenizer(source.path / "model")
        enc = load_encoder(source.path / "model").to(device)
        prefix = None
        if _tatoeba_reads_frozen(cfg):
            prefix = FrozenPrefix(enc, frozen_layers(cfg))
            if frozen is not None:
                prefix.load((frozen.step if isinstance(frozen, StepNode) else frozen).path / ACTIVATIONS)
        out = {}
        ml, bs, layer = cfg.model.max_length, cfg.eval.batch_size, cfg.eval.tatoeba_layer
        for lang in cfg.eval.tatoeba_languages:
            xx, en = read_tatoeba(TATOEBA_ISO3[lang])
            a = embed_sentences(enc, tok, xx, layer, ml, device, bs, prefix=prefix)
            b = embed_sentences(enc, tok, en, layer, ml, device, bs, prefix=prefix)
            # XTREME (third_party/evaluate_retrieval.py, utils_retrieve.similarity_search): the index holds the xx
            # embeddings and each English sentence is the query, so English row i must retrieve xx row i.
            out[lang] = round(100 * retrieval_top1(b, a), 2)
        return {
            "phase": phase,
            "top1": out,
            "avg": round(sum(out.values()) / max(len(out), 1), 2),
            "chance": round(100 / 1000, 2),
            **frozen_report(prefix),
        }

    return store.node("tatoeba", payload, _in_precision(cfg, fn), (source, frozen))


BUCC_ENV = "XIT_BUCC2018"


def bucc_files(cfg: ExperimentConfig, lang: str) -> tuple[Path, Path, Path]:
    """(<l> sentences, English sentences, gold pairs) of BUCC 2018's dev split in XTREME's layout; DataError naming
    what is missing."""
    import os

    where = cfg.eval.bucc2018_dir or os.environ.get(BUCC_ENV, "")
    if not where:
        raise DataError(
            f"bucc2018: eval.bucc2018_dir is empty and ${BUCC_ENV} unset; allowed: a directory of XTREME's BUCC 2018 "
            "files (google-research/xtreme scripts/download_data.sh, download_bucc18)"
        )
    d = Path(where).expanduser()
    files = tuple(d / f"{lang}-en.dev.{ext}" for ext in (lang, "en", "gold"))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataError(f"bucc2018: {', '.join(missing)} not found; allowed: XTREME's layout <l>-en.dev.<l|en|gold>")
    return files


def step_bucc(store: RunStore, cfg: ExperimentConfig, source: Step, phase: str) -> StepNode:
    """BUCC 2018 bitext mining on a checkpoint, as XTREME scores it (jiant runs it with --do_val, on the dev split:
    nyu-mll/jiant@daa5a258 jiant/scripts/benchmarks/xtreme/subscripts/e_run_models.sh:24-32): sentences embedded
    like Tatoeba's (layer eval.tatoeba_layer, mean-pooled), pairs mined by ratio margin over 4 neighbours both ways
    and F1 at the F1-optimal threshold (google-research/xtreme third_party/utils_retrieve.py mine_bitext,
    bucc_optimize, bucc_eval; xitcore.tasks.retrieval)."""
    langs = cfg.eval.bucc2018_languages
    payload = {
        "source": source.rel,
        "phase": phase,
        "languages": langs,
        "split": "dev",
        "layer": cfg.eval.tatoeba_layer,
        "max_length": cfg.model.max_length,
        "version": 1,
        **_precision_key(cfg),
    }
    data: dict = {}

    def prepare() -> None:
        for lang in langs:
            src, en, gold = bucc_files(cfg, lang)
            data[lang] = load_bucc(src, en, gold, lang)

    def fn(work: Path) -> dict:
        if not data:
            prepare()
        device = _setup_threads(cfg)
        tok = load_tokenizer(source.path / "model")
        enc = load_encoder(source.path / "model").to(device)
        out = {}
        for lang in langs:
            b = data[lang]
            emb = lambda texts: embed_sentences(  # noqa: E731
                enc, tok, texts, cfg.eval.tatoeba_layer, cfg.model.max_length, device, cfg.eval.batch_size
            )
            candidates = bucc_candidates(emb(b.src_sents), emb(b.en_sents), b.src_ids, b.en_ids)
            s = bucc_f1(candidates, b.gold)
            out[lang] = {
                "f1": round(100 * s["f1"], 2),
                "precision": round(100 * s["precision"], 2),
                "recall": round(100 * s["recall"], 2),
                "threshold": round(float(s["threshold"]), 6),
                "sentences": [len(b.src_sents), len(b.en_sents)],
                "gold_pairs": len(b.gold),
            }
        f1 = [v["f1"] for v in out.values()]
        return {"phase": phase, "split": "dev", "languages": out, "avg": {"f1": round(sum(f1) / max(len(f1), 1), 2)}}

    return store.node("bucc2018", payload, _in_precision(cfg, fn), (source,), prepare=prepare)


def step_baselines(store: RunStore, cfg: ExperimentConfig) -> StepNode:

    payload = {"languages": cfg.eval.pos_languages, "version": 1}
    tb_key = pos_treebank_keys(cfg.eval.pos_languages, cfg.eval.pos_treebanks)
    if tb_key:
        payload["pos_treebanks"] = tb_key
    if cfg.eval.split == "dev":
        payload["split"] = "dev"
    if cfg.eval.max_sentences:  # the same sentences as the targets score
        payload["max_eval_sentences"] = cfg.eval.max_sentences

    def fn(work: Path) -> dict:
        def sentences(lang):
            sents = (
                pos_dev_sentences(lang) if cfg.eval.split == "dev" else pos_eval_sentences(lang, cfg.eval.pos_treebanks)
            )
            return sents[: cfg.eval.max_sentences] if cfg.eval.max_sentences else sents

        return {"pos": {lang: pos_baselines(sentences(lang)) for lang in cfg.eval.pos_languages}}

    return store.node("baselines", payload, fn)


def fold_of(lang: str, folds: list[list[str]]) -> int:
    """The fold whose run scores ``lang``: the first that did not train on it."""
    return next(k for k, fold in enumerate(folds) if lang not in fold)


def step_assemble(store: RunStore, cfg: ExperimentConfig, task: str, seed: int, sources: list[Step | None]) -> StepNode:
    """One target record of a language-fold condition (intermediate.language_folds): each language's scores from
    the first fold that did not train on it (fold_of), so that every language is scored once, zero-shot. The
    record is a target record (``languages``, and fold 1's other fields, e.g. the English EWT check) plus
    ``from_runs`` (language -> the run that scored it) and ``folds``; ``sources[k]`` is fold k's target step
    (None where the fold scores none of the task's languages)."""
    folds = cfg.intermediate.language_folds
    langs = cfg.eval.languages_of(task)
    payload = {"assemble": task, "seed": seed, "folds": folds, "sources": [s.rel if s else None for s in sources]}
    payload["version"] = 1

    def fn(work: Path) -> dict:
        records = [json.loads((s.path / "metrics.json").read_text()) if s else None for s in sources]
        first = next(r for r in records if r is not None)
        per_lang, runs = {}, {}
        for lang in langs:
            k = fold_of(lang, folds)
            per_lang[lang], runs[lang] = records[k]["languages"][lang], sources[k].rel
        out = {k: v for k, v in first.items() if k not in ("languages", "avg")}
        if "conll2002" in first:  # NER's second evaluation: each language from a fold that did not train on it too
            second = {lang: fold_of(lang, folds) for lang in first["conll2002"]}
            out["conll2002"] = {lang: records[k]["conll2002"][lang] for lang, k in second.items() if records[k]}
            runs.update({f"conll2002:{lang}": sources[k].rel for lang, k in second.items() if records[k]})
        out.update(
            languages=per_lang,
            from_runs=runs,
            folds=[
                {"trained_on": f, "run": s.rel if s else None, "scored": sorted(r["languages"]) if r else []}
                for f, s, r in zip(folds, sources, records)
            ],
        )
        if "metrics" in first:
            out["avg"] = zero_shot_average(per_lang, first["metrics"])
        return out

    return store.node("assemble", payload, fn, tuple(s for s in sources if s is not None), seed=seed)


#: targets that score syntax (POS) or what rests on it (NER): no run may see gold syntax of their languages
SYNTAX_SCORED_TARGETS = ("pos", "ner", "udpos", "panx")


def check_in_language_syntax(cfg: ExperimentConfig) -> dict[str, str]:
    """Zero-shot stays zero-shot: ConfigError (one line naming the languages and the task) if an intermediate task
    trains on gold syntax (tasks.SYNTAX_TASKS: dependency relations, POS, chunks, CCG) of a language whose POS or
    NER a run of this condition scores (English, the target's training language, aside), unless
    ``eval.allow_in_language_syntax``; returns the allowed cases {language: task} (the index then says
    ``zero_shot: false``). With intermediate.language_folds each fold's runs score only the other languages."""
    scored = {lang for t in cfg.target.tasks if t in SYNTAX_SCORED_TARGETS for lang in cfg.eval.languages_of(t)}
    if "ner" in cfg.target.tasks and cfg.target.ner_data == "uner":  # NER's second evaluation (CoNLL-2002)
        scored |= set(cfg.eval.ner_conll2002 or ())
    scored.discard("en")
    ic, found = cfg.intermediate, {}
    for t in ic.tasks:
        trained = tasks.syntax_languages(t, ic.data, cfg.backend)
        if ic.language_folds:  # each fold's runs score only languages outside it (step_target's exclude)
            trained = set()
        for lang in sorted(trained & scored):
            found.setdefault(lang, t)
    if found and not cfg.eval.allow_in_language_syntax:
        langs = ", ".join(found)
        task = sorted(set(found.values()))[0]
        raise ConfigError(
            f"condition {cfg.preset}/{cfg.condition}: intermediate task {task} trains on gold syntax of {langs}, "
            f"whose POS/NER it scores (not zero-shot); split them with intermediate.language_folds, or declare "
            f"eval.allow_in_language_syntax: true (an in-language condition, never in zero-shot verdicts)"
        )
    return found


# ---------------------------------------------------------------------------------------- driver


@dataclasses.dataclass
class ConditionGraph:
    """Every step of one condition, all seeds, in an order that runs each after its inputs; and the condition's
    index (which steps make up each seed). Built from the config alone: nothing runs, nothing is written."""

    nodes: list[StepNode]
    index: dict

    def _with_inputs(self, wanted: set[str]) -> list[StepNode]:
        for node in reversed(self.nodes):  # inputs come before their readers
            if node.rel in wanted:
                wanted |= {s.rel for s in node.inputs}
        return [n for n in self.nodes if n.rel in wanted]

    def shared_nodes(self) -> list[StepNode]:
        """The phase-(i) steps, which every condition with the same pre-training set-up shares: encoder, corpus,
        tokenizer, MLM (and its dictionary), baselines and Tatoeba after MLM."""
        idx = self.index
        wanted = {idx[k] for k in ("encoder", "corpus", "tokenizer", "mlm", "baselines") if idx.get(k)}
        wanted |= set(idx["tatoeba"].values()) | set(idx.get("bucc2018", {}).values())
        return self._with_inputs(wanted | set(idx.get("frozen", [])))


def run_shared_steps(cfg: ExperimentConfig, runs_dir: str | Path = "runs") -> StepNode:
    """Run (or reuse) the phase-(i) steps of ``cfg`` (ConditionGraph.shared_nodes); return its MLM step."""
    store = RunStore(runs_dir)
    graph = condition_graph(cfg, runs_dir)
    for node in graph.shared_nodes():
        store.execute(node)
    return next(n for n in graph.nodes if n.rel == graph.index["mlm"])


def run_data_steps(cfgs: list[ExperimentConfig], runs_dir: str | Path = "runs") -> None:
    """Run (or reuse) the steps that prepare data once for many conditions and seeds (stored frozen-layer output,
    the tokenised MLM corpus) before the (condition, seed) units start, so that no unit waits for another."""
    store = RunStore(runs_dir)
    seen: set[str] = set()
    for cfg in cfgs:
        graph = condition_graph(cfg, runs_dir)
        for node in graph._with_inputs({n.rel for n in graph.nodes if n.kind in ("frozen", "tokens")}):
            if node.rel not in seen:  # with their inputs (phase i), which are finished already in `xit preset`
                seen.add(node.rel)
                store.execute(node)


def _evaluates(cfg: ExperimentConfig, task: str) -> tuple[str, ...]:
    """The data sets target ``task`` evaluates (tasks.registry), for ner those of its training data."""
    if task == "ner" and cfg.target.ner_data == "uner":
        return tasks.registry.uner_evaluates(cfg.eval.ner_languages, bool(cfg.eval.ner_conll2002))
    return tasks.get_task(task).evaluates


def check_train_test_overlap(cfg: ExperimentConfig) -> dict[str, str]:
    """The guard against training on evaluated items: ConfigError (one line naming both sides) if the condition's
    MLM corpus (when MLM trains on it) or intermediate data holds items of a data set it evaluates, unless
    ``eval.allow_overlap`` names that set; returns the allowed overlaps {set: what trains on it} (the book flags
    them). Two checks: by declared set (tasks.registry ``trains_on``/``evaluates``, corpus.corpus_data_sets),
    and item by item for shipped training data against shipped evaluated sets (xitcore.overlap)."""
    evaluated = {name: f"target {t}" for t in cfg.target.tasks for name in _evaluates(cfg, t)}
    if cfg.eval.tatoeba_phases:
        evaluated.setdefault(tasks.registry.TATOEBA_SET, "Tatoeba retrieval")
    if "copa" in cfg.intermediate.tasks:
        xcopa = tasks.registry.XCOPA_VAL_SET if xcopa_split(cfg) == "val" else tasks.registry.XCOPA_TEST_SET
        evaluated.setdefault(xcopa, "the XCOPA score after COPA")
    trained: dict[str, str] = {}
    mlm_trains = cfg.mlm.steps > 0 or cfg.intermediate.kind == "mlm" or cfg.intermediate.mlm_mix > 0
    if mlm_trains and cfg.corpus.source == "shipped":
        # The shipped corpus drops every sentence of the sets the project scores (corpus.evaluation_sentences) but
        # holds XQuAD contexts and XCOPA test items as raw text; an mC4 corpus is cleared of every evaluated set.
        for name in sorted(corpus_data_sets(cfg.corpus.languages)):
            trained.setdefault(name, "the MLM corpus")
    by_items: dict[str, list[str]] = {}
    for t in cfg.intermediate.tasks:
        task = tasks.get_task(t)
        if cfg.backend == "local" or task.hub_dataset is None:  # with backend hub the hub's train split is read
            for name in task.trains_on:
                trained.setdefault(name, f"intermediate task {t}")
        if t in tasks.SHIPPED_INTERMEDIATE and (cfg.backend == "local" or task.hub_dataset is None):
            # Item by item where the training texts are known while planning: shipped data, English or its shipped
            # translations (machine translations are made later; their English source is checked).
            data = cfg.intermediate.data if cfg.intermediate.data == "translated" and task.translated else "en"
            for name in sorted(set(evaluated) - set(trained)):
                shared = overlap.shared_items(t, data, name)
                if shared:
                    by_items.setdefault(name, []).append(f"intermediate task {t} ({overlap.describe(shared)})")
    for name, by in by_items.items():
        trained.setdefault(name, " and ".join(by))
    allowed = {}
    for name in sorted(set(trained) & set(evaluated)):
        if name not in cfg.eval.allow_overlap:
            raise ConfigError(
                f"condition {cfg.preset}/{cfg.condition}: {evaluated[name]} evaluates {name}, which "
                f"{trained[name]} trains on; drop one of them, or set eval.allow_overlap: [{name}] to run it anyway "
                f"(the book then flags it)"
            )
        allowed[name] = trained[name]
    return allowed


def condition_graph(cfg: ExperimentConfig, runs_dir: str | Path = "runs") -> ConditionGraph:
    """The step graph of one condition (see ConditionGraph): what ``run_condition`` runs and ``xit ... --dry-run``
    plans."""
    overlap = check_train_test_overlap(cfg)
    in_language = check_in_language_syntax(cfg)
    store = RunStore(runs_dir)
    nodes: dict[str, StepNode] = {}

    def add(node: StepNode | None) -> StepNode | None:
        if node is not None:
            nodes.setdefault(node.rel, node)
        return node

    encoder = add(step_encoder(store, cfg))
    corpus = add(step_corpus(store, cfg))
    tokenizer = add(step_tokenizer(store, cfg, corpus, encoder))
    dictionary = add(step_dictionary(store, cfg, corpus))
    mlm = add(step_mlm(store, cfg, tokenizer, corpus, dictionary=dictionary, encoder=encoder))
    baselines = add(step_baselines(store, cfg))
    phases = cfg.eval.tatoeba_phases
    # Frozen lower layers computed once (xitcore.frozen): per data set, shared by every condition and seed.
    frozen_tatoeba = add(_tatoeba_frozen(store, cfg, mlm))
    frozen_targets = {t: add(_target_frozen(store, cfg, mlm, t)) for t in cfg.target.tasks}
    folds = cfg.intermediate.language_folds
    frozen_folds = {  # a language-fold condition reads each fold's own data (_fold_entry)
        tuple(f): tuple(
            x for x in (add(_intermediate_frozen(store, cfg, mlm, n, f)) for n in cfg.intermediate.tasks) if x
        )
        for f in folds
    }
    frozen_inter = (
        tuple(add(_intermediate_frozen(store, cfg, mlm, n)) for n in cfg.intermediate.tasks) if not folds else ()
    )
    frozen_inter = tuple(f for f in frozen_inter if f is not None) + tuple(x for v in frozen_folds.values() for x in v)
    tatoeba_mlm = add(step_tatoeba(store, cfg, mlm, "mlm", frozen_tatoeba)) if "mlm" in phases else None
    bucc = cfg.eval.bucc2018_languages  # BUCC on the same checkpoints as Tatoeba (mlm, intermediate)
    bucc_mlm = add(step_bucc(store, cfg, mlm, "mlm")) if bucc and "mlm" in phases else None
    index = {
        "preset": cfg.preset,
        "condition": cfg.condition,
        "description": cfg.description,
        "config": cfg.to_dict(),
        "encoder": encoder.rel if encoder else None,
        "corpus": corpus.rel,
        "tokenizer": tokenizer.rel,
        "mlm": mlm.rel,
        "baselines": baselines.rel,
        "tatoeba": {"mlm": tatoeba_mlm.rel} if tatoeba_mlm else {},
        "seeds": {},
    }
    frozen = [f for f in (frozen_tatoeba, *frozen_targets.values(), *frozen_inter) if f is not None]
    if frozen:
        index["frozen"] = [f.rel for f in frozen]
    if bucc_mlm:  # added later: indexes without BUCC stay as they were
        index["bucc2018"] = {"mlm": bucc_mlm.rel}
    origin = cfg.origin
    if origin is not None:
        index["params_file"] = portable_path(origin.params_file)
        if origin.variant:  # indexed beside its condition, never in its place (config.Origin)
            index["variant_of"] = origin.committed
            index["overrides"] = origin.overrides
    index["config_identity"] = config_identity(index["config"])
    if overlap:  # allowed by eval.allow_overlap: the book flags these results
        index["train_test_overlap"] = overlap
    index["zero_shot"] = not in_language
    if in_language:  # allowed by eval.allow_in_language_syntax: shown apart, never in zero-shot verdicts
        index["in_language_syntax"] = in_language
    if cfg.intermediate.language_folds:
        index["language_folds"] = cfg.intermediate.language_folds
    for seed in cfg.seeds:
        if cfg.intermediate.language_folds:
            frozen = (frozen_folds, frozen_targets, frozen_tatoeba)
            index["seeds"][str(seed)] = _fold_entry(store, cfg, mlm, corpus, seed, add, frozen)
            continue
        if cfg.intermediate.kind == "mlm":  # continued MLM reads the code-switching dictionary when it is on
            add(step_dictionary(store, cfg, corpus))
            add(step_corpus_tokens(store, cfg, mlm, corpus))  # and the corpus tokenised once, for every seed
        inter = add(step_intermediate(store, cfg, mlm, corpus, seed, frozen_inter))
        source = inter or mlm
        entry = {"intermediate": inter.rel if inter else None, "targets": {}, "tatoeba": {}}
        if inter and "intermediate" in phases:
            entry["tatoeba"]["intermediate"] = add(step_tatoeba(store, cfg, inter, "intermediate", frozen_tatoeba)).rel
            if bucc:
                entry["bucc2018"] = {"intermediate": add(step_bucc(store, cfg, inter, "intermediate")).rel}
        for task in cfg.target.tasks:
            t = add(step_target(store, cfg, source, task, seed, frozen_targets[task]))
            entry["targets"][task] = t.rel
            if task == "pos" and "target" in phases:
                entry["tatoeba"]["target"] = add(step_tatoeba(store, cfg, t, "target", frozen_tatoeba)).rel
        index["seeds"][str(seed)] = entry
    return ConditionGraph(list(nodes.values()), index)


def _fold_entry(store: RunStore, cfg: ExperimentConfig, mlm: Step, corpus: Step, seed: int, add, frozen: tuple) -> dict:
    """One seed of a language-fold condition: an intermediate + target chain per fold, each target scoring only
    languages outside its fold, and one assembled record per target (step_assemble). The seed's ``intermediate``
    and Tatoeba checkpoints are fold 1's; ``folds`` lists every chain. ``frozen``: the stored frozen output
    (per fold's intermediate data, per target, Tatoeba)."""
    phases, folds = cfg.eval.tatoeba_phases, cfg.intermediate.language_folds
    frozen_folds, frozen_targets, frozen_tatoeba = frozen
    chains = []
    for fold in folds:
        inter = add(step_intermediate(store, cfg, mlm, corpus, seed, frozen_folds[tuple(fold)], fold))
        targets = {}
        for task in cfg.target.tasks:
            if any(lang not in fold for lang in cfg.eval.languages_of(task)):
                targets[task] = add(step_target(store, cfg, inter, task, seed, frozen_targets[task], exclude=fold))
        chains.append((fold, inter, targets))
    entry = {"intermediate": chains[0][1].rel, "targets": {}, "tatoeba": {}}
    if "intermediate" in phases:
        tat = step_tatoeba(store, cfg, chains[0][1], "intermediate", frozen_tatoeba)
        entry["tatoeba"]["intermediate"] = add(tat).rel
    for task in cfg.target.tasks:
        sources = [targets.get(task) for _, _, targets in chains]
        entry["targets"][task] = add(step_assemble(store, cfg, task, seed, sources)).rel
        first = next(s for s in sources if s is not None)
        if task == "pos" and "target" in phases:
            entry["tatoeba"]["target"] = add(step_tatoeba(store, cfg, first, "target", frozen_tatoeba)).rel
    entry["folds"] = [
        {"languages": fold, "intermediate": inter.rel, "targets": {t: n.rel for t, n in targets.items()}}
        for fold, inter, targets in chains
    ]
    return entry


def run_condition(cfg: ExperimentConfig, runs_dir: str | Path = "runs", write_index: bool = True) -> dict:
    """Run (or reuse) every step of one condition for all its seeds; write its index; return the index."""
    t0 = time.time()
    graph = condition_graph(cfg, runs_dir)
    store = RunStore(runs_dir)
    if write_index:
        _merged_seeds(Path(runs_dir), graph.index)  # a clashing variant name fails here, before anything runs
    log(f"condition {cfg.preset}/{cfg.condition}: seeds {cfg.seeds}, runs in {store.root}")
    if graph.index.get("variant_of"):
        changed = ", ".join(f"{k}={v}" for k, v in graph.index["overrides"].items())
        log(f"a variant of {cfg.preset}/{graph.index['variant_of']} ({changed}): indexed beside it, never in its place")
    for node in graph.nodes:
        store.execute(node)
    index = {**graph.index, "seconds": round(time.time() - t0, 1)}
    if write_index:
        write_condition_index(Path(runs_dir), index)
    log(f"condition {cfg.preset}/{cfg.condition} done in {index['seconds']} s")
    return index


def _index_file(runs_dir: Path, index: dict) -> Path:
    return Path(runs_dir) / "index" / index["preset"] / f"{index['condition']}.json"


def _merged_seeds(runs_dir: Path, index: dict) -> dict:
    """The seeds an index keeps from the one already on disk: all of them when both come from the same config
    (``config_identity``; e.g. ``xit run ... --seeds 1``), none when the params file changed since. A variant name
    already indexed with another config is a ConfigError: a variant never takes over another config's runs."""
    path = _index_file(runs_dir, index)
    try:
        old = json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        old = None
    if not old:
        return {}
    if config_identity(old.get("config", {})) == config_identity(index["config"]):
        return old.get("seeds", {})
    if index.get("variant_of"):
        raise ConfigError(
            f"variant {index['preset']}/{index['condition']} is already indexed with another config ({path}): "
            f"name this one with --name, or move that index aside"
        )
    return {}


def write_condition_index(runs_dir: Path, index: dict) -> Path:
    """``runs/index/<preset>/<condition>.json``: which steps make up each seed of a condition (or of a variant:
    ``<condition>~<suffix>.json``, see config.Origin); seeds indexed earlier with the same config are kept
    (_merged_seeds)."""
    path = _index_file(runs_dir, index)
    index["seeds"] = {**_merged_seeds(runs_dir, index), **index["seeds"]}
    atomic_write_json(path, index)
    return path
