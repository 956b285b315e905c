"""``xit`` command line: run a condition, a whole preset, show results, build the book.

Bad input (unknown params key, wrong type, unknown task/language, missing data) prints one
``xit: error: ...`` line and exits with code 2, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from .errors import XitError


def _overrides(items: list[str] | None) -> dict:
    from .config import deep_merge, parse_override

    out: dict = {}
    for it in items or []:
        out = deep_merge(out, parse_override(it))
    return out


def _seed_list(text: str | None):
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        from .errors import ConfigError

        raise ConfigError(f"--seeds must be comma-separated integers, got '{text}'") from None


def _load(path: str, args, name: str | None = None):
    from .config import deep_merge, load_condition

    over = _overrides(args.set)
    seeds = _seed_list(getattr(args, "seeds", None))
    if seeds:
        over = deep_merge(over, {"seeds": seeds})
    return load_condition(path, over, name=name)


def cmd_run(args) -> int:
    from .pipeline import run_condition

    cfg = _load(args.params, args, name=args.name)
    if args.dry_run:
        from .plan import format_plan

        print(format_plan(_plan_of([cfg], args)))
        print("\nresolved config:\n" + json.dumps(cfg.to_dict(), indent=2))
        return 0
    run_condition(cfg, args.runs_dir)
    print_summary(args.runs_dir, cfg.preset, [cfg.condition])
    return 0


def plan(cfg) -> dict:
    """What a run would do, offline: steps (shared ones marked), data sets, languages, estimated GPU hours."""
    from .plan import build_plan

    return build_plan(cfg, os.environ.get("XIT_RUNS", "runs")).to_dict()


def _plan_of(cfgs, args):
    from .errors import ConfigError
    from .plan import Assumptions, build_plan

    if not 0 < args.mfu <= 1:
        raise ConfigError(f"--mfu must be in (0, 1], got {args.mfu}")
    return build_plan(cfgs, args.runs_dir, Assumptions(mfu=args.mfu))


def _preset_paths(name: str, only: str | None):
    from .config import preset_conditions

    paths = preset_conditions(name)
    if only:
        wanted = only.split(",")
        unknown = [w for w in wanted if w not in [p.stem for p in paths]]
        if unknown:
            from .errors import ConfigError

            raise ConfigError(
                f"--only: condition(s) {', '.join(unknown)} unknown; allowed: {', '.join(p.stem for p in paths)}"
            )
        paths = [p for p in paths if p.stem in wanted]
    return paths


def _timeout_min(text: str) -> int | None:
    """--timeout-min: minutes, or auto (None: each job the time its plan asks for)."""
    from .errors import ConfigError

    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"--timeout-min must be a number of minutes >= 1 or auto, got '{text}'")
    return value


def cmd_grid(args) -> int:
    """Every (condition, seed) unit of a preset as a submitit job (local processes or Slurm)."""
    from .config import deep_merge, load_condition

    over = _overrides(args.set)
    seeds = _seed_list(args.seeds)
    if seeds:
        over = deep_merge(over, {"seeds": seeds})
    paths = _preset_paths(args.name, args.only)
    timeout = _timeout_min(args.timeout_min)
    if args.dry_run:
        from .errors import ConfigError
        from .plan import Assumptions, build_plan, format_plan

        if not 0 < args.mfu <= 1:
            raise ConfigError(f"--mfu must be in (0, 1], got {args.mfu}")
        a = Assumptions(mfu=args.mfu, device=args.plan_device, bench_device=args.bench_device)
        plan = build_plan([load_condition(p, over) for p in paths], args.runs_dir, a)
        print(format_plan(plan))
        if plan.timeout_min:
            extra = "".join(
                f" {flag} {value}"
                for flag, value in (("--account", args.account), ("--qos", args.qos), ("--mem", args.mem))
                if value
            ) + "".join(f" --sbatch {kv}" for kv in args.sbatch or [])
            print(
                f"\nsubmit: xit grid {args.name} --executor slurm --timeout-min {plan.timeout_min}{extra}\n"
                f"    or --timeout-min auto: each job asks for its own time above (the same plan, computed at "
                f"submission)"
                + (f"; --timeout-min {timeout} would cut jobs short" if timeout and timeout < plan.timeout_min else "")
            )
        return 0
    try:
        from .grid import GridOptions, parse_sbatch, run_grid
    except ImportError as e:
        print(f"xit: error: grid needs submitit ({e}); install it with pip install submitit", file=sys.stderr)
        return 2
    parallel = args.max_parallel
    if parallel is None:
        parallel = 0 if args.executor == "slurm" else max(1, min(2, os.cpu_count() or 1))
    opts = GridOptions(
        executor=args.executor,
        max_parallel=parallel,
        timeout_min=timeout,
        slurm_partition=args.slurm_partition,
        gpus=args.gpus,
        cpus_per_task=args.cpus_per_task,
        folder=args.folder,
        account=args.account,
        qos=args.qos,
        mem=args.mem,
        sbatch=parse_sbatch(args.sbatch),
        mfu=args.mfu,
    )
    res = run_grid(args.name, paths, args.runs_dir, opts, over, log=lambda m: print(f"[xit] {m}", flush=True))
    if res.indexed:
        print_summary(args.runs_dir, args.name, res.indexed)
    print(
        f"[xit] grid {args.name}: {len(res.submitted)} unit(s) submitted, {len(res.already_done)} already finished, "
        f"{len(res.indexed)} condition(s) indexed"
    )
    if res.failed:
        for what, why in res.failed:
            print(f"xit: {what} failed: {why}", file=sys.stderr)
        print("xit: run the same command again to rerun only the unfinished steps", file=sys.stderr)
        return 1
    return 0


def _run_unit(args_tuple):
    """Worker: one (condition, seed) with a single torch thread; the run store's locks prevent duplicates."""
    path, seed, overrides, runs_dir = args_tuple
    from .config import deep_merge, load_condition
    from .pipeline import run_condition

    cfg = load_condition(path, deep_merge(overrides, {"seeds": [seed], "num_threads": 1}))
    run_condition(cfg, runs_dir, write_index=False)
    return path, seed


