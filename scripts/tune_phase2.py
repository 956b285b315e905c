"""Compare candidate phase-ii settings of a condition on its English dev sets only (no target, no evaluation data).

    python scripts/tune_phase2.py params/e5-small/en-qa.yaml --seeds 1 \
        --candidate "256, answerless 0.3: intermediate.task_max_length.qa=256 intermediate.qa_answerless_keep=0.3"

Each candidate is the condition with its overrides plus ``target.tasks=[]`` and no Tatoeba: only phase ii runs
(and the steps it needs), and its run record gives each task's English dev score (deprel: EWT dev; copa: XCOPA val
in English; qa, nli, sentiment: the held-out share of their items, intermediate.dev_fraction). Runs go to the run
store (``--runs-dir``, reused when rerun); no condition index is written. Prints one markdown row per candidate:
English dev per task, where early stopping stopped and its best step, the steps each task got, and the phase-ii
step's seconds (from its run record).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xitcore.config import deep_merge, load_condition  # noqa: E402
from xitcore.pipeline import run_condition  # noqa: E402
from xitcore.tasks import INTERMEDIATE  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_dev import parse_candidate  # noqa: E402


def score(runs: Path, index: dict) -> dict:
    dev: dict[str, list[float]] = {}
    steps: dict[str, list[int]] = {}
    stopped, best, seconds, xcopa, heldout = [], [], 0.0, [], []
    for entry in index["seeds"].values():
        rel = entry["intermediate"]
        m = json.loads((runs / rel / "metrics.json").read_text())
        seconds += json.loads((runs / rel / "meta.json").read_text()).get("seconds", 0.0)
        for task, r in m.get("english_dev", {}).items():
            dev.setdefault(task, []).append(r.get("accuracy", r.get("f1")))
        for task in INTERMEDIATE:
            if f"{task}_steps" in m:
                steps.setdefault(task, []).append(m[f"{task}_steps"])
        if "early_stopping" in m:
            stopped.append(m["early_stopping"]["stopped_at"])
            best.append(m["early_stopping"]["best_step"])
        if "xcopa" in m:
            xcopa.append(m["xcopa"]["avg"])
        if "final_heldout_loss" in m:
            heldout.append(m["final_heldout_loss"])
    return {
        "dev": {t: round(statistics.mean(v), 1) for t, v in dev.items()},
        "steps": {t: round(statistics.mean(v)) for t, v in steps.items()},
        "stopped_at": stopped,
        "best_step": best,
        "xcopa": round(statistics.mean(xcopa), 1) if xcopa else None,
        "heldout_loss": round(statistics.mean(heldout), 3) if heldout else None,
        "seconds": round(seconds),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("params")
    ap.add_argument("--candidate", action="append", required=True, help="'name: key=value key=value'")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--runs-dir", default="runs")
    ap.add_argument("--json", help="also write every candidate's scores to this file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for text in args.candidate:
        name, over = parse_candidate(text)
        over = deep_merge(over, {"seeds": seeds, "target": {"tasks": []}, "eval": {"tatoeba_phases": []}})
        cfg = load_condition(args.params, over)
        index = run_condition(cfg, args.runs_dir, write_index=False)
        rows.append(
            {"candidate": name, "overrides": text.partition(":")[2].strip(), **score(Path(args.runs_dir), index)}
        )
        r = rows[-1]
        dev = ", ".join(f"{t} {v}" for t, v in r["dev"].items()) or "-"
        got = ", ".join(f"{t} {v}" for t, v in r["steps"].items())
        print(
            f"| {r['candidate']} | {dev} | {r['stopped_at'] or '-'} | {r['best_step'] or '-'} | {got} "
            f"| {r['xcopa'] if r['xcopa'] is not None else '-'} | {r['heldout_loss'] or '-'} | {r['seconds']} |",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
