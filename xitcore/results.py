"""Run store -> one long results table (the contract in docs/DESIGN.md), and summaries of it.

A damaged run record (a ``metrics.json`` or condition index that no longer parses: a partial copy between
machines, a hand edit) loses only its own rows: :func:`load_results` leaves them out, names the file and the
``xit run`` command that redoes it in one line on stderr per record, and lists those lines in
``df.attrs["damaged"]``; every other row is read as usual. ``xit run`` redoes such a step (``xitcore.runstore``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from .runstore import metrics_state as read_json_record

COLUMNS = ["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run"]
#: NER-like targets whose records carry ``span_f1`` (seqeval default mode) and ``span_f1_strict`` (strict IOB2)
SPAN_TASKS = ("ner", "panx")

_REPORTED: set[tuple] = set()  # damaged files already named on stderr by this process (xit results reads twice)


def _params_file(preset: str, condition: str) -> str:
    """``params/<preset>/<condition>.yaml`` as the user would type it (relative to the working directory)."""
    from .config import params_root

    p = params_root() / preset / f"{condition}.yaml"
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p) if p.is_file() else f"params/{preset}/{condition}.yaml"


def _redo_command(runs: Path, preset: str, condition: str, seed: int | None) -> str:
    runs_opt = "" if str(runs) in ("runs", "runs/") else f" --runs-dir {runs}"
    seeds = "" if seed is None else f" --seeds {seed}"
    return f"xit{runs_opt} run {_params_file(preset, condition)}{seeds}"


def load_results(runs_dir: str | Path = "runs", *, report: bool = True) -> pd.DataFrame:
    """The long results table of every condition index under ``runs_dir/index``.

    Damaged records are left out; with ``report`` each is named once on stderr (see the module docstring),
    and ``df.attrs["damaged"]`` always lists them.
    """
    runs = Path(runs_dir)
    rows: list[dict] = []
    damaged: dict[str, dict] = {}  # file -> {"why", "what", "commands"}

    def add(preset, cond, seed, phase, task, lang, metric, value, run):
        if value is None:
            return
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
                run=f"runs/{run}",
            )
        )

    def read(rel: str | None, preset: str, cond: str, what: str, seed: int | None = None) -> dict | None:
        if not rel:
            return None
        path = runs / rel / "metrics.json"
        m, why = read_json_record(path)
        if why:
            d = damaged.setdefault(str(path), {"why": why, "what": what, "commands": []})
            cmd = _redo_command(runs, preset, cond, seed)
            if cmd not in d["commands"]:
                d["commands"].append(cmd)
        return m

    baselines_done = set()
    for idx_file in sorted((runs / "index").glob("*/*.json")):
        idx, why = read_json_record(idx_file)
        if why:
            damaged[str(idx_file)] = {
                "why": why,
                "what": "condition index; all its rows",
                "commands": [_redo_command(runs, idx_file.parent.name, idx_file.stem, None)],
            }
            continue
        if idx is None:
            continue
        preset, cond = idx["preset"], idx["condition"]
        mlm = read(idx.get("mlm"), preset, cond, "mlm")
        if mlm:
            for m in ("final_heldout_loss", "initial_heldout_loss", "unigram_entropy"):
                add(preset, cond, 0, "mlm", "mlm", "all", m.replace("final_", ""), mlm.get(m), idx["mlm"])
        tok = read(idx.get("tokenizer"), preset, cond, "tokenizer")
        if tok:
            for lang, cov in tok.get("coverage", {}).items():
                for m in ("unk_rate", "subwords_per_word"):
                    add(preset, cond, 0, "mlm", "tokenizer", lang, m, cov.get(m), idx["tokenizer"])
        tat = read(idx.get("tatoeba", {}).get("mlm"), preset, cond, "tatoeba on the MLM checkpoint")
        if tat:
            for lang, v in tat["top1"].items():
                add(preset, cond, 0, "mlm", "tatoeba", lang, "top1", v, idx["tatoeba"]["mlm"])
            add(preset, cond, 0, "mlm", "tatoeba", "avg", "top1", tat["avg"], idx["tatoeba"]["mlm"])
        b = read(idx.get("baselines"), preset, cond, "POS baselines")
        if b and (preset, idx["baselines"]) not in baselines_done:
            baselines_done.add((preset, idx["baselines"]))
            for name, key in (("baseline:majority", "majority"), ("baseline:punct-majority", "punct_majority")):
                vals = [v[key] for v in b["pos"].values()]
                for lang, v in b["pos"].items():
                    add(preset, name, 0, "target", "pos", lang, "accuracy", v[key], idx["baselines"])
                add(preset, name, 0, "target", "pos", "avg", "accuracy", sum(vals) / len(vals), idx["baselines"])
        for seed_s, entry in idx.get("seeds", {}).items():
            seed = int(seed_s)
            inter = read(entry.get("intermediate"), preset, cond, "intermediate", seed)
            if inter and "xcopa" in inter:
                for lang, v in inter["xcopa"].items():
                    add(preset, cond, seed, "intermediate", "xcopa", lang, "accuracy", v, entry["intermediate"])
            for name, scores in ((inter or {}).get("english_dev") or {}).items():  # each task's own English dev
                for metric, v in scores.items():
                    if metric != "examples":
                        add(preset, cond, seed, "intermediate", f"dev:{name}", "en", metric, v, entry["intermediate"])
            for phase, rel in entry.get("tatoeba", {}).items():
                tat = read(rel, preset, cond, f"tatoeba on the {phase} checkpoint", seed)
                if tat:
                    for lang, v in tat["top1"].items():
                        add(preset, cond, seed, phase, "tatoeba", lang, "top1", v, rel)
                    add(preset, cond, seed, phase, "tatoeba", "avg", "top1", tat["avg"], rel)
            for task, rel in entry.get("targets", {}).items():
                m = read(rel, preset, cond, f"target {task}", seed)
                if not m:
                    continue
                # XTREME-R targets name their headline metrics; pos / ner steps predate that field.
                metrics = list(m.get("metrics") or (("accuracy", "seqeval_f1") if task == "pos" else ("span_f1",)))
                langs = m["languages"]
                if task in SPAN_TASKS:
                    if langs and not any("span_f1_strict" in d for d in langs.values()):
                        # A record from before both modes were stored: its span_f1 was strict IOB2, so it is
                        # shown as such, never as the seqeval-default (conlleval) span_f1 of newer records.
                        langs = {
                            lang: {**{k: v for k, v in d.items() if k != "span_f1"}, "span_f1_strict": d.get("span_f1")}
                            for lang, d in langs.items()
                        }
                    if "span_f1_strict" not in metrics:
                        metrics.append("span_f1_strict")
                for metric in metrics:
                    vals = []
                    for lang, d in langs.items():
                        if d.get(metric) is None:
                            continue
                        add(preset, cond, seed, "target", task, lang, metric, d[metric], rel)
                        if lang != "en":
                            vals.append(d[metric])
                    if vals:  # zero-shot average: English (in-language) excluded
                        add(preset, cond, seed, "target", task, "avg", metric, sum(vals) / len(vals), rel)
                if "ewt_test_accuracy" in m:
                    add(preset, cond, seed, "target", task, "en-ewt", "accuracy", m["ewt_test_accuracy"], rel)
    df = pd.DataFrame(rows, columns=COLUMNS)
    lines = [damaged_line(path, d) for path, d in sorted(damaged.items())]
    df.attrs["damaged"] = lines
    if report:
        for path, line in zip(sorted(damaged), lines):
            p = Path(path)
            st = p.stat() if p.exists() else None
            key = (str(p.resolve()), st.st_size if st else None, st.st_mtime_ns if st else None)
            if key not in _REPORTED:
                _REPORTED.add(key)
                print(line, file=sys.stderr, flush=True)
    return df


def damaged_line(path: str, d: dict) -> str:
    """One line: which record is damaged, why, what is left out, and the command that redoes it."""
    cmds = d["commands"]
    more = f" (or the same for {len(cmds) - 1} other condition(s) that share it)" if len(cmds) > 1 else ""
    return (
        f"xit: damaged run record {path} ({d['what']}) does not parse ({d['why']}); its rows are left out; "
        f"redo it with: {cmds[0]}{more}"
    )


def summary_table(runs_dir, preset: str, conditions: list[str] | None = None) -> pd.DataFrame | None:
    """Condition x language zero-shot POS accuracy (mean ± sd over seeds), NER F1 and Tatoeba averages.

    NER F1 is seqeval's default mode (conlleval), strict IOB2 beside it; each column says which."""
    df = load_results(runs_dir)  # names damaged records on stderr (once per process)
    if df.empty:
        return None
    df = df[df.preset == preset]
    pos = df[(df.task == "pos") & (df.metric == "accuracy") & (df.phase == "target") & (df.language != "en-ewt")]
    if conditions:
        keep = set(conditions) | {c for c in pos.condition if c.startswith("baseline:")}
        pos = pos[pos.condition.isin(keep)]
    g = pos.groupby(["condition", "language"]).value.agg(["mean", "std"]).reset_index()
    g["cell"] = g.apply(
        lambda r: f"{r['mean']:.1f}" + (f"±{r['std']:.1f}" if r["std"] == r["std"] and r["std"] > 0 else ""), axis=1
    )
    table = g.pivot(index="condition", columns="language", values="cell")
    ner_avg = df[(df.task == "ner") & (df.language == "avg")]
    ner = ner_avg[ner_avg.metric == "span_f1"].groupby("condition").value.mean()
    ner_strict = ner_avg[ner_avg.metric == "span_f1_strict"].groupby("condition").value.mean()
    # Retrieval uses the checkpoint before target training, as in the paper: intermediate, else the MLM one.
    t = df[(df.task == "tatoeba") & (df.language == "avg")]
    tat = t[t.phase == "intermediate"].groupby("condition").value.mean()
    tat = tat.combine_first(t[t.phase == "mlm"].groupby("condition").value.mean())
    # A condition without POS rows (e.g. its POS record is damaged) keeps its other columns.
    others = set(ner.index) | set(ner_strict.index) | set(tat.index)
    others = (others & set(conditions)) if conditions else others
    table = table.reindex(table.index.union(sorted(others))).fillna("")
    table["NER F1 avg (conlleval)"] = ner.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table["NER F1 avg (strict IOB2)"] = ner_strict.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table["Tatoeba avg"] = tat.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table.columns.name = (
        "POS accuracy (%) by language; NER span F1 (seqeval default = conlleval; strict IOB2); "
        "Tatoeba top-1 (English queries)"
    )
    return table