def cmd_preset(args) -> int:
    from .config import deep_merge, load_condition, preset_conditions
    from .pipeline import log, run_condition, run_data_steps, run_shared_steps

    t0 = time.time()
    over = _overrides(args.set)
    seeds = _seed_list(args.seeds)
    if seeds:
        over = deep_merge(over, {"seeds": seeds})
    paths = preset_conditions(args.name)
    if args.only:
        wanted = args.only.split(",")
        unknown = [w for w in wanted if w not in [p.stem for p in paths]]
        if unknown:
            from .errors import ConfigError

            raise ConfigError(
                f"--only: condition(s) {', '.join(unknown)} unknown; allowed: {', '.join(p.stem for p in paths)}"
            )
        paths = [p for p in paths if p.stem in wanted]
    cfgs = [load_condition(p, over) for p in paths]  # validate every condition before running any
    log(
        f"preset {args.name}: {len(cfgs)} conditions x seeds {cfgs[0].seeds}, {args.jobs} job(s), runs in "
        f"{args.runs_dir}"
    )
    # Shared phase-(i) steps first, with every core: one pass per distinct pre-training set-up (a control
    # such as no-pretraining has its own), the most common first.
    setups: dict[str, list] = {}
    for c in cfgs:
        d = c.to_dict()
        setups.setdefault(
            json.dumps([d[k] for k in ("corpus", "tokenizer", "model", "mlm")], sort_keys=True), []
        ).append(c)
    for group in sorted(setups.values(), key=len, reverse=True):
        run_shared_steps(group[0], args.runs_dir)
    run_data_steps(cfgs, args.runs_dir)  # frozen-layer output and tokenised corpora, once for every unit
    units = [(str(p), s, over, args.runs_dir) for p, c in zip(paths, cfgs) for s in c.seeds]
    if args.jobs > 1:
        import multiprocessing as mp

        from tqdm.auto import tqdm

        # Workers persist across units: each spawn re-imports torch and transformers (seconds per unit), and
        # a worker parses the evaluation treebanks once (tasks' caches).
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            for _ in tqdm(
                pool.imap_unordered(_run_unit, units), total=len(units), desc="condition x seed", dynamic_ncols=True
            ):
                pass
            pool.close()  # let the persistent workers exit on their own: terminate() can leak their semaphores
            pool.join()
    for cfg in cfgs:  # everything is finished now: this only reuses steps and writes the indexes
        run_condition(cfg, args.runs_dir)
    print_summary(args.runs_dir, args.name, [c.condition for c in cfgs])
    log(f"preset {args.name} finished in {time.time() - t0:.0f} s; results in {Path(args.runs_dir).resolve()}")
    if not args.no_book:
        return build_book_for(args)
    return 0


