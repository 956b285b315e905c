"""Run store -> one long results table (the contract in docs/DESIGN.md), and summaries of it."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

COLUMNS = ["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run"]


def _read(runs: Path, rel: str | None) -> dict | None:
    if not rel:
        return None
    p = runs / rel / "metrics.json"
    return json.loads(p.read_text()) if p.is_file() else None


def load_results(runs_dir: str | Path = "runs") -> pd.DataFrame:
    runs = Path(runs_dir)
    rows: list[dict] = []

    def add(preset, cond, seed, phase, task, lang, metric, value, run):
        if value is None:
            return
        rows.append(dict(preset=preset, condition=cond, seed=seed, phase=phase, task=task, language=lang,
                         metric=metric, value=float(value), run=f"runs/{run}"))

    baselines_done = set()
    for idx_file in sorted((runs / "index").glob("*/*.json")):
        idx = json.loads(idx_file.read_text())
        preset, cond = idx["preset"], idx["condition"]
        mlm = _read(runs, idx.get("mlm"))
        if mlm:
            for m in ("final_heldout_loss", "initial_heldout_loss", "unigram_entropy"):
                add(preset, cond, 0, "mlm", "mlm", "all", m.replace("final_", ""), mlm.get(m), idx["mlm"])
        tok = _read(runs, idx.get("tokenizer"))
        if tok:
            for lang, cov in tok.get("coverage", {}).items():
                for m in ("unk_rate", "subwords_per_word"):
                    add(preset, cond, 0, "mlm", "tokenizer", lang, m, cov.get(m), idx["tokenizer"])
        tat = _read(runs, idx.get("tatoeba", {}).get("mlm"))
        if tat:
            for lang, v in tat["top1"].items():
                add(preset, cond, 0, "mlm", "tatoeba", lang, "top1", v, idx["tatoeba"]["mlm"])
            add(preset, cond, 0, "mlm", "tatoeba", "avg", "top1", tat["avg"], idx["tatoeba"]["mlm"])
        b = _read(runs, idx.get("baselines"))
        if b and (preset, idx["baselines"]) not in baselines_done:
            baselines_done.add((preset, idx["baselines"]))
            for name, key in (("baseline:majority", "majority"), ("baseline:punct-majority", "punct_majority")):
                vals = [v[key] for v in b["pos"].values()]
                for lang, v in b["pos"].items():
                    add(preset, name, 0, "target", "pos", lang, "accuracy", v[key], idx["baselines"])
                add(preset, name, 0, "target", "pos", "avg", "accuracy", sum(vals) / len(vals), idx["baselines"])
        for seed_s, entry in idx.get("seeds", {}).items():
            seed = int(seed_s)
            inter = _read(runs, entry.get("intermediate"))
            if inter and "xcopa" in inter:
                for lang, v in inter["xcopa"].items():
                    add(preset, cond, seed, "intermediate", "xcopa", lang, "accuracy", v, entry["intermediate"])
            for phase, rel in entry.get("tatoeba", {}).items():
                tat = _read(runs, rel)
                if tat:
                    for lang, v in tat["top1"].items():
                        add(preset, cond, seed, phase, "tatoeba", lang, "top1", v, rel)
                    add(preset, cond, seed, phase, "tatoeba", "avg", "top1", tat["avg"], rel)
            for task, rel in entry.get("targets", {}).items():
                m = _read(runs, rel)
                if not m:
                    continue
                # XTREME-R targets name their headline metrics; pos / ner steps predate that field.
                metrics = m.get("metrics") or (("accuracy", "seqeval_f1") if task == "pos" else ("span_f1",))
                for metric in metrics:
                    vals = []
                    for lang, d in m["languages"].items():
                        add(preset, cond, seed, "target", task, lang, metric, d[metric], rel)
                        if lang != "en":
                            vals.append(d[metric])
                    if vals:  # zero-shot average: English (in-language) excluded
                        add(preset, cond, seed, "target", task, "avg", metric, sum(vals) / len(vals), rel)
                if "ewt_test_accuracy" in m:
                    add(preset, cond, seed, "target", task, "en-ewt", "accuracy", m["ewt_test_accuracy"], rel)
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_table(runs_dir, preset: str, conditions: list[str] | None = None) -> pd.DataFrame | None:
    """Condition x language zero-shot POS accuracy (mean ± sd over seeds), NER F1 and Tatoeba averages."""
    df = load_results(runs_dir)
    if df.empty:
        return None
    df = df[df.preset == preset]
    pos = df[(df.task == "pos") & (df.metric == "accuracy") & (df.phase == "target") & (df.language != "en-ewt")]
    if conditions:
        keep = set(conditions) | {c for c in pos.condition if c.startswith("baseline:")}
        pos = pos[pos.condition.isin(keep)]
    g = pos.groupby(["condition", "language"]).value.agg(["mean", "std"]).reset_index()
    g["cell"] = g.apply(lambda r: f"{r['mean']:.1f}" + (f"±{r['std']:.1f}" if r["std"] == r["std"] and r["std"] > 0 else ""), axis=1)
    table = g.pivot(index="condition", columns="language", values="cell")
    ner = df[(df.task == "ner") & (df.language == "avg")].groupby("condition").value.mean()
    # Retrieval uses the checkpoint before target training, as in the paper: intermediate, else the MLM one.
    t = df[(df.task == "tatoeba") & (df.language == "avg")]
    tat = t[t.phase == "intermediate"].groupby("condition").value.mean()
    tat = tat.combine_first(t[t.phase == "mlm"].groupby("condition").value.mean())
    table["NER F1 avg"] = ner.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table["Tatoeba avg"] = tat.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table.columns.name = "POS accuracy (%) by language; NER span F1; Tatoeba top-1"
    return table

