"""Run store -> one long results table (the contract in docs/DESIGN.md), and summaries of it.

A damaged run record (a ``metrics.json`` or condition index that no longer parses: a partial copy between
machines, a hand edit) loses only its own rows: :func:`load_results` leaves them out, names the file and the
``xit run`` command that redoes it in one line on stderr per record, and lists those lines in
``df.attrs["damaged"]``; every other row is read as usual. ``xit run`` redoes such a step (``xitcore.runstore``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from .config import committed_name, config_identity, load_condition, params_root, resolve_portable
from .errors import XitError
from .runstore import metrics_state as read_json_record

COLUMNS = ["preset", "condition", "seed", "phase", "task", "language", "metric", "value", "run", "zero_shot"]
#: with ``load_results(variants=True)``: what each row's config is
VARIANT_COLUMNS = ["variant_of", "config", "overrides"]
#: NER-like targets whose records carry ``span_f1`` (seqeval default mode) and ``span_f1_strict`` (strict IOB2)
SPAN_TASKS = ("ner", "panx")
#: the task label of CoNLL-2002 es/nl scored as a second evaluation of UNER-trained NER (target.ner_data uner)
SECOND_NER = "ner-conll2002"

#: damaged files / retired conditions already named on stderr by this process (xit results reads twice)
_REPORTED: set = set()


def _params_file(preset: str, condition: str) -> str:
    """``params/<preset>/<condition>.yaml`` as the user would type it (relative to the working directory)."""
    p = params_root() / preset / f"{condition}.yaml"
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p) if p.is_file() else f"params/{preset}/{condition}.yaml"


def _redo_command(runs: Path, preset: str, condition: str, seed: int | None) -> str:
    runs_opt = "" if str(runs) in ("runs", "runs/") else f" --runs-dir {runs}"
    seeds = "" if seed is None else f" --seeds {seed}"
    return f"xit{runs_opt} run {_params_file(preset, condition)}{seeds}"


def _params_of(idx: dict) -> Path | None:
    """The params file a condition index was made from (older indexes: ``params/<preset>/<condition>.yaml``
    when that preset's folder exists); None when it cannot be told."""
    if idx.get("params_file"):
        return resolve_portable(idx["params_file"])
    folder = params_root() / idx["preset"]
    return folder / f"{idx.get('variant_of') or idx['condition']}.yaml" if folder.is_dir() else None


def _committed_seeds(path: Path) -> list[int] | None:
    """The seeds of a params file as committed (None if it no longer loads)."""
    try:
        return load_condition(path).seeds
    except (XitError, OSError):
        return None


def is_variant(idx: dict) -> bool:
    return bool(idx.get("variant_of")) or committed_name(idx.get("condition", "")) != idx.get("condition")


def load_results(runs_dir: str | Path = "runs", *, report: bool = True, variants: bool = False) -> pd.DataFrame:
    """The long results table of every condition index under ``runs_dir/index``.

    A condition's rows are those of its params file as committed: only the seeds that file lists, and none
    once the file is deleted (its runs stay; ``df.attrs["retired"]`` names it). Variants (``<condition>~<suffix>``,
    made by ``--set``, extra seeds or ``--name``: config.Origin) are left out unless ``variants``; then the
    table also has ``variant_of``, ``config`` (the config identity, 8 characters) and ``overrides`` columns.
    Damaged records are left out; with ``report`` each is named once on stderr (see the module docstring),
    and ``df.attrs["damaged"]`` always lists them. ``zero_shot`` is False on every row of an in-language
    condition (its index says ``zero_shot: false``: eval.allow_in_language_syntax), which zero-shot verdicts
    must leave out (``df.attrs["in_language"]`` names them). A language-fold condition's target rows name, in
    ``run``, the fold run that scored each language.
    """
    runs = Path(runs_dir)
    rows: list[dict] = []
    damaged: dict[str, dict] = {}  # file -> {"why", "what", "commands"}
    retired: list[str] = []
    found_variants: list[str] = []
    in_language: dict[str, dict] = {}
    folds: dict[str, list[list[str]]] = {}
    extra = {}
    zero_shot = True

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
                zero_shot=zero_shot,
                **extra,
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
        params = _params_of(idx)
        if params is not None and not params.is_file():  # the condition was retired: its runs stay on disk
            retired.append(f"{preset}/{cond}: its params file {params} no longer exists; its runs are kept")
            continue
        seeds = idx.get("seeds", {})
        if is_variant(idx):
            found_variants.append(f"{preset}/{cond}")
            if not variants:
                continue
        elif params is not None:  # seeds outside the committed list never enter a condition's rows
            keep = _committed_seeds(params)
            seeds = {k: v for k, v in seeds.items() if keep is None or int(k) in keep}
        if variants:
            overrides = idx.get("overrides") or {}
            extra = {
                "variant_of": idx.get("variant_of") or "",
                "config": (idx.get("config_identity") or config_identity(idx.get("config") or {}))[:8],
                "overrides": " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items()),
            }
        # False for an in-language condition (eval.allow_in_language_syntax: gold syntax of languages it scores)
        zero_shot = idx.get("zero_shot", True) is not False
        if not zero_shot:
            in_language[f"{preset}/{cond}"] = idx.get("in_language_syntax") or {}
        fold_sets = _fold_languages(seeds)
        if fold_sets:  # a language-fold condition: the languages each fold's intermediate phase trained on
            folds[f"{preset}/{cond}"] = fold_sets
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
        bucc_rel = idx.get("bucc2018", {}).get("mlm")
        bucc = read(bucc_rel, preset, cond, "bucc2018 on the MLM checkpoint")
        if bucc:
            for lang, v in bucc["languages"].items():
                add(preset, cond, 0, "mlm", "bucc2018", lang, "f1", v["f1"], bucc_rel)
            add(preset, cond, 0, "mlm", "bucc2018", "avg", "f1", bucc["avg"]["f1"], bucc_rel)
        b = read(idx.get("baselines"), preset, cond, "POS baselines")
        if b and (preset, idx["baselines"]) not in baselines_done:
            baselines_done.add((preset, idx["baselines"]))
            cond_zero_shot, zero_shot = zero_shot, True  # the baselines train on nothing
            for name, key in (("baseline:majority", "majority"), ("baseline:punct-majority", "punct_majority")):
                vals = [v[key] for v in b["pos"].values()]
                for lang, v in b["pos"].items():
                    add(preset, name, 0, "target", "pos", lang, "accuracy", v[key], idx["baselines"])
                add(preset, name, 0, "target", "pos", "avg", "accuracy", sum(vals) / len(vals), idx["baselines"])
            zero_shot = cond_zero_shot
        for seed_s, entry in seeds.items():
            seed = int(seed_s)
            inter = read(entry.get("intermediate"), preset, cond, "intermediate", seed)
            if inter and "xcopa" in inter:
                for lang, v in inter["xcopa"].items():
                    add(preset, cond, seed, "intermediate", "xcopa", lang, "accuracy", v, entry["intermediate"])
            # each task's own English dev score, from every fold's intermediate run of a language-fold condition
            fold_inter = [fe.get("intermediate") for fe in entry.get("folds") or [] if fe.get("intermediate")]
            for k, rel in enumerate(fold_inter or [entry.get("intermediate")]):
                rec = (
                    inter
                    if rel == entry.get("intermediate")
                    else read(rel, preset, cond, f"intermediate {k + 1}", seed)
                )
                for name, scores in english_dev_scores(rec):
                    for metric, v in scores.items():
                        add(preset, cond, seed, "intermediate", f"dev:{name}", "en", metric, v, rel)
            for phase, rel in entry.get("tatoeba", {}).items():
                tat = read(rel, preset, cond, f"tatoeba on the {phase} checkpoint", seed)
                if tat:
                    for lang, v in tat["top1"].items():
                        add(preset, cond, seed, phase, "tatoeba", lang, "top1", v, rel)
                    add(preset, cond, seed, phase, "tatoeba", "avg", "top1", tat["avg"], rel)
            for phase, rel in entry.get("bucc2018", {}).items():  # BUCC 2018 mining F1, dev split (XTREME, jiant)
                bu = read(rel, preset, cond, f"bucc2018 on the {phase} checkpoint", seed)
                if bu:
                    for lang, v in bu["languages"].items():
                        add(preset, cond, seed, phase, "bucc2018", lang, "f1", v["f1"], rel)
                    add(preset, cond, seed, phase, "bucc2018", "avg", "f1", bu["avg"]["f1"], rel)
            for task, rel in entry.get("targets", {}).items():
                m = read(rel, preset, cond, f"target {task}", seed)
                if not m:
                    continue
                # XTREME-R targets name their headline metrics; pos / ner steps predate that field.
                metrics = list(m.get("metrics") or (("accuracy", "seqeval_f1") if task == "pos" else ("span_f1",)))
                langs = m["languages"]
                from_runs = m.get("from_runs") or {}  # a language-fold record: the fold run that scored each language
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
                        add(preset, cond, seed, "target", task, lang, metric, d[metric], from_runs.get(lang, rel))
                        if lang != "en":
                            vals.append(d[metric])
                    if vals:  # zero-shot average: English (in-language) excluded
                        add(preset, cond, seed, "target", task, "avg", metric, sum(vals) / len(vals), rel)
                if "ewt_test_accuracy" in m:
                    run = from_runs.get("en", rel)
                    add(preset, cond, seed, "target", task, "en-ewt", "accuracy", m["ewt_test_accuracy"], run)
                for metric in ("span_f1", "span_f1_strict") if task == "ner" else ():
                    # UNER-trained NER: the English EWT-test check, and CoNLL-2002 as a second evaluation under its
                    # own guideline (task ner-conll2002, with its own average, never in the UNER one)
                    if metric in (m.get("ewt_test") or {}):
                        add(preset, cond, seed, "target", task, "en-ewt", metric, m["ewt_test"][metric], rel)
                    second = [(lang, d[metric]) for lang, d in (m.get("conll2002") or {}).items() if metric in d]
                    for lang, v in second:
                        add(preset, cond, seed, "target", SECOND_NER, lang, metric, v, rel)
                    if second:
                        add(
                            preset,
                            cond,
                            seed,
                            "target",
                            SECOND_NER,
                            "avg",
                            metric,
                            sum(v for _, v in second) / len(second),
                            rel,
                        )
    df = pd.DataFrame(rows, columns=COLUMNS + (VARIANT_COLUMNS if variants else []))
    lines = [damaged_line(path, d) for path, d in sorted(damaged.items())]
    df.attrs["damaged"] = lines
    df.attrs["retired"] = retired
    df.attrs["variants"] = sorted(set(found_variants))
    df.attrs["in_language"] = in_language  # "preset/condition" -> {language: task}: zero_shot False, shown apart
    df.attrs["folds"] = folds  # "preset/condition" -> each fold's training languages (intermediate.language_folds)
    if report:
        for line in retired:
            if line not in _REPORTED:
                _REPORTED.add(line)
                print(f"xit: {line}: left out of the results (restore the file to show them)", file=sys.stderr)
    if report:
        for path, line in zip(sorted(damaged), lines):
            p = Path(path)
            st = p.stat() if p.exists() else None
            key = (str(p.resolve()), st.st_size if st else None, st.st_mtime_ns if st else None)
            if key not in _REPORTED:
                _REPORTED.add(key)
                print(line, file=sys.stderr, flush=True)
    return df


#: the English dev metrics an intermediate record's ``english_dev`` holds per task (beside ``examples``, the number of
#: dev items); any other field there (a dev curve, a stopped step) is not a score and is not read
DEV_METRICS = ("accuracy", "f1", "exact_match")


def english_dev_scores(record: dict | None) -> list[tuple[str, dict[str, float]]]:
    """``[(task, {metric: value, "examples": n})]`` from an intermediate record's ``english_dev``: only the dev
    scores (:data:`DEV_METRICS`, numbers) and the item count; other fields are left alone."""
    out = []
    for name, scores in ((record or {}).get("english_dev") or {}).items():
        if not isinstance(scores, dict):
            continue
        keep = {
            k: float(v)
            for k, v in scores.items()
            if k in (*DEV_METRICS, "examples") and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if any(k in DEV_METRICS for k in keep):
            out.append((str(name), keep))
    return out


def _fold_languages(seeds: dict) -> list[list[str]]:
    """The training languages of each fold of a language-fold condition (the first seed that lists folds), or []."""
    for entry in seeds.values():
        folds = [list(fe.get("languages") or []) for fe in (entry or {}).get("folds") or []]
        if folds:
            return folds
    return []


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
    # names damaged records on stderr (once per process); variants only when one is asked for by name
    df = load_results(runs_dir, variants=any(committed_name(c) != c for c in conditions or []))
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
    second = df[(df.task == SECOND_NER) & (df.language == "avg") & (df.metric == "span_f1")]
    if not second.empty:  # UNER-trained NER's second evaluation, under CoNLL-2002's guideline
        conll = second.groupby("condition").value.mean()
        table["NER CoNLL-2002 F1 avg (conlleval)"] = conll.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table["Tatoeba avg"] = tat.map(lambda v: f"{v:.1f}").reindex(table.index).fillna("")
    table.columns.name = (
        "POS accuracy (%) by language; NER span F1 (seqeval default = conlleval; strict IOB2); "
        "Tatoeba top-1 (English queries)"
    )
    return table


# ---------------------------------------------------------------- the narrow view of `xit results`

#: the metric a task shows by default, first match wins (``--task`` shows all of that task's metrics)
HEADLINE_METRICS = ("accuracy", "span_f1", "f1", "top1", "exact_match")
TASK_LABELS = {
    "pos": "POS",
    "ner": "NER",
    SECOND_NER: "NER (CoNLL-2002)",
    "tatoeba": "Tatoeba",
    "xcopa": "XCOPA",
    "mlm": "MLM",
}


def _allowed(what: str, asked: list[str], present, flag: str) -> None:
    from .errors import DataError

    present = sorted({str(x) for x in present})
    unknown = [a for a in asked if a not in present]
    if unknown:
        raise DataError(f"{flag}: {what} {', '.join(unknown)} not in the results; allowed: {', '.join(present)}")


def filter_results(
    df: pd.DataFrame,
    runs_dir,
    preset: str | None = None,
    conditions: list[str] | None = None,
    tasks: list[str] | None = None,
    languages: list[str] | None = None,
) -> pd.DataFrame:
    """Rows of ``df`` for the asked preset / conditions / tasks / languages.

    An empty run store, an unknown preset or a value with no rows raises :class:`~xitcore.errors.DataError` with
    one line naming what is allowed."""
    from .errors import DataError

    if df.empty:
        raise DataError(
            f"run store '{runs_dir}' has no results (no condition index under {Path(runs_dir) / 'index'}); "
            "run a condition first, e.g. xit run params/smoke/no-intermediate.yaml"
        )
    if preset is not None:
        have = sorted(set(df.preset))
        if preset not in have:
            known = (params_root() / preset).is_dir()
            what = f"preset '{preset}' has no results in '{runs_dir}'" if known else f"preset '{preset}' is unknown"
            raise DataError(f"--preset: {what}; presets with results: {', '.join(have)}")
        df = df[df.preset == preset]
    if conditions:
        _allowed("condition(s)", conditions, df.condition, "--condition")
        df = df[df.condition.isin(conditions)]
    if tasks:
        _allowed("task(s)", tasks, df.task, "--task")
        df = df[df.task.isin(tasks)]
    if languages:
        _allowed("language(s)", languages, df.language, "--language")
        df = df[df.language.isin(languages)]
    return df.reset_index(drop=True)


def _condition_order(conditions) -> list[str]:
    from .book.tables import ordered_conditions

    return ordered_conditions(conditions)


def results_view(df: pd.DataFrame, tasks: list[str] | None = None, languages: list[str] | None = None) -> pd.DataFrame:
    """Narrow table: one row per (preset,) condition, one column per task x language, seed mean ± sd.

    Default columns: each target task's headline metric in English and on the zero-shot average, and
    Tatoeba's average (intermediate checkpoint, else the MLM one); ``tasks`` shows every metric of those
    tasks (any phase), ``languages`` those languages instead of English + average."""
    from .book.tables import ordered_languages

    if tasks is None:
        df = df[((df.phase == "target") & (df.task != "mlm")) | (df.task == "tatoeba")]
    df = df[df.language != "en-ewt"] if not languages or "en-ewt" not in languages else df
    cols: dict[str, pd.Series] = {}
    by_preset = df.preset.nunique() > 1
    keys = ["preset", "condition"] if by_preset else ["condition"]
    task_order = [t for t in TASK_LABELS if t in set(df.task)] + sorted(set(df.task) - set(TASK_LABELS))
    for task in task_order:
        t = df[df.task == task]
        if task == "tatoeba":  # retrieval before target training, as the paper: intermediate, else MLM
            inter = t[t.phase == "intermediate"]
            done = set(map(tuple, inter[keys].drop_duplicates().values))
            t = pd.concat([inter, t[(t.phase == "mlm") & ~t[keys].apply(tuple, axis=1).isin(done)]])
        metrics = sorted(set(t.metric))
        if tasks is None:
            head = [m for m in HEADLINE_METRICS if m in metrics]
            metrics = head[:1] or metrics[:1]
        langs = ordered_languages(set(t.language))
        if languages:
            langs = [l for l in langs if l in languages]
        elif tasks is None:
            langs = [l for l in langs if l in ("en", "avg")] or langs[-1:]
        for metric in metrics:
            for lang in langs:
                rows = t[(t.metric == metric) & (t.language == lang)]
                if rows.empty:
                    continue
                g = rows.groupby(keys).value.agg(["mean", "std"])
                name = f"{TASK_LABELS.get(task, task)} {lang}" + (f" {metric}" if len(metrics) > 1 else "")
                cols[name] = g.apply(
                    lambda r: (
                        f"{r['mean']:.1f}" + (f"±{r['std']:.1f}" if r["std"] == r["std"] and r["std"] > 0 else "")
                    ),
                    axis=1,
                )
    seeds = df[df.seed > 0].groupby(keys).seed.nunique()
    table = pd.DataFrame(cols)
    table.insert(0, "seeds", seeds.reindex(table.index).fillna(0).astype(int).astype(str).replace("0", ""))
    table = table.fillna("")
    if by_preset:
        order = [(p, c) for p in sorted(set(df.preset)) for c in _condition_order(df[df.preset == p].condition)]
        table = table.reindex([k for k in order if k in table.index])
    else:
        table = table.reindex([c for c in _condition_order(table.index) if c in table.index])
    return table