def build_book_for(args) -> int:
    """The book of ``args.name`` from the runs in ``args.runs_dir``: the conditions of ``--only`` (default:
    every condition of the preset that has runs; the others are listed as not run, with the command that runs
    them), each checked against the config of its params file plus ``--set``."""
    try:
        from .book.build import REPO, build_book
    except ImportError as e:  # book extras not installed
        print(f"xit: book not built ({e}); install with pip install -e '.[book]'", file=sys.stderr)
        return 1
    only = getattr(args, "only", None)
    conditions = [(p.stem, str(p)) for p in _preset_paths(args.name, only)]
    sets = list(getattr(args, "set", None) or [])
    book_dir = Path(getattr(args, "book_dir", None) or REPO / "book")
    runs_opt = "" if str(args.runs_dir) == "runs" else f" --runs-dir {args.runs_dir}"
    only_opt = f" --only {only}" if only else ""
    command = f"xit{runs_opt} book {args.name}{only_opt}" + "".join(f" --set {shlex.quote(s)}" for s in sets)
    # without --only: the book of the conditions that were run; the others are listed with the command that runs them
    rc = build_book(args.name, conditions, args.runs_dir, book_dir, sets=sets, argv=[command], not_run_ok=not only)
    html = (book_dir / "_build" / "html" / "index.html").resolve()
    if html.exists():
        print(f"[xit] book: {html}")
    return rc


def cmd_book(args) -> int:
    return build_book_for(args)


def print_summary(runs_dir, preset: str, conditions: list[str]) -> None:
    from .results import summary_table

    table = summary_table(runs_dir, preset, conditions)
    if table is not None and len(table):
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 40, "display.max_rows", 200):
            print(table.to_string())


def _csv_list(text: str | None) -> list[str] | None:
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def cmd_results(args) -> int:
    """The results table, filtered: narrow by default (English + zero-shot average per task), ``--wide`` per
    language, ``--csv`` long format. An empty run store or an unknown preset / condition / task / language is
    one ``xit: error`` line (exit 2)."""
    import pandas as pd

    from .results import filter_results, load_results, results_view, summary_table

    conditions, tasks, languages = _csv_list(args.condition), _csv_list(args.task), _csv_list(args.language)
    loaded = load_results(args.runs_dir, variants=args.variants)
    df = filter_results(loaded, args.runs_dir, args.preset, conditions, tasks, languages)
    if args.variants:  # each variant beside the condition it varies
        from .errors import DataError

        varied = df[df.variant_of != ""]
        if varied.empty:
            raise DataError(
                f"run store '{args.runs_dir}' has no variants here; xit run with --set, seeds outside the params "
                "file's list or --name makes one"
            )
        df = df[df.condition.isin(set(varied.condition) | set(varied.variant_of))]
    if args.csv:
        df.to_csv(sys.stdout, index=False)
        return 0
    with pd.option_context("display.width", 250, "display.max_columns", 60, "display.max_rows", 500):
        if args.wide:
            for preset in sorted(set(df.preset)):
                table = summary_table(args.runs_dir, preset, sorted(set(df[df.preset == preset].condition)))
                if table is not None and len(table):
                    print(f"preset {preset}:\n{table.to_string()}")
            return 0
        table = results_view(df, tasks, languages)
        if args.variants:
            keys = list(table.index.names)
            info = df.drop_duplicates(keys).set_index(keys)
            table.insert(0, "overrides", info.overrides.reindex(table.index).fillna(""))
            table.insert(0, "config", info.config.reindex(table.index).fillna(""))
            table = table.reindex(sorted(table.index, key=lambda k: _variant_order(k, table.index)))
        print(table.to_string())
    if loaded.attrs.get("variants") and not args.variants:
        n = len(loaded.attrs["variants"])
        print(
            f"{n} variant(s) not shown (each has its own config; never in a condition's mean): xit results --variants"
        )
    print(
        "seed mean±sd; POS accuracy %, NER span F1 (conlleval), Tatoeba top-1 (English queries); avg = zero-shot\n"
        "average. --wide: every language; --task/--language/--condition/--preset filter; --csv: long table"
    )
    return 0


