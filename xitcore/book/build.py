"""Build the book: convert the chapters, execute them with papermill, write the ToC, run jupyter-book.

    build_book("smoke", [("no-intermediate", "params/smoke/no-intermediate.yaml"), ...], "runs")

The chapters are MyST Markdown notebooks (``notebooks/<chapter>.md``, jupytext's ``md:myst``); they read
results and never train.

1. Each condition's runs are checked first.  A condition with no runs at all in the store (no condition index)
   is *not run*: it gets no page and one ``xit book: not run in <runs>: ...`` line with the command that runs
   it, and is no failure, unless the book was asked for it by name (``--only``).  Otherwise its condition
   index ``<runs>/index/<preset>/<condition>.json`` must have been written with the config the book asks for
   (the params file plus the ``--set`` options, seeds aside: ``xitcore.config.config_identity``).  ``--set``
   options that change what a condition computes make it a *variant* (``<condition>~<suffix>``,
   ``xitcore.config.Origin``): its chapter then reads the variant's index and runs, under the condition's
   name.  A condition that fails gets one ``xit book: chapter ... FAILED: ...`` line naming what is missing
   or different and the command that makes matching runs; it gets no page.
2. The chapters are converted to ``.ipynb`` (jupytext) in a temporary folder and executed with papermill:
   ``condition`` once per condition that passed, with the parameters ``preset``, ``condition`` and
   ``runs_dir`` only, into ``<book>/chapters/<preset>/<condition>.ipynb``; then ``answer``, ``comparison``,
   ``claims`` and ``explore`` over those conditions.  Each chapter's own ``parameters`` cell is tagged
   ``remove-cell``, and so is the one papermill injects (:func:`retitle`): the page shows no parameter cell
   (the versions page lists what the book was built from).  The kernels' own log lines (a
   ``KeyboardInterrupt caught in kernel`` at every shutdown, ...) are not printed (:func:`quiet_kernels`).
3. ``<book>/chapters/<preset>/versions.md`` (software versions, git commit, data checksums, the runs
   read), ``<book>/chapters/<preset>/ledger.yaml`` (the claims ledger's records, computed here from the
   same runs as the claims chapter) and ``<book>/chapters/<preset>/_toc.yml`` (this build's table of contents,
   naming exactly its pages) are written.
4. ``jupyter-book build <book> --toc <book>/chapters/<preset>/_toc.yml -W -n --keep-going --all`` turns it into
   HTML (warnings are errors, but every page is still attempted); notebooks are not re-executed
   (``execute_notebooks: "off"`` in ``_config.yml``).  The committed ``book/_toc.yml`` lists the same pages by
   ``glob`` patterns, so ``jupyter-book build book/`` by hand builds whatever chapters are there (a pattern
   that matches nothing, e.g. on a fresh clone, is a warning).

A chapter that fails while it runs keeps papermill's output notebook (it shows the failing cell, and the
book includes it), gets one ``FAILED`` line, and the build goes on; the return value is then non-zero.
``python -m xitcore.book.build --help`` is a small CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import jupytext
import yaml

from ..errors import XitError
from . import MissingRuns, _where, condition_index, index_path, preset_command, run_command

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
#: the chapter sources, ``notebooks/<name>.md`` (MyST Markdown notebooks)
CHAPTERS = ("condition", "answer", "comparison", "claims", "explore")
JB_FLAGS = ("-W", "-n", "--keep-going", "--all")
VERSION_PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "datasets",
    "evaluate",
    "seqeval",
    "safetensors",
    "numpy",
    "pandas",
    "pyyaml",
    "papermill",
    "nbclient",
    "ipykernel",
    "jupytext",
    "jupyter-book",
    "sphinx",
    "myst-nb",
    "sphinx-book-theme",
    "matplotlib",
    "seaborn",
    "ipywidgets",
    "scipy",
    "tqdm",
)
#: the hand-written pages of ``book/``, copied into a ``book_dir`` that lacks them (``_toc.yml``: the committed
#: table of contents by ``glob`` patterns, for ``jupyter-book build <book>`` by hand)
STATIC_PAGES = ("_config.yml", "_toc.yml", "intro.md", "reproducibility.md", "log.md", "_static/xit.css")
#: this build's table of contents, in ``<book>/chapters/<preset>/``
TOC_NAME = "_toc.yml"
NO_CONDITION = "no condition chapter of this book has runs to read (the FAILED lines above say why)"


class NotRun(MissingRuns):
    """A condition of the preset with no runs at all in the store (no condition index): it gets no page."""


@dataclass
class Chapter:
    name: str  # "en-qa", "comparison", ...
    template: Path  # the chapter converted to .ipynb (from notebooks/<chapter>.md)
    output: Path  # <book>/chapters/<preset>/<name>.ipynb
    parameters: dict
    title: str | None = None
    subtitle: str | None = None
    ok: bool = False
    error: str = ""


def _log_default(msg: str) -> None:
    from tqdm import tqdm

    tqdm.write(msg, file=sys.stderr)


def discover_conditions(preset: str, params_root: Path | str | None = None) -> list[tuple[str, Path]]:
    """``(name, path)`` for every ``<params_root>/<preset>/*.yaml`` (not ``_*.yaml``, the preset
    defaults), in the book's order; ``params_root`` defaults to ``params/`` (or ``$XIT_PARAMS_ROOT``)."""
    from ..config import params_root as default_root
    from .tables import ordered_conditions

    folder = Path(params_root or default_root()) / preset
    files = {p.stem: p for p in sorted(folder.glob("*.yaml")) if not p.name.startswith("_")}
    return [(n, files[n]) for n in ordered_conditions(files)]


def convert_chapters(dest: Path, notebooks_dir: Path | str = NOTEBOOKS) -> dict[str, Path]:
    """Write each ``<notebooks_dir>/<chapter>.md`` as ``<dest>/<chapter>.ipynb`` (jupytext) for papermill."""
    out = {}
    for name in CHAPTERS:
        nb = jupytext.read(Path(notebooks_dir) / f"{name}.md")
        out[name] = Path(dest) / f"{name}.ipynb"
        jupytext.write(nb, out[name], fmt="ipynb")
    return out


def _cell_view(nb) -> list[tuple]:
    """What a twin must share with its chapter source: each cell's type, source and metadata."""
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


def twin_problems(notebooks_dir: Path | str = NOTEBOOKS) -> list[str]:
    """One line per way the committed ``notebooks/<chapter>.ipynb`` twins differ from their ``.md`` sources (the
    sources are the truth): a twin missing, a cell that differs, outputs or execution counts saved in it."""
    import nbformat

    problems = []
    for md in sorted(Path(notebooks_dir).glob("*.md")):
        twin = md.with_suffix(".ipynb")
        if not twin.exists():
            problems.append(f"{twin.name}: missing")
            continue
        want, have = jupytext.read(md), nbformat.read(str(twin), as_version=4)
        a, b = _cell_view(want), _cell_view(have)
        diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
        if len(a) != len(b):
            problems.append(f"{twin.name}: {len(b)} cells, {md.name} has {len(a)}")
        elif diff is not None:
            problems.append(f"{twin.name}: cell {diff + 1} differs from {md.name}")
        if any(c.get("outputs") or c.get("execution_count") for c in have.cells if c.cell_type == "code"):
            problems.append(f"{twin.name}: has saved outputs (the committed twin is output-free)")
        if have.metadata.get("kernelspec") != want.metadata.get("kernelspec"):
            problems.append(f"{twin.name}: kernelspec differs from {md.name}")
    return problems


def write_twins(notebooks_dir: Path | str = NOTEBOOKS) -> list[Path]:
    """Write each ``notebooks/<chapter>.md`` as its output-free ``.ipynb`` twin (jupytext), keeping the cell ids
    of the twin it replaces where the cells line up (so a rewrite changes only what changed); the twins written."""
    import nbformat

    written = []
    for md in sorted(Path(notebooks_dir).glob("*.md")):
        twin = md.with_suffix(".ipynb")
        nb = jupytext.read(md)
        if twin.exists():
            old = nbformat.read(str(twin), as_version=4)
            for new_cell, old_cell in zip(nb.cells, old.cells):
                if new_cell.cell_type == old_cell.cell_type and old_cell.get("id"):
                    new_cell["id"] = old_cell["id"]
        text = jupytext.writes(nb, fmt="ipynb")
        if not twin.exists() or twin.read_text(encoding="utf-8") != text:
            twin.write_text(text, encoding="utf-8")
            written.append(twin)
    return written


def parse_sets(sets: Sequence[str]) -> dict:
    """``--set KEY=VALUE`` options as one nested mapping (as ``xit run`` reads them)."""
    from ..config import deep_merge, parse_override

    out: dict = {}
    for item in sets:
        out = deep_merge(out, parse_override(item))
    return out


_ABSENT = object()


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _with(d: dict, dotted: str, value) -> dict:
    """A copy of ``d`` with the dotted key set to ``value`` (removed if ``_ABSENT``)."""
    out = copy.deepcopy(d)
    *parents, last = dotted.split(".")
    cur = out
    for p in parents:
        cur = cur.setdefault(p, {})
    if value is _ABSENT:
        cur.pop(last, None)
    else:
        cur[last] = value
    return out


def _short(value) -> str:
    if value is _ABSENT:
        return "absent"
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = text.removesuffix("\n...").strip()
    return text if len(text) <= 40 else text[:37] + "..."


def config_difference(recorded: dict, wanted: dict, limit: int = 4) -> str:
    """The keys that make two resolved configs index different runs (as the pipeline compares them),
    e.g. ``intermediate.steps: 3 in the runs, 894 here``."""
    from ..config import config_identity

    a, b = _flat(recorded), _flat(wanted)
    base = config_identity(recorded)
    keys = [
        k
        for k in sorted(set(a) | set(b))
        if a.get(k, _ABSENT) != b.get(k, _ABSENT) and config_identity(_with(recorded, k, b.get(k, _ABSENT))) != base
    ]
    parts = [f"{k}: {_short(a.get(k, _ABSENT))} in the runs, {_short(b.get(k, _ABSENT))} here" for k in keys]
    more = f"; {len(parts) - limit} more" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more if parts else "its config differs"


def check_condition(runs_dir, preset: str, name: str, params: Path | str, sets: Sequence[str] = ()) -> dict:
    """The condition index of ``preset/name`` in ``runs_dir`` if it was written with the config this
    book asks for (``params`` plus ``sets``, seeds aside), else :class:`MissingRuns` with one line that
    says what is missing or different and the command that makes matching runs (a bad params file:
    ``ConfigError``)."""
    from ..config import committed_name, config_identity, load_condition
    from ..errors import ConfigError

    cfg = load_condition(params, parse_sets(sets))
    if cfg.preset != preset:
        raise ConfigError(f"{params}: preset {cfg.preset!r}, but the book is for {preset!r}")
    if committed_name(cfg.condition) != name:
        raise ConfigError(f"{params}: condition {cfg.condition!r}, but the chapter is {name!r}")
    command = run_command(runs_dir, preset, name, sets, params=params)
    if not index_path(runs_dir, preset, cfg.condition).exists():
        raise NotRun(f"no runs for {preset}/{cfg.condition} in {_where(runs_dir)}: run  {command}  first")
    index = condition_index(runs_dir, preset, cfg.condition, command=command)  # a variant's, with --set
    recorded = index.get("config") or {}
    if config_identity(recorded) != config_identity(cfg.to_dict()):
        diff = config_difference(recorded, cfg.to_dict())
        raise MissingRuns(
            f"{index_path(runs_dir, preset, cfg.condition)} was written by runs with another config "
            f"than this book's ({diff}): make matching runs with  {command}"
        )
    return index


#: what a kernel writes to its stderr at a normal shutdown (papermill stops each kernel once its chapter ran):
#: noise, not a problem of the chapter; the chapter's own errors are in its notebook and its FAILED line
KERNEL_NOISE = (
    "KeyboardInterrupt caught in kernel",
    "[IPKernelApp]",
    "transport",
    "zmq",
)


def _not_noise(text: str) -> list[str]:
    """The lines of ``text`` that are not :data:`KERNEL_NOISE` (a noise line takes its indented continuation
    lines, e.g. a warning's source line, with it)."""
    kept, dropping = [], False
    for line in text.splitlines():
        if any(n in line for n in KERNEL_NOISE):
            dropping = True
        elif not (dropping and line[:1].isspace()):
            dropping = False
            if line.strip():
                kept.append(line)
    return kept


@contextlib.contextmanager
def quiet_kernels(keep: Callable[[str], None] | None = None):
    """Inside the block, what the process and its children (the kernels papermill starts) write to file
    descriptor 2 goes to a temporary file; afterwards its lines that are not :data:`KERNEL_NOISE` are passed to
    ``keep`` (default: written to stderr), so papermill's own warnings still show."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
    lines = _not_noise(text)
    if lines:
        (keep or (lambda t: print(t, file=sys.stderr)))("\n".join(lines))


def execute(chapter: Chapter, cwd: Path, kernel_name: str = "python3", quiet_progress: bool = True) -> None:
    """Run one chapter with papermill; fills ``chapter.ok`` / ``chapter.error``.

    ``quiet_progress`` sets ``TQDM_DISABLE=1`` for the kernel: progress bars would otherwise be
    stored as ipywidgets that a static book cannot show."""
    import papermill as pm

    chapter.output.parent.mkdir(parents=True, exist_ok=True)
    saved = os.environ.get("TQDM_DISABLE")
    if quiet_progress:
        os.environ["TQDM_DISABLE"] = "1"
    try:
        with quiet_kernels():
            pm.execute_notebook(
                str(chapter.template),
                str(chapter.output),
                parameters=chapter.parameters,
                kernel_name=kernel_name,
                cwd=str(cwd),
                progress_bar=False,
                log_output=False,
                report_mode=False,
            )
        chapter.ok = True
    except pm.PapermillExecutionError as e:  # MissingRuns is already one line naming what to run
        one_line = e.ename == MissingRuns.__name__
        chapter.error = e.evalue if one_line else f"cell {e.exec_count}: {e.ename}: {e.evalue}"
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
    error banner, if any), so the page is titled after its condition; tag papermill's injected parameter cell
    ``remove-cell`` (as the chapter's own ``parameters`` cell is), so the page shows no parameter cell."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
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
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
    except Exception:
        return ""


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def write_versions(
    path: Path,
    preset: str,
    conditions: Sequence[str],
    runs_dir: str,
    indexes: dict[str, dict] | None = None,
    sets: Sequence[str] = (),
    argv: Sequence[str] | None = None,
) -> None:
    """Markdown page with the environment this book was built in and the runs it read."""
    sha = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    checks = REPO / "data" / "CHECKSUMS.sha256"
    data_sum = hashlib.sha256(checks.read_bytes()).hexdigest()[:16] if checks.exists() else "missing"
    read = set(indexes or {})
    seeds = "; ".join(
        f"`{i.get('condition') or c}` {', '.join(sorted(i.get('seeds', {}), key=int))}"
        for c, i in (indexes or {}).items()
    )
    lines = [
        "# Environment and versions",
        "",
        f"Generated by `xitcore.book.build` on {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC "
        "while this book was built.",
        "",
        "| what | value |",
        "| --- | --- |",
        f"| preset | `{preset}` |",
        f"| conditions asked for | {', '.join(f'`{c}`' for c in conditions) or '(none)'} |",
        f"| conditions with a chapter | {', '.join(f'`{c}`' for c in conditions if c in read) or '(none)'} |",
        f"| `--set` options | {', '.join(f'`{s}`' for s in sets) or '(none)'} |",
        f"| seeds read (from the condition indexes) | {seeds or '(none)'} |",
        f"| run store | `{runs_dir}` |",
        f"| git commit | `{sha}`{' (working tree had uncommitted changes)' if dirty else ''} |",
        f"| `data/CHECKSUMS.sha256` (sha256, first 16) | `{data_sum}` |",
        f"| python | {platform.python_version()} ({platform.python_implementation()}) |",
        f"| platform | {platform.platform()} |",
        f"| CPU cores | {os.cpu_count()} |",
        "",
        "| package | version |",
        "| --- | --- |",
    ]
    lines += [f"| {p} | {_version(p)} |" for p in VERSION_PACKAGES]
    if argv:
        lines += ["", "Command:", "", "```text", " ".join(argv), "```"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_ledger(path: Path, preset: str, runs_dir: str, conditions: Sequence[str]) -> None:
    """The claims ledger's records as YAML, from the runs the claims chapter read, as it reads them (a variant's
    runs under its condition's name, ``reading.book_results``)."""
    from . import claims, not_run, preset_indexes, reading

    indexes = preset_indexes(runs_dir, preset, list(conditions) or None)
    df = reading.book_results(runs_dir, preset, list(indexes), baselines=False)
    ledger = claims.ledger_table(
        df,
        preset=preset,
        pretrained=claims.pretrained_encoder(indexes),
        not_run=not_run(runs_dir, preset),
    )
    path.write_text(claims.ledger_yaml(ledger), encoding="utf-8")


def toc_text(preset: str, conditions: Sequence[str]) -> str:
    """The ``_toc.yml`` for one preset (jb-book format, parts with captions)."""
    d = f"chapters/{preset}"
    toc = {
        "format": "jb-book",
        "root": "intro",
        "parts": [  # results first: what a reader came for; then each condition; then how to redo it
            {
                "caption": f"Results ({preset})",
                "chapters": [{"file": f"{d}/answer"}, {"file": f"{d}/comparison"}, {"file": f"{d}/claims"}],
            },
            {"caption": f"Conditions ({preset})", "chapters": [{"file": f"{d}/{c}"} for c in conditions]},
            {"caption": "Tools", "chapters": [{"file": f"{d}/explore"}]},
            {
                "caption": "Reproducibility",
                "chapters": [{"file": "reproducibility"}, {"file": "log"}, {"file": f"{d}/versions"}],
            },
        ],
    }
    if not conditions:
        toc["parts"].pop(1)
    head = "# Generated by xitcore.book.build (build_book) for this build's pages; edits are overwritten.\n"
    return head + yaml.safe_dump(toc, sort_keys=False)


def jupyter_book_command(book_dir: Path, toc: Path | None = None) -> list[str]:
    exe = Path(sys.executable).parent / "jupyter-book"
    exe = str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")
    return [exe, "build", str(book_dir), *(["--toc", str(toc)] if toc else []), *JB_FLAGS]


def run_jupyter_book(book_dir: Path, log: Callable[[str], None], toc: Path | None = None) -> int:
    cmd = jupyter_book_command(book_dir, toc)
    log("xit book: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-40:])
        log(f"xit book: jupyter-book build FAILED (exit {proc.returncode}); last lines:\n{tail}")
    return proc.returncode


def build_book(
    preset: str,
    conditions: Sequence[tuple[str, str | Path]],
    runs_dir: str | Path = "runs",
    book_dir: str | Path = REPO / "book",
    *,
    sets: Sequence[str] = (),
    kernel_name: str = "python3",
    html: bool = True,
    notebooks_dir: str | Path = NOTEBOOKS,
    log: Callable[[str], None] | None = None,
    argv: Sequence[str] | None = None,
    jobs: int | None = None,
    not_run_ok: bool = False,
) -> int:
    """Check each condition's runs, execute the chapters that can read them and build the HTML book;
    0 if everything succeeded, 1 otherwise.

    ``conditions``: ``(name, params_path)`` pairs (see ``discover_conditions``), shown in the book's
    order (``tables.ordered_conditions``: reference, en-*, ml-*); ``sets``: the ``--set KEY=VALUE`` options
    the runs were made with (the config each condition index must match); ``html=False`` skips
    jupyter-book; ``jobs``: notebooks executed at once (default: 2, or 1 on a single core); ``not_run_ok``: a
    condition with no runs in the store is listed as not run (with the command that runs it) and gets no page,
    instead of failing the build (``xit book PRESET`` without ``--only``: the book of what was run).
    A ``book_dir`` other than the repository's ``book/`` gets a copy of the pages it lacks (``STATIC_PAGES``).
    """
    from tqdm import tqdm

    from .tables import ordered_conditions

    log = log or _log_default
    jobs = jobs if jobs is not None else max(1, min(2, os.cpu_count() or 1))
    book_dir = Path(book_dir)
    out_dir = book_dir / "chapters" / preset
    out_dir.mkdir(parents=True, exist_ok=True)
    for page in STATIC_PAGES:
        if not (book_dir / page).exists():
            (book_dir / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / "book" / page, book_dir / page)
    runs = str(runs_dir)
    sets = [str(s) for s in sets]
    parse_sets(sets)  # a malformed --set is one ConfigError for the whole book, before anything runs

    chapters: list[Chapter] = []
    indexes: dict[str, dict] = {}
    not_run: list[str] = []
    rank = {n: i for i, n in enumerate(ordered_conditions(n for n, _ in conditions))}
    for name, params_path in sorted(conditions, key=lambda c: rank[c[0]]):  # the book's order
        ch = Chapter(name, Path(), out_dir / f"{name}.ipynb", {}, title=name)
        try:
            indexes[name] = index = check_condition(runs, preset, name, params_path, sets)
        except NotRun as e:
            if not not_run_ok:
                ch.error = str(e)
            else:
                not_run.append(name)
                for stale in (ch.output, ch.output.with_suffix(".md")):  # a page from an earlier store
                    stale.unlink(missing_ok=True)
                continue
        except XitError as e:  # runs missing or made with another config; a bad params file
            ch.error = str(e)
        except (OSError, ValueError, yaml.YAMLError) as e:
            ch.error = f"{params_path}: {e}"
        else:
            read = str(index.get("condition") or name)  # the variant's name when --set made one
            ch.parameters = {"preset": preset, "condition": read, "runs_dir": runs}
            ch.subtitle = str(index.get("description") or "") or None
            if read != name:
                overrides = ", ".join(f"`{k}={v}`" for k, v in (index.get("overrides") or {}).items())
                ch.subtitle = f"{ch.subtitle or ''} Variant `{read}`: {overrides or 'see the versions page'}.".strip()
        chapters.append(ch)
    n_cond = len(chapters)
    names = [c.parameters["condition"] for c in chapters if not c.error]
    shared = {"preset": preset, "runs_dir": runs, "conditions": names}
    chapters += [
        Chapter(
            "answer",
            Path(),
            out_dir / "answer.ipynb",
            {**shared, "reference": "no-intermediate"},
            title=f"The answer ({preset})",
        ),
        Chapter(
            "comparison",
            Path(),
            out_dir / "comparison.ipynb",
            dict(shared),
            title=f"Comparison across conditions ({preset})",
        ),
        Chapter(
            "claims",
            Path(),
            out_dir / "claims.ipynb",
            dict(shared),
            title=f"Claims ledger ({preset})",
        ),
        Chapter(
            "explore", Path(), out_dir / "explore.ipynb", {**shared, "interactive": False}, title=f"Explorer ({preset})"
        ),
    ]
    if not names:
        for ch in chapters[n_cond:]:
            ch.error = NO_CONDITION
    checked_out = {id(ch) for ch in chapters if ch.error}  # failed before running: no page
    if not_run:
        log(
            f"xit book: not run in {_where(runs)}, so no chapter: {', '.join(not_run)} ({len(not_run)} of "
            f"{len(conditions)} conditions); run them with  {preset_command(runs, preset, not_run, sets)}"
        )
    for ch in chapters:
        if ch.error:
            log(f"xit book: chapter {preset}/{ch.name} FAILED: {ch.error}")

    for ch in chapters:  # never show a previous build's page for a chapter that fails now
        for stale in (ch.output, ch.output.with_suffix(".md")):
            if stale.exists():
                stale.unlink()
    bar = tqdm(total=len(chapters), desc=f"book {preset}", unit="chapter", file=sys.stderr, dynamic_ncols=True)
    with tempfile.TemporaryDirectory(prefix="xit-chapters-") as tmp:
        templates = convert_chapters(Path(tmp), notebooks_dir)
        for i, ch in enumerate(chapters):
            ch.template = templates["condition" if i < n_cond else ch.name]
        _execute_all(chapters, Path.cwd(), kernel_name, jobs, bar)
    bar.close()
    for ch in chapters:
        if ch.error and id(ch) not in checked_out:
            kept = f" (executed notebook kept: {ch.output})" if ch.output.exists() else ""
            log(f"xit book: chapter {preset}/{ch.name} FAILED: {ch.error}{kept}")

    claims_chapter = next(c for c in chapters[n_cond:] if c.name == "claims")
    if claims_chapter.ok:
        try:
            write_ledger(out_dir / "ledger.yaml", preset, runs, names)
        except Exception as e:  # the chapter shows the ledger; the YAML copy is a convenience
            log(f"xit book: ledger.yaml not written: {type(e).__name__}: {e}")
    asked = [c.name for c in chapters[:n_cond]] + not_run
    write_versions(out_dir / "versions.md", preset, ordered_conditions(asked), runs, indexes, sets, argv)
    in_toc = [c.name for c in chapters[:n_cond] if c.output.exists()]
    toc = out_dir / TOC_NAME
    toc.write_text(toc_text(preset, in_toc), encoding="utf-8")
    for c in chapters[n_cond:]:
        if not c.output.exists():  # keep the toc valid: a placeholder page naming the failure
            c.output.with_suffix(".md").write_text(
                f"# {c.title}\n\nThis chapter failed to run: {c.error}\n", encoding="utf-8"
            )

    failed = [c for c in chapters if not c.ok]
    rc = 0
    if html:
        rc = run_jupyter_book(book_dir, log, toc)
        if rc == 0:
            log(f"xit book: HTML in {book_dir / '_build' / 'html' / 'index.html'}")
    if failed:
        names = ", ".join(c.name for c in failed)
        log(f"xit book: {len(failed)} of {len(chapters)} chapter(s) failed: {names}")
    return 1 if failed or rc != 0 else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m xitcore.book.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="smoke")
    ap.add_argument(
        "--condition",
        action="append",
        default=None,
        metavar="NAME[=PARAMS.yaml]",
        help="repeatable; default: every params/<preset>/*.yaml",
    )
    ap.add_argument("--runs-dir", default="runs")
    ap.add_argument("--book-dir", default=str(REPO / "book"))
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the --set options the runs were made with (repeatable)",
    )
    ap.add_argument("--no-html", action="store_true", help="execute the notebooks only")
    a = ap.parse_args(argv)
    if a.condition:
        from ..config import params_root

        conds = []
        for item in a.condition:
            name, _, path = item.partition("=")
            conds.append((name, Path(path) if path else params_root() / a.preset / f"{name}.yaml"))
    else:
        conds = discover_conditions(a.preset)
    try:
        return build_book(
            a.preset,
            conds,
            a.runs_dir,
            a.book_dir,
            sets=a.set,
            html=not a.no_html,
            argv=["python -m xitcore.book.build", *argv],
        )
    except XitError as e:
        print(f"xit book: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
