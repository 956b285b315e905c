"""Compare candidate settings of a preset on the dev split, never on the evaluation data.

    python scripts/tune_dev.py params/e5-small/no-intermediate.yaml --seeds 1,2,3 \
        --candidate "6 layers, lr 3e-4: model.keep_layers=6 target.lr=0.0003" \
        --candidate "12 layers: model.keep_layers=12"

Each candidate is the condition with its overrides plus ``eval.split=dev``: UPOS is scored on each language's dev
split (the PUD intermediate half, Japanese GSD dev; zero-shot evaluation never reads them) and NER on CoNLL-2002
testa. Tatoeba is skipped. Runs go to the run store (``--runs-dir``, reused when rerun) but no condition index is
written, so a candidate never replaces the condition's results. Prints one markdown row per candidate: dev UPOS
mean over the non-English languages, languages above the punctuation-aware baseline, English (PUD-en dev half),
NER dev F1, and CPU seconds of the target steps (from their run records).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xitcore.config import deep_merge, load_condition, parse_override  # noqa: E402
from xitcore.pipeline import run_condition  # noqa: E402


def parse_candidate(text: str) -> tuple[str, dict]:
    name, _, sets = text.partition(":")
    over: dict = {}
    for item in sets.split():
        over = deep_merge(over, parse_override(item))
    return name.strip(), over


def score(runs: Path, index: dict, tasks: list[str]) -> dict:
    base = json.loads((runs / index["baselines"] / "metrics.json").read_text())["pos"]
    per_lang: dict[str, list[float]] = {}
    ner: list[float] = []
    seconds = 0.0
    for entry in index["seeds"].values():
        for task, rel in entry["targets"].items():
            m = json.loads((runs / rel / "metrics.json").read_text())
            seconds += json.loads((runs / rel / "meta.json").read_text()).get("seconds", 0.0)
            if task == "pos":
                for lang, r in m["languages"].items():
                    per_lang.setdefault(lang, []).append(r["accuracy"])
            elif task == "ner":
                ner.append(statistics.mean(r["span_f1"] for r in m["languages"].values()))
    means = {lang: statistics.mean(v) for lang, v in per_lang.items()}
    zero_shot = [lang for lang in means if lang != "en"]
    above = [lang for lang in zero_shot if means[lang] > base[lang]["punct_majority"]]
    return {
        "dev_mean": statistics.mean(means[lang] for lang in zero_shot) if zero_shot else float("nan"),
        "above": len(above),
        "of": len(zero_shot),
        "below": sorted(set(zero_shot) - set(above)),
        "en": means.get("en", float("nan")),
        "ner": statistics.mean(ner) if ner else float("nan"),
        "seconds": seconds,
        "per_language": {k: round(v, 1) for k, v in sorted(means.items())},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("params")
    ap.add_argument("--candidate", action="append", required=True, help="'name: key=value key=value'")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--runs-dir", default="runs")
    ap.add_argument("--json", help="also write every candidate's scores to this file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for text in args.candidate:
        name, over = parse_candidate(text)
        over = deep_merge(over, {"seeds": seeds, "eval": {"split": "dev", "tatoeba_phases": []}})
        cfg = load_condition(args.params, over)
        index = run_condition(cfg, args.runs_dir, write_index=False)
        rows.append(
            {
                "candidate": name,
                "overrides": text.partition(":")[2].strip(),
                **score(Path(args.runs_dir), index, cfg.target.tasks),
            }
        )
    print(
        "\n| candidate | dev UPOS mean (zero-shot) | above punct. baseline | below | English (PUD-en dev) "
        "| NER dev F1 | target CPU s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['candidate']} | {r['dev_mean']:.1f} | {r['above']} of {r['of']} | {', '.join(r['below']) or '-'} "
            f"| {r['en']:.1f} | {r['ner']:.1f} | {r['seconds']:.0f} |"
        )
    for r in rows:
        print(f"{r['candidate']}: {r['per_language']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