def _variant_order(key, index) -> tuple[int, str]:
    """Each variant right after its condition, in the table's order of conditions."""
    from .config import committed_name

    def name(k):
        return k[-1] if isinstance(k, tuple) else k

    bases = [name(k) for k in index if committed_name(name(k)) == name(k)]
    base = committed_name(name(key))
    return (bases.index(base) if base in bases else len(bases), name(key))


def _key_rows(cls=None, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) of every params key, read from the config dataclasses."""
    import dataclasses
    import typing

    from .config import ExperimentConfig

    cls = cls or ExperimentConfig
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            rows += _key_rows(tp, key + ".")
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = ""
        if isinstance(default, str):
            default = default if default else "''"
        else:
            default = json.dumps(default) if isinstance(default, (list, dict)) else str(default)
        if len(default) > 40:
            default = default[:39] + "…"
        type_name = getattr(tp, "__name__", None) if typing.get_origin(tp) is None else None
        rows.append((key, type_name or str(tp).replace("typing.", ""), default, f.metadata.get("help", "")))
    return rows


def cmd_keys(args) -> int:
    """Every params key with its type, default and help text; ``xit keys target`` for one section."""
    from .errors import ConfigError

    rows = _key_rows()
    if args.section:
        want = args.section.rstrip(".")
        rows = [r for r in rows if r[0] == want or r[0].startswith(want + ".")]
        if not rows:
            top = sorted({r[0].split(".")[0] for r in _key_rows()})
            raise ConfigError(f"params section '{args.section}' is unknown; allowed: {', '.join(top)}")
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    for key, tp, default, text in rows:
        print(f"{key:<{w[0]}}  {tp:<{w[1]}}  {default:<{w[2]}}  {text}".rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xit", description=__doc__.splitlines()[0])
    p.add_argument("--runs-dir", default=os.environ.get("XIT_RUNS", "runs"), help="run store directory (default: runs)")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser(
        "run",
        help="run one condition (all its seeds)",
        epilog="Params keys (for the YAML and --set): xit keys lists every key with its type, default and help "
        "text; xit keys target lists one section.",
    )
    r.add_argument("params", help="params/<preset>/<condition>.yaml")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a params key, e.g. mlm.steps=100")
    r.add_argument(
        "--seeds",
        help="comma-separated seeds, e.g. 1,2,3 (seeds outside the params file's list make a variant)",
    )
    r.add_argument(
        "--name",
        help="name this variant <condition>~NAME (default: from the --set keys, e.g. en-nli~lr-0.001); a --set "
        "or seed outside the params file's list always makes a variant, indexed beside the condition",
    )
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (steps, data, languages, estimated GPU hours) and the resolved config; run nothing",
    )
    r.add_argument(
        "--mfu", type=float, default=0.40, help="dry run: assumed model FLOP utilisation of an H100 (default 0.40)"
    )
    r.set_defaults(fn=cmd_run)
    g = sub.add_parser("grid", help="run every (condition, seed) unit of a preset as a submitit job (local or Slurm)")
    g.add_argument("name", help="preset name: a folder of params/")
    g.add_argument("--executor", default="local", help="local (processes on this machine) | slurm")
    g.add_argument("--slurm-partition", help="Slurm partition")
    g.add_argument(
        "--timeout-min",
        default="240",
        help="time limit per job in minutes, or auto: each job the time --dry-run asks for it (default 240)",
    )
    g.add_argument("--account", help="Slurm account (sbatch --account)")
    g.add_argument("--qos", help="Slurm quality of service (sbatch --qos)")
    g.add_argument("--mem", help="memory per Slurm job, sbatch's form (e.g. 64G)")
    g.add_argument(
        "--sbatch",
        action="append",
        metavar="KEY=VALUE",
        help="any other sbatch option, repeatable: --sbatch constraint=h100 --sbatch mail-type=END (KEY alone: a flag)",
    )
    g.add_argument(
        "--max-parallel", type=int, help="jobs running at once (0 = all; default: local 2 or the core count, slurm all)"
    )
    g.add_argument("--gpus", type=int, help="GPUs per Slurm job (default 1)")
    g.add_argument("--cpus-per-task", type=int, default=4, help="CPUs per Slurm job (default 4)")
    g.add_argument("--folder", help="submitit logs (default <runs-dir>/.submitit/<preset>)")
    g.add_argument("--runs-dir", default=argparse.SUPPRESS, help="run store directory (same as the global option)")
    g.add_argument("--set", action="append", metavar="KEY=VALUE")
    g.add_argument("--seeds")
    g.add_argument("--only", help="comma-separated condition names")
    g.add_argument(
        "--dry-run", action="store_true", help="print the grid's plan and estimated GPU hours; submit nothing"
    )
    g.add_argument(
        "--mfu", type=float, default=0.40, help="assumed model FLOP utilisation where not measured (default 0.40)"
    )
    g.add_argument(
        "--plan-device",
        choices=["cuda", "cpu"],
        help="dry run: time the grid on this device (default: the params' device; auto = cuda)",
    )
    g.add_argument(
        "--bench-device", help="dry run: use measured rows of this device (a substring of its name, e.g. H100)"
    )
    g.set_defaults(fn=cmd_grid)
    pr = sub.add_parser("preset", help="run every condition of a preset, then build the book")
    pr.add_argument("name", help="preset name: a folder of params/")
    pr.add_argument("--set", action="append", metavar="KEY=VALUE")
    pr.add_argument("--seeds")
    pr.add_argument("--only", help="comma-separated condition names")
    pr.add_argument(
        "--jobs",
        type=int,
        default=max(1, min(2, os.cpu_count() or 1)),
        help="parallel worker processes for condition x seed units (1 thread each)",
    )
    pr.add_argument("--no-book", action="store_true", help="skip building the book")
    pr.add_argument("--runs-dir", default=argparse.SUPPRESS, help="run store directory (same as the global option)")
    pr.set_defaults(fn=cmd_preset)
    b = sub.add_parser("book", help="build the HTML book from the runs (chapters read results, never train)")
    b.add_argument("name", nargs="?", default="smoke")
    b.add_argument(
        "--only",
        help="comma-separated condition names (default: every condition of the preset with runs in the store)",
    )
    b.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="the --set options the runs were made with: each chapter checks its runs match them",
    )
    b.add_argument("--book-dir", help="the book's folder (default: book/ of the repository)")
    b.add_argument("--runs-dir", default=argparse.SUPPRESS, help="run store directory (same as the global option)")
    b.set_defaults(fn=cmd_book)
    res = sub.add_parser("results", help="print the results table (narrow: English + zero-shot average per task)")
    res.add_argument("--preset", help="one preset (default: every preset with results)")
    res.add_argument("--condition", help="comma-separated condition names, e.g. no-intermediate,en-qa")
    res.add_argument("--task", help="comma-separated tasks, e.g. pos,ner (shows every metric of those tasks)")
    res.add_argument("--language", help="comma-separated languages, e.g. de,fr,avg (columns per language)")
    res.add_argument(
        "--wide",
        action="store_true",
        help="POS per language, NER and Tatoeba averages (wide; --preset and --condition apply)",
    )
    res.add_argument("--csv", action="store_true", help="long-format CSV on stdout (the filters apply)")
    res.add_argument(
        "--variants",
        action="store_true",
        help="show the variants (runs made with --set, extra seeds or --name), each beside its condition, with "
        "its config hash and overrides",
    )
    res.set_defaults(fn=cmd_results)
    k = sub.add_parser("keys", help="list every params key with its type, default and help text")
    k.add_argument("section", nargs="?", help="only keys under this section, e.g. target or eval.pos")
    k.set_defaults(fn=cmd_keys)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except XitError as e:
        print(f"xit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xit: interrupted; finished steps are kept and will be reused", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
