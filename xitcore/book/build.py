"""Build the book: execute the notebooks with papermill, write the table of contents, run jupyter-book.

    build_book("smoke", [("no-intermediate", "params/smoke/no-intermediate.yaml"), ...], "runs")

1. ``notebooks/condition.ipynb`` is executed once per condition into
   ``<book>/chapters/<preset>/<condition>.ipynb`` with the condition's YAML file as papermill
   parameters (plus ``seeds`` if given); running it runs or reuses the condition's pipeline.
2. ``comparison``, ``claims`` and ``explore`` are executed into the same folder.
3. ``<book>/chapters/<preset>/versions.md`` (software versions, git commit, data checksums) and
   ``<book>/_toc.yml`` are written.
4. ``jupyter-book build <book> -W -n --keep-going --all`` turns it into HTML (warnings are
   errors, but every page is still attempted); notebooks are not re-executed
   (``execute_notebooks: "off"`` in ``_config.yml``).

A chapter that fails keeps papermill's output notebook (it shows the failing cell, and the
book includes it), gets one ``xit book: chapter ... FAILED: ...`` line, and the build goes on;
the return value is then non-zero.  ``python -m xitcore.book.build --help`` is a small CLI.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

import yaml

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PARAMS = REPO / "params"
#: keys a params/<preset>/<condition>.yaml may have (each is a parameter of condition.ipynb)
PARAM_KEYS = ("preset", "condition", "description", "seeds", "intermediate", "mlm", "model")
JB_FLAGS = ("-W", "-n", "--keep-going", "--all")
VERSION_PACKAGES = ("torch", "transformers", "tokenizers", "accelerate", "datasets", "evaluate", "seqeval",
                    "safetensors", "numpy", "pandas", "pyyaml", "papermill", "nbclient", "ipykernel",
                    "jupyter-book", "sphinx", "myst-nb", "sphinx-book-theme", "matplotlib", "seaborn",
                    "ipywidgets", "scipy", "tqdm")


@dataclass
class Chapter:
    name: str           # "en-qa", "comparison", ...
    template: Path      # notebooks/<template>.ipynb
    output: Path        # <book>/chapters/<preset>/<name>.ipynb
    parameters: dict
    title: str | None = None
    subtitle: str | None = None
    ok: bool = False
    error: str = ""


def _log_default(msg: str) -> None:
    from tqdm import tqdm
    tqdm.write(msg, file=sys.stderr)


def discover_conditions(preset: str, params_root: Path | str = PARAMS) -> list[tuple[str, Path]]:
    """``(name, path)`` for every ``<params_root>/<preset>/*.yaml`` (not ``_*.yaml``, the preset
    defaults), in the book's order."""
    from .tables import ordered_conditions
    folder = Path(params_root) / preset
    files = {p.stem: p for p in sorted(folder.glob("*.yaml")) if not p.name.startswith("_")}
    return [(n, files[n]) for n in ordered_conditions(files)]


def load_params(path: Path | str) -> dict:
    """The YAML mapping of one condition file (``yaml.safe_load``); ValueError if not a mapping."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with keys {', '.join(PARAM_KEYS)}")
    return data


def _notebook_parameter_names(template: Path) -> set[str]:
    import papermill as pm
    return set(pm.inspect_notebook(str(template)).keys())


def execute(chapter: Chapter, cwd: Path, kernel_name: str = "python3", quiet_progress: bool = True) -> None:
    """Run one chapter with papermill; fills ``chapter.ok`` / ``chapter.error``.

    ``quiet_progress`` sets ``TQDM_DISABLE=1`` for the kernel: progress bars would otherwise be
    stored as ipywidgets that a static book cannot show (the pipeline's log lines stay)."""
    import papermill as pm
    chapter.output.parent.mkdir(parents=True, exist_ok=True)
    saved = os.environ.get("TQDM_DISABLE")
    if quiet_progress:
        os.environ["TQDM_DISABLE"] = "1"
    try:
        pm.execute_notebook(str(chapter.template), str(chapter.output), parameters=chapter.parameters,
                            kernel_name=kernel_name, cwd=str(cwd), progress_bar=False, log_output=False,
                            report_mode=False)
        chapter.ok = True
    except pm.PapermillExecutionError as e:
        chapter.error = f"cell {e.exec_count}: {e.ename}: {e.evalue}"
    except Exception as e:  # kernel died, bad notebook, ...: still one clear line
        chapter.error = f"{type(e).__name__}: {e}"
    finally:
        if saved is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = saved
    if chapter.output.exists():
        retitle(chapter.output, chapter.title, chapter.subtitle)


def _execute_in_worker(chapter: Chapter, cwd: Path, kernel_name: str) -> Chapter:
    execute(chapter, cwd, kernel_name)
    return chapter


def _execute_all(chapters: list[Chapter], cwd: Path, kernel_name: str, jobs: int, bar) -> list[Chapter]:
    """Execute ``chapters`` (``jobs`` kernels at once) and update them in place; invalid ones are skipped.

    Each chapter is a separate kernel, mostly waiting on imports and plotting, so two at a time roughly
    halve the book's time on a 2-core machine."""
    todo = [c for c in chapters if not c.error]
    bar.update(len(chapters) - len(todo))
    if jobs <= 1 or len(todo) <= 1:
        for ch in todo:
            bar.set_postfix_str(ch.name)
            execute(ch, cwd, kernel_name)
            bar.update(1)
        return chapters
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_execute_in_worker, ch, cwd, kernel_name): ch for ch in todo}
        for fut in as_completed(futures):
            ch = futures[fut]
            try:
                done = fut.result()
                ch.ok, ch.error = done.ok, done.error
            except Exception as e:  # the worker process itself died
                ch.ok, ch.error = False, f"{type(e).__name__}: {e}"
            bar.set_postfix_str(ch.name)
            bar.update(1)
    return chapters


def retitle(path: Path, title: str | None, subtitle: str | None = None) -> None:
    """Replace the first ``# heading`` of an executed notebook, and put it first (before papermill's
    error banner, if any), so the page is titled after its condition."""
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            if title:
                lines = cell.source.lstrip().splitlines()
                lines[0] = f"# {title}"
                if subtitle:
                    lines[1:1] = ["", subtitle]
                cell.source = "\n".join(lines)
            if i:
                nb.cells.insert(0, nb.cells.pop(i))
            break
    nbformat.write(nb, str(path))


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=20,
                              check=True).stdout.strip()
    except Exception:
        return ""


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def write_versions(path: Path, preset: str, conditions: Sequence[str], runs_dir: str,
                   seeds: Sequence[int] | None, argv: Sequence[str] | None = None) -> None:
    """Markdown page with the environment this book was built in."""
    sha = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    checks = REPO / "data" / "CHECKSUMS.sha256"
    data_sum = hashlib.sha256(checks.read_bytes()).hexdigest()[:16] if checks.exists() else "missing"
    lines = [
        "# Environment and versions", "",
        f"Generated by `xitcore.book.build` on {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC "
        "while this book was built.", "",
        "| what | value |", "| --- | --- |",
        f"| preset | `{preset}` |",
        f"| conditions | {', '.join(f'`{c}`' for c in conditions) or '(none)'} |",
        f"| seeds | {'from each params file' if seeds is None else ', '.join(map(str, seeds))} |",
        f"| run store | `{runs_dir}` |",
        f"| git commit | `{sha}`{' (working tree had uncommitted changes)' if dirty else ''} |",
        f"| `data/CHECKSUMS.sha256` (sha256, first 16) | `{data_sum}` |",
        f"| python | {platform.python_version()} ({platform.python_implementation()}) |",
        f"| platform | {platform.platform()} |",
        f"| CPU cores | {os.cpu_count()} |",
        "", "| package | version |", "| --- | --- |",
    ]
    lines += [f"| {p} | {_version(p)} |" for p in VERSION_PACKAGES]
    if argv:
        lines += ["", "Command:", "", "```text", " ".join(argv), "```"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def toc_text(preset: str, conditions: Sequence[str]) -> str:
    """The ``_toc.yml`` for one preset (jb-book format, parts with captions)."""
    d = f"chapters/{preset}"
    toc = {
        "format": "jb-book",
        "root": "intro",
        "parts": [  # results first: what a reader came for; then each condition; then how to redo it
            {"caption": f"Results ({preset})", "chapters": [{"file": f"{d}/comparison"}, {"file": f"{d}/claims"}]},
            {"caption": f"Conditions ({preset})", "chapters": [{"file": f"{d}/{c}"} for c in conditions]},
            {"caption": "Tools", "chapters": [{"file": f"{d}/explore"}]},
            {"caption": "Reproducibility", "chapters": [{"file": "reproducibility"}, {"file": "log"},
                                                        {"file": f"{d}/versions"}]},
        ],
    }
    if not conditions:
        toc["parts"].pop(1)
    head = "# Generated by xitcore.book.build (build_book); edits are overwritten.\n"
    return head + yaml.safe_dump(toc, sort_keys=False)


def jupyter_book_command(book_dir: Path) -> list[str]:
    exe = Path(sys.executable).parent / "jupyter-book"
    exe = str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")
    return [exe, "build", str(book_dir), *JB_FLAGS]


def run_jupyter_book(book_dir: Path, log: Callable[[str], None]) -> int:
    cmd = jupyter_book_command(book_dir)
    log("xit book: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-40:])
        log(f"xit book: jupyter-book build FAILED (exit {proc.returncode}); last lines:\n{tail}")
    return proc.returncode


def build_book(preset: str, conditions: Sequence[tuple[str, str | Path]], runs_dir: str | Path = "runs",
               book_dir: str | Path = "book", seeds: Sequence[int] | None = None, *, device: str | None = None,
               backend: str | None = None, kernel_name: str = "python3", html: bool = True,
               notebooks_dir: str | Path = NOTEBOOKS, log: Callable[[str], None] | None = None,
               argv: Sequence[str] | None = None, jobs: int | None = None) -> int:
    """Execute every chapter and build the HTML book; 0 if everything succeeded, 1 otherwise.

    ``conditions``: ``(name, params_path)`` pairs (see ``discover_conditions``), shown in the book's
    order (``tables.ordered_conditions``: reference, en-*, ml-*); ``seeds`` overrides
    the params files' seeds; ``device`` is passed to the condition notebooks if given;
    ``backend`` is for tests only (``xitcore.book.use_backend``); ``html=False`` skips jupyter-book;
    ``jobs``: notebooks executed at once (default: 2, or 1 on a single core).
    """
    from tqdm import tqdm
    log = log or _log_default
    jobs = jobs if jobs is not None else max(1, min(2, os.cpu_count() or 1))
    book_dir = Path(book_dir)
    nb_dir = Path(notebooks_dir)
    out_dir = book_dir / "chapters" / preset
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = str(runs_dir)
    common = {"runs_dir": runs, **({"backend": str(backend)} if backend else {})}
    seeds_list = [int(s) for s in seeds] if seeds is not None else None
    allowed = _notebook_parameter_names(nb_dir / "condition.ipynb")

    chapters: list[Chapter] = []
    problems: list[str] = []
    from .tables import ordered_conditions
    rank = {n: i for i, n in enumerate(ordered_conditions(n for n, _ in conditions))}
    for name, params_path in sorted(conditions, key=lambda c: rank[c[0]]):  # the book's order
        ch = Chapter(name, nb_dir / "condition.ipynb", out_dir / f"{name}.ipynb", {}, title=name)
        try:
            params = load_params(params_path)
            unknown = sorted(set(params) - allowed)
            if unknown:
                raise ValueError(f"{params_path}: key(s) {', '.join(unknown)} are not parameters of "
                                 f"condition.ipynb (allowed: {', '.join(sorted(allowed - set(common)))})")
            if params.get("preset", preset) != preset:
                raise ValueError(f"{params_path}: preset {params['preset']!r}, but the book is for {preset!r}")
            if params.get("condition", name) != name:
                raise ValueError(f"{params_path}: condition {params['condition']!r}, but the chapter is {name!r}")
        except (OSError, ValueError, yaml.YAMLError) as e:
            ch.error = str(e)
            problems.append(name)
            chapters.append(ch)
            continue
        params = {**params, "preset": preset, "condition": name, **common}
        if seeds_list is not None:
            params["seeds"] = seeds_list
        if device is not None:
            params["device"] = device
        ch.parameters = params
        ch.subtitle = str(params.get("description") or "") or None
        chapters.append(ch)
    names = [c.name for c in chapters]
    shared = {"preset": preset, **common, **({"seeds": seeds_list} if seeds_list is not None else {})}
    ledger = (out_dir / "ledger.yaml").resolve()
    chapters += [
        Chapter("comparison", nb_dir / "comparison.ipynb", out_dir / "comparison.ipynb",
                {**shared, "conditions": names}, title=f"Comparison across conditions ({preset})"),
        Chapter("claims", nb_dir / "claims.ipynb", out_dir / "claims.ipynb",
                {**shared, "ledger_path": str(ledger)}, title=f"Claims ledger ({preset})"),
        Chapter("explore", nb_dir / "explore.ipynb", out_dir / "explore.ipynb",
                {**shared, "interactive": False}, title=f"Explorer ({preset})"),
    ]

    for ch in chapters:  # never show a previous build's page for a chapter that fails now
        for stale in (ch.output, ch.output.with_suffix(".md")):
            if stale.exists():
                stale.unlink()
    bar = tqdm(total=len(chapters), desc=f"book {preset}", unit="chapter", file=sys.stderr, dynamic_ncols=True)
    n_cond = len(names)
    # Condition chapters first (they may run pipeline steps), then the chapters that read across them.
    for batch in (chapters[:n_cond], chapters[n_cond:]):
        for ch in _execute_all(batch, Path.cwd(), kernel_name, jobs, bar):
            if ch.error:
                kept = f" (executed notebook kept: {ch.output})" if ch.output.exists() else ""
                log(f"xit book: chapter {preset}/{ch.name} FAILED: {ch.error}{kept}")
    bar.close()

    write_versions(out_dir / "versions.md", preset, names, runs, seeds_list, argv)
    in_toc = [c.name for c in chapters[:len(names)] if c.output.exists()]
    (book_dir / "_toc.yml").write_text(toc_text(preset, in_toc), encoding="utf-8")
    for c in chapters[len(names):]:
        if not c.output.exists():  # keep the toc valid: a placeholder page naming the failure
            c.output.with_suffix(".md").write_text(f"# {c.title}\n\nThis chapter failed to run: {c.error}\n",
                                                    encoding="utf-8")

    failed = [c for c in chapters if not c.ok]
    rc = 0
    if html:
        rc = run_jupyter_book(book_dir, log)
        if rc == 0:
            log(f"xit book: HTML in {book_dir / '_build' / 'html' / 'index.html'}")
    if failed:
        log(f"xit book: {len(failed)} of {len(chapters)} chapter(s) failed: {', '.join(c.name for c in failed)}")
    return 1 if failed or rc != 0 else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m xitcore.book.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="smoke")
    ap.add_argument("--condition", action="append", default=None, metavar="NAME[=PARAMS.yaml]",
                    help="repeatable; default: every params/<preset>/*.yaml")
    ap.add_argument("--runs-dir", default="runs")
    ap.add_argument("--book-dir", default=str(REPO / "book"))
    ap.add_argument("--seeds", default=None, help="comma-separated, overrides the params files")
    ap.add_argument("--device", default=None)
    ap.add_argument("--no-html", action="store_true", help="execute the notebooks only")
    a = ap.parse_args(argv)
    if a.condition:
        conds = []
        for item in a.condition:
            name, _, path = item.partition("=")
            conds.append((name, Path(path) if path else PARAMS / a.preset / f"{name}.yaml"))
    else:
        conds = discover_conditions(a.preset)
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else None
    return build_book(a.preset, conds, a.runs_dir, a.book_dir, seeds, device=a.device, html=not a.no_html,
                      argv=["python -m xitcore.book.build", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
