"""SYNTHETIC results tables for the book tests only. These numbers are made up; they follow the
long-format contract of docs/DESIGN.md so that the book layer can be tested before (and
independently of) the training pipeline. Never present them as results."""

from __future__ import annotations

import numpy as np
import pandas as pd

POS_LANGS = ["ar", "de", "en", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh"]
TATOEBA_LANGS = ["ar", "de", "es", "fi", "fr", "hi", "id", "it", "pt", "ru", "tr", "zh"]
CONDITIONS = [
    "no-intermediate",
    "en-nli",
    "en-sentiment",
    "en-qa",
    "en-copa",
    "en-deprel",
    "en-multitask",
    "ml-mlm",
    "ml-qa",
    "ml-copa",
    "ml-deprel",
]


def synthetic_results(
    conditions=CONDITIONS,
    seeds=(1, 2, 3),
    preset="smoke",
    effects=None,
    noise=0.5,
    mlm_loss=5.0,
    unigram_entropy=7.0,
    rng=0,
    style="pipeline",
) -> pd.DataFrame:
    """A fake results table. ``effects`` maps condition -> additive shift of every zero-shot score.

    ``style="pipeline"`` mimics what ``xitcore.results.load_results`` emits (shared MLM checkpoint
    rows with seed 0, MLM metric ``heldout_loss`` on language ``all``, ``avg`` rows, ``en-ewt``);
    ``style="contract"`` uses the names of docs/DESIGN.md (``loss`` on ``avg``, MLM rows per seed).
    """
    rs = np.random.default_rng(rng)
    effects = dict(effects or {})
    rows = []

    def add(cond, seed, phase, task, lang, metric, value, step):
        rows.append(
            dict(
                preset=preset,
                condition=cond,
                seed=seed,
                phase=phase,
                task=task,
                language=lang,
                metric=metric,
                value=float(value),
                run=f"runs/{step}/{cond[:8]}{seed:02d}{phase[:2]}{task[:3]}".replace(":", "-"),
            )
        )

    def add_avg(cond, seed, phase, task, metric, vals, step):
        add(cond, seed, phase, task, "avg", metric, float(np.mean(vals)), step)

    shared = style == "pipeline"
    for cond in conditions:
        eff = effects.get(cond, 0.0)
        mlm_seeds = [0] if shared else list(seeds)
        for seed in mlm_seeds:
            loss_name, lang = ("heldout_loss", "all") if shared else ("loss", "avg")
            add(cond, seed, "mlm", "mlm", lang, loss_name, mlm_loss, "mlm")
            add(cond, seed, "mlm", "mlm", lang, "unigram_entropy", unigram_entropy, "mlm")
            if shared:
                vals = [5.0 + rs.normal(0, noise) for _ in TATOEBA_LANGS]
                for l, v in zip(TATOEBA_LANGS, vals):
                    add(cond, 0, "mlm", "tatoeba", l, "top1", v, "tatoeba")
                add_avg(cond, 0, "mlm", "tatoeba", "top1", vals, "tatoeba")
        for seed in seeds:
            zs = []
            for i, lang in enumerate(POS_LANGS):
                base = 90.0 if lang == "en" else 40.0 + 2 * i
                v = base + (0 if lang == "en" else eff) + rs.normal(0, noise)
                add(cond, seed, "target", "pos", lang, "accuracy", v, "target")
                add(cond, seed, "target", "pos", lang, "seqeval_f1", v - 3, "target")
                if lang != "en":
                    zs.append(v)
            if shared:
                add_avg(cond, seed, "target", "pos", "accuracy", zs, "target")
                add(cond, seed, "target", "pos", "en-ewt", "accuracy", 85 + rs.normal(0, noise), "target")
            for lang in ["en", "es", "nl"]:
                base = 70.0 if lang == "en" else 30.0
                add(
                    cond,
                    seed,
                    "target",
                    "ner",
                    lang,
                    "span_f1",
                    base + (0 if lang == "en" else eff) + rs.normal(0, noise),
                    "target",
                )
            phases = ["target"] if cond == "no-intermediate" else ["intermediate", "target"]
            if not shared:
                phases = ["mlm"] + phases
            for phase in phases:
                shift = eff if phase != "mlm" else 0.0
                vals = [5.0 + shift + rs.normal(0, noise) for _ in TATOEBA_LANGS]
                for lang, v in zip(TATOEBA_LANGS, vals):
                    add(cond, seed, phase, "tatoeba", lang, "top1", v, "tatoeba")
                if shared:
                    add_avg(cond, seed, phase, "tatoeba", "top1", vals, "tatoeba")
            if cond.endswith("copa"):
                for lang in ["et", "id", "it", "tr", "zh"]:
                    add(
                        cond,
                        seed,
                        "intermediate",
                        "xcopa",
                        lang,
                        "accuracy",
                        50 + eff + rs.normal(0, noise),
                        "intermediate",
                    )
    for b, v in [("baseline:majority", 20.0), ("baseline:punct-majority", 30.0)]:
        for lang in POS_LANGS:
            rows.append(
                dict(
                    preset=preset,
                    condition=b,
                    seed=0,
                    phase="target",
                    task="pos",
                    language=lang,
                    metric="accuracy",
                    value=v,
                    run="runs/baselines/0123456789abcdef",
                )
            )
    return pd.DataFrame(
        rows, columns=["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run"]
    )
