"""SYNTHETIC run records of a paper-shaped preset, for the book tests only: made-up numbers in the long-format
contract of docs/DESIGN.md (as ``xitcore.results.load_results`` emits them, ``zero_shot`` column and ``attrs``
included), never results. The shape follows ``params/paper``: the XTREME targets for the paper's conditions and
their translated sides (mt-/tt-), the shipped POS/NER targets for the small size-matched pairs (en-/ml-qa, -copa,
-deprel), a language-fold ``ml-deprel``, an in-language ``ml-deprel-inlang``, English dev scores of phase ii."""

from __future__ import annotations

import numpy as np
import pandas as pd

PRESET = "paper"
COLUMNS = ["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run", "zero_shot"]

#: XTREME target -> (metric, languages scored, English first)
XTREME = {
    "udpos": ("accuracy", ["en", "de", "hi", "ja", "ar", "fi"]),
    "panx": ("span_f1", ["en", "de", "hi", "sw", "ar"]),
    "xnli": ("accuracy", ["en", "de", "hi", "sw"]),
    "pawsx": ("accuracy", ["en", "de", "ja"]),
    "xquad": ("f1", ["en", "de", "hi", "ar"]),
    "mlqa": ("f1", ["en", "de", "hi"]),
    "tydiqa": ("f1", ["en", "fi", "sw"]),
}
RETRIEVAL = {"tatoeba": ("top1", ["de", "hi", "ja"]), "bucc2018": ("f1", ["de", "fr", "ru", "zh"])}
XTREME_CONDITIONS = ["no-intermediate", "en-mnli", "mt-mnli", "tt-mnli", "en-squad", "mt-squad", "tt-squad", "ml-mlm"]
#: the small pairs: the shipped POS/NER targets only (their params files: target.tasks [pos, ner])
SHIPPED_CONDITIONS = ["en-qa", "ml-qa", "en-copa", "ml-copa", "en-deprel", "ml-deprel", "ml-deprel-inlang"]
POS_LANGS = ["en", "ar", "de", "es", "fi", "hi", "ru", "zh", "sv", "pl", "ja"]
NER_LANGS = ["en", "de", "ru", "sv", "zh"]
FOLDS = [["ar", "es", "fr", "id", "pt", "tr"], ["de", "fi", "hi", "it", "ru", "zh"]]
INLANG = "ml-deprel-inlang"
#: English dev scores of phase ii: task -> (metric, per-condition level, items); copa sits at chance (50)
DEV = {
    "en-qa": ("qa", "f1", 30.0, 120),
    "ml-qa": ("qa", "f1", 25.0, 120),
    "en-copa": ("copa", "accuracy", 50.0, 100),
    "ml-copa": ("copa", "accuracy", 50.0, 100),
    "en-deprel": ("deprel", "accuracy", 60.0, 2000),
    "ml-deprel": ("deprel", "accuracy", 48.0, 2000),
    INLANG: ("deprel", "accuracy", 47.0, 2000),
}


def paper_results(effects=None, seeds=(1, 2, 3), noise=0.4, fold_gain=0.0, rng=0, dev=True) -> pd.DataFrame:
    """A paper-shaped results table. ``effects``: condition -> shift of every zero-shot score; ``fold_gain``: an
    extra shift of ``ml-deprel``'s (and ``ml-deprel-inlang``'s) POS in the languages a fold trained on, so the fold
    groups differ; ``dev``: whether phase ii recorded English dev scores."""
    rs = np.random.default_rng(rng)
    effects = dict(effects or {})
    rows = []

    def add(cond, seed, phase, task, lang, metric, value, run):
        rows.append(
            dict(
                preset=PRESET,
                condition=cond,
                seed=seed,
                phase=phase,
                task=task,
                language=lang,
                metric=metric,
                value=float(value),
                run=f"runs/{run}",
                zero_shot=cond != INLANG,
            )
        )

    trained = set(sum(FOLDS, []))
    for cond in XTREME_CONDITIONS + SHIPPED_CONDITIONS:
        eff = effects.get(cond, 0.0)
        xtreme = cond in XTREME_CONDITIONS
        for task, (metric, langs) in RETRIEVAL.items():  # the pretrained encoder's, shared by every seed
            for lang in langs:
                add(cond, 0, "mlm", task, lang, metric, 40.0 + rs.normal(0, noise), f"{task}/mlm")
        for seed in seeds:
            tag = f"{cond}-{seed}"
            if xtreme:
                for task, (metric, langs) in XTREME.items():
                    for i, lang in enumerate(langs):
                        base = 85.0 if lang == "en" else 50.0 + 3 * i
                        v = base + (0.0 if lang == "en" else eff) + rs.normal(0, noise)
                        add(cond, seed, "target", task, lang, metric, v, f"target/{task}-{tag}")
            else:
                for i, lang in enumerate(POS_LANGS):
                    gain = fold_gain if cond in ("ml-deprel", INLANG) and lang in trained else 0.0
                    v = (90.0 if lang == "en" else 60.0 + i + eff + gain) + rs.normal(0, noise)
                    add(cond, seed, "target", "pos", lang, "accuracy", v, f"target/pos-{tag}")
                for lang in NER_LANGS:
                    v = (70.0 if lang == "en" else 40.0 + eff) + rs.normal(0, noise)
                    add(cond, seed, "target", "ner", lang, "span_f1", v, f"target/ner-{tag}")
            if cond != "no-intermediate":
                for task, (metric, langs) in RETRIEVAL.items():
                    for lang in langs:
                        add(cond, seed, "intermediate", task, lang, metric, 40.0 + eff + rs.normal(0, noise), task)
            if cond.endswith("copa"):
                for lang in ("et", "id", "tr"):
                    add(cond, seed, "intermediate", "xcopa", lang, "accuracy", 50 + eff + rs.normal(0, noise), tag)
            if dev and cond in DEV:
                name, metric, level, items = DEV[cond]
                chains = len(FOLDS) if cond == "ml-deprel" else 1
                for k in range(chains):
                    run = f"intermediate/{tag}-fold{k + 1}"
                    add(cond, seed, "intermediate", f"dev:{name}", "en", metric, level + rs.normal(0, 1.0), run)
                    add(cond, seed, "intermediate", f"dev:{name}", "en", "examples", items, run)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["in_language"] = {f"{PRESET}/{INLANG}": {lang: "deprel" for lang in trained}}
    df.attrs["folds"] = {f"{PRESET}/ml-deprel": [list(f) for f in FOLDS]}
    return df
