"""Build the book from REAL run records: the tiny preset's settings run under paper-preset condition names
(``tests/book_runs.py``), through ``xit book paper --only ... --set ...`` with warnings as errors.  Checks the
chapters' sources, that chapters show the numbers of their runs, that a chapter without matching runs fails
with one line naming the command that makes them, the failure path, and the built HTML (images, links;
chromium DOM + screenshots when chromium is installed)."""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib.util
import io
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from book_runs import NOT_RUN, RUN, SETS, paper_runs, params_root, pos_accuracy
from conftest import listing_changes, store_listing

import xitcore.book
from xitcore import cli
from xitcore.book import build as B
from xitcore.book import claims as C

REPO = Path(__file__).resolve().parents[1]
CHAPTER_HTML = ("no-intermediate", "en-qa", "answer", "comparison", "claims", "explore", "versions")
PARAMETERS = {
    "condition": ["preset", "condition", "runs_dir"],
    "answer": ["preset", "conditions", "reference", "runs_dir"],
    "comparison": ["preset", "conditions", "reference", "runs_dir"],
    "claims": ["preset", "conditions", "runs_dir"],
    "explore": ["preset", "conditions", "runs_dir", "interactive"],
}


def _index_file(runs: Path, condition: str) -> Path:
    """The index the book reads for ``condition``: with ``SETS`` en-qa is a variant, ``en-qa~<suffix>``."""
    folder = runs / "index" / "paper"
    return (
        folder / f"{condition}.json" if (folder / f"{condition}.json").exists() else next(folder.glob(f"{condition}~*"))
    )


def _book(root: Path) -> Path:
    """An empty book folder: the build copies the static pages into it."""
    book = root / "book"
    book.mkdir()
    return book


@pytest.fixture(scope="module")
def paper(tiny_runs, tmp_path_factory):
    return paper_runs(tiny_runs, tmp_path_factory)


@pytest.fixture(scope="module")
def built(paper, tmp_path_factory):
    """``xit --runs-dir R book paper --only no-intermediate,en-qa --set ... --book-dir B`` (stderr kept)."""
    params, runs = paper
    book = _book(tmp_path_factory.mktemp("book"))
    argv = ["--runs-dir", str(runs), "book", "paper", "--only", ",".join(RUN), "--book-dir", str(book)]
    for s in SETS:
        argv += ["--set", s]
    err = io.StringIO()
    _STORE["before"] = store_listing(runs)
    with params_root(params), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    _STORE["after"] = store_listing(runs)
    return rc, book, err.getvalue(), runs


#: the run store's listing (book_runs.store_listing) just before and just after ``built`` built the book
_STORE: dict[str, dict] = {}


# ------------------------------------------------------------------------------------------ the sources
@pytest.mark.quick
@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_chapter_sources_are_myst_notebooks_that_only_read_results(name):
    source = REPO / "notebooks" / f"{name}.md"
    text = source.read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) <= 110
    nb = jupytext.read(source)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # papermill finds the cell by its tag; the page shows only the injected cell (what the chapter ran with)
    assert code[0].metadata.get("tags") == ["parameters", "remove-cell"]
    # the page reads as prose: code folded away, or removed where a cell only shows a Markdown value
    assert all({"hide-input", "remove-input"} & set(c.metadata.get("tags", [])) for c in code[1:])
    params: dict = {}
    exec(code[0].source, {}, params)  # plain values only
    assert list(params) == PARAMETERS[name]
    body = "\n".join(c.source for c in code)
    # results only: no pipeline, training or config code, and no test stand-in (a quick look at the source; that
    # executed chapters write nothing: test_building_the_book_leaves_the_run_store_as_it_was)
    assert not re.search(r"xitcore\.(pipeline|train|config|tasks|model)\b|import (pipeline|train)\b", body)
    assert "run_condition" not in body and "backend" not in body
    assert "load_results(runs_dir)" in body or "book_results(runs_dir," in body  # reading.book_results loads
    assert not list((REPO / "notebooks").glob("*.py")), "notebooks/ holds the .md sources only"


def _free_names(code: str) -> set[str]:
    """Names ``code`` reads but never assigns, imports or defines (builtins aside)."""
    tree = ast.parse(code)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


@pytest.mark.quick
@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_params_file_keys_reach_no_chapter(name):
    """``papermill -f params/<preset>/<condition>.yaml`` injects every key of the file; a chapter reads only
    its own parameters, so the others (``backend``, ``seeds``, ``intermediate``, ...) are harmless."""
    keys = set()
    for p in (REPO / "params").glob("*/*.yaml"):
        if not p.name.startswith("_"):
            keys |= set(yaml.safe_load(p.read_text()))
    assert {"backend", "seeds", "intermediate"} <= keys
    nb = jupytext.read(REPO / "notebooks" / f"{name}.md")
    code = "\n".join(c.source for c in nb.cells[1:] if c.cell_type == "code")
    assert _free_names(code) <= set(PARAMETERS[name])


# ------------------------------------------------------------------------------------------ the book
def test_book_builds_with_warnings_as_errors(built):
    rc, book, logs, _ = built
    assert rc == 0, logs
    assert "-W" in B.JB_FLAGS and "-n" in B.JB_FLAGS
    assert "jupyter-book" in logs and " -W " in logs and "FAILED" not in logs
    html = book / "_build" / "html"
    assert (html / "index.html").is_file() and (html / "intro.html").is_file()
    assert (html / "reproducibility.html").is_file() and (html / "log.html").is_file()
    for page in B.STATIC_PAGES:  # copied from book/ of the repository
        assert (book / page).read_text() == (REPO / "book" / page).read_text()
    for name in CHAPTER_HTML:
        assert (html / "chapters" / "paper" / f"{name}.html").is_file(), name
    toc = yaml.safe_load((book / "chapters" / "paper" / B.TOC_NAME).read_text())  # this build's own list
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    # results first, then exactly the --only conditions, the explorer, and how to redo it all
    assert files == [
        "chapters/paper/answer",
        "chapters/paper/comparison",
        "chapters/paper/claims",
        "chapters/paper/no-intermediate",
        "chapters/paper/en-qa",
        "chapters/paper/explore",
        "reproducibility",
        "log",
        "chapters/paper/versions",
    ]
    assert not (book / "chapters" / "paper" / f"{NOT_RUN}.ipynb").exists()
    assert (book / "_toc.yml").read_text() == (REPO / "book" / "_toc.yml").read_text()  # the committed glob toc
    assert "KeyboardInterrupt" not in logs and "[IPKernelApp]" not in logs  # kernel shutdown noise not printed


def test_building_the_book_leaves_the_run_store_as_it_was(built):
    """Chapters only read: executing every chapter of the book (papermill, in their own kernels) and building
    it creates, removes, writes or touches nothing in the run store it reads. A chapter that ran a step or the
    pipeline would (``run_condition`` rewrites the condition index even when every step is reused)."""
    rc, _, logs, runs = built
    assert rc == 0, logs
    before, after = _STORE["before"], _STORE["after"]
    assert len(before) > 50 and any(p.endswith("metrics.json") for p in before)  # the listing saw the store
    changes = listing_changes(before, after)
    assert not changes, "the book build changed the run store:\n" + "\n".join(changes)


def test_paper_chapter_shows_the_numbers_of_its_runs(built):
    _, book, _, runs = built
    page = (book / "_build" / "html" / "chapters" / "paper" / "en-qa.html").read_text()
    assert "<title>en-qa" in page and "XQuAD English" in page  # title and the params file's description
    for lang in ("en", "de"):  # the seed-1 accuracy of the run record, as the POS table shows it
        assert f"<td>{pos_accuracy(runs, 'en-qa', lang):.1f}</td>" in page, lang
    # no parameter cell on the page (neither the chapter's defaults nor papermill's injected values)
    assert page.count("# Parameters") == 0 and "&quot;e5-small&quot;" not in page
    assert "Δ to <code" in page and "no-intermediate" in page  # the paired difference section
    assert "A seed is one complete repeat of phases ii and iii" in page
    index = yaml.safe_load(_index_file(runs, "en-qa").read_text())
    assert index["variant_of"] == "en-qa" and "Variant <code" in page  # --set made a variant: the page says so
    assert f"runs/{index['seeds']['1']['intermediate']}" in page  # the index table names its run records
    assert page.count("<img") >= 4 and "source: runs/" in page and page.count("<table") >= 4
    assert "Traceback" not in page and "MissingRuns" not in page


def test_comparison_claims_and_explorer_read_the_same_runs(built):
    _, book, _, runs = built
    html = book / "_build" / "html" / "chapters" / "paper"
    comparison = (html / "comparison.html").read_text()
    assert comparison.count("<img") >= 8 and "source: runs/" in comparison
    for condition in RUN:  # the overview's zero-shot POS average is German alone at this scale
        assert f"<td>{pos_accuracy(runs, condition, 'de'):.1f}</td>" in comparison, condition
    claims = (html / "claims.html").read_text()
    assert "not testable at this scale" in claims and "P1-squad" in claims
    assert f"conditions: no-intermediate, {_index_file(runs, 'en-qa').stem}" in claims
    assert "static rendering" in (html / "explore.html").read_text()
    versions = (html / "versions.html").read_text()
    answer = (html / "answer.html").read_text()
    assert "In one sentence:" in answer and "The scale" in answer and "Caveats" in answer
    for page in (comparison, claims, answer):
        assert str(book) not in page and "ledger_path" not in page  # no machine path of the build
    assert "jupytext" in versions and "intermediate.steps=3" in versions
    assert "--only no-intermediate,en-qa" in versions
    ledger = yaml.safe_load((book / "chapters" / "paper" / "ledger.yaml").read_text())
    assert len(ledger) == len(C.CLAIMS) and {r["verdict"] for r in ledger} <= set(C.VERDICTS)


def test_executed_chapters_got_only_their_parameters(built):
    _, book, _, runs = built
    nb = nbformat.read(book / "chapters" / "paper" / "en-qa.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assigned = dict(line.split(" = ", 1) for line in injected.source.splitlines() if " = " in line)
    read = _index_file(runs, "en-qa").stem  # the variant's index
    assert assigned == {"preset": '"paper"', "condition": f'"{read}"', "runs_dir": f'"{runs}"'}
    assert nb.cells[0].source.startswith("# en-qa")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    cross = nbformat.read(book / "chapters" / "paper" / "comparison.ipynb", as_version=4)
    injected = next(c for c in cross.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'conditions = ["no-intermediate", "{read}"]' in injected.source


# ------------------------------------------------------------------------------------------ failures
def _fail_lines(logs: list[str]) -> dict[str, str]:
    out = {}
    for line in logs:
        m = re.match(r"xit book: chapter paper/(\S+) FAILED: (.*)", line)
        if m:
            assert m.group(1) not in out and "\n" not in line, line  # one line per chapter
            out[m.group(1)] = m.group(2)
    return out


def test_runs_made_with_other_settings_fail_their_chapter_with_one_line(paper, tmp_path):
    """An index whose config is not the params file's (here: en-qa's runs with 3 intermediate steps, indexed as
    en-qa, as if the params file had been edited since) is not this book's (894 steps)."""
    params, made = paper
    runs = tmp_path / "runs"
    (runs / "index" / "paper").mkdir(parents=True)
    index = _index_file(made, "en-qa")
    (runs / "index" / "paper" / "en-qa.json").write_text(index.read_text())
    logs: list[str] = []
    with params_root(params):
        rc = B.build_book(
            "paper", [("en-qa", params / "paper" / "en-qa.yaml")], runs, _book(tmp_path), html=False, log=logs.append
        )
    assert rc == 1
    failed = _fail_lines(logs)
    assert set(failed) == {"en-qa", "answer", "comparison", "claims", "explore"}
    line = failed["en-qa"]
    assert line.startswith(f"{runs}/index/paper/en-qa.json was written by runs with another config")
    assert "intermediate.steps: 3 in the runs, 894 here" in line
    assert line.endswith(f"make matching runs with  xit --runs-dir {runs} run {params}/paper/en-qa.yaml")
    assert failed["comparison"] == B.NO_CONDITION
    assert not (tmp_path / "book" / "chapters" / "paper" / "en-qa.ipynb").exists()  # no page, no kernel
    assert "chapters/paper/en-qa" not in (tmp_path / "book" / "chapters" / "paper" / B.TOC_NAME).read_text()


def test_missing_runs_fail_their_chapter_with_one_line_and_the_command(paper, tmp_path):
    params, runs = paper
    logs: list[str] = []
    with params_root(params):
        rc = B.build_book(
            "paper",
            [(NOT_RUN, params / "paper" / f"{NOT_RUN}.yaml")],
            runs,
            _book(tmp_path),
            sets=SETS,
            html=False,
            log=logs.append,
        )
    assert rc == 1
    sets = " ".join(f"--set {s}" for s in SETS)
    line = _fail_lines(logs)[NOT_RUN]  # --set makes ml-qa a variant: its index is the one missing
    assert line.startswith(f"no runs for paper/{NOT_RUN}~steps-3")
    assert line.endswith(f" in {runs}: run  xit --runs-dir {runs} run {params}/paper/{NOT_RUN}.yaml {sets}  first")


def test_conditions_not_run_are_listed_with_their_command_and_fail_nothing(paper, tmp_path):
    """``xit book PRESET`` without ``--only`` after a partial run: the chapters whose runs exist, one line
    naming the conditions not run and the command that runs them, exit 0."""
    params, runs = paper
    logs: list[str] = []
    book = _book(tmp_path)
    conditions = [(n, params / "paper" / f"{n}.yaml") for n in (*RUN, NOT_RUN)]
    with params_root(params):
        rc = B.build_book(
            "paper", conditions, runs, book, sets=SETS, html=False, log=logs.append, not_run_ok=True, jobs=1
        )
    assert rc == 0, logs
    assert not _fail_lines(logs)
    sets = " ".join(f"--set {s}" for s in SETS)
    assert logs[0].startswith(f"xit book: not run in {runs}, so no chapter: {NOT_RUN} (1 of 3 conditions); run")
    assert logs[0].endswith(f"xit --runs-dir {runs} preset paper --only {NOT_RUN} {sets}")
    out = book / "chapters" / "paper"
    assert all((out / f"{n}.ipynb").exists() for n in RUN) and not (out / f"{NOT_RUN}.ipynb").exists()
    assert f"chapters/paper/{NOT_RUN}" not in (out / B.TOC_NAME).read_text()
    ledger = {r["id"]: r for r in yaml.safe_load((out / "ledger.yaml").read_text())}
    assert ledger["Q3-qa-pos"]["verdict"] == C.NOT_RUN and NOT_RUN in ledger["Q3-qa-pos"]["reason"]


def test_chapter_helpers_name_what_is_missing_in_one_line(paper, tmp_path):
    params, runs = paper
    read = _index_file(runs, "en-qa").stem
    assert list(xitcore.book.preset_indexes(runs, "paper", [read, "no-intermediate"])) == ["no-intermediate", read]
    with pytest.raises(xitcore.book.MissingRuns) as e:
        xitcore.book.preset_indexes(runs, "paper", [read, NOT_RUN])
    assert str(e.value) == (
        f"no runs for paper/{NOT_RUN} in {runs}: run  xit --runs-dir {runs} preset paper --only {NOT_RUN}  first"
    )
    with pytest.raises(xitcore.book.MissingRuns) as e:
        xitcore.book.preset_indexes(tmp_path, "paper")
    assert str(e.value) == (
        f"no runs of preset paper in {tmp_path}: run  xit --runs-dir {tmp_path} preset paper  first"
    )
    damaged = tmp_path / "index" / "paper" / "en-qa.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"seeds": ')
    with params_root(params), pytest.raises(xitcore.book.MissingRuns) as e:
        xitcore.book.condition_index(tmp_path, "paper", "en-qa")
    line = str(e.value)
    assert line.startswith(f"the condition index {damaged} does not parse (JSONDecodeError: ")
    assert line.endswith(f"redo it with  xit --runs-dir {tmp_path} run {params}/paper/en-qa.yaml")
    assert "\n" not in line and e.value._render_traceback_() == [f"MissingRuns: {line}"]


def test_cli_book_refuses_an_unknown_condition(paper, capsys):
    params, runs = paper
    with params_root(params):
        assert cli.main(["--runs-dir", str(runs), "book", "paper", "--only", "no-such"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xit: error: --only: condition(s) no-such unknown")


def test_a_chapter_that_fails_while_running_is_kept_with_its_title_first(paper, tmp_path):
    params, runs = paper
    source = tmp_path / "condition.md"
    text = (REPO / "notebooks" / "condition.md").read_text()
    source.write_text(text + '\n```{code-cell} ipython3\nraise RuntimeError("deliberate")\n```\n')
    template = tmp_path / "condition.ipynb"
    jupytext.write(jupytext.read(source), template, fmt="ipynb")
    ch = B.Chapter(
        "en-qa",
        template,
        tmp_path / "out" / "en-qa.ipynb",
        {"preset": "paper", "condition": _index_file(runs, "en-qa").stem, "runs_dir": str(runs)},
        title="en-qa",
    )
    B.execute(ch, REPO)
    assert not ch.ok and re.fullmatch(r"cell \d+: RuntimeError: deliberate", ch.error)
    kept = nbformat.read(ch.output, as_version=4)
    assert kept.cells[0].source.startswith("# en-qa")  # title stays first, before papermill's banner
    errors = [o for c in kept.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].evalue == "deliberate"
    outputs = [o for c in kept.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the cells before it ran


# ------------------------------------------------------------------------------------------ the HTML
def _check_script():
    spec = importlib.util.spec_from_file_location("check_book_html", REPO / "scripts" / "check_book_html.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_html_check_static_finds_problems(tmp_path):
    chk = _check_script()
    (tmp_path / "ok.png").write_bytes(b"png")
    (tmp_path / "index.html").write_text(
        '<html><body id="top"><img src="ok.png"><img src="missing.png"><a href="nowhere.html">x</a>'
        '<a href="index.html#top">t</a><a href="index.html#nope">n</a>'
        '<script src="https://cdn.example/x.js"></script></body></html>'
    )
    problems, n = chk.check_static(tmp_path)
    assert n == 1
    text = "\n".join(problems)
    assert "missing.png" in text and "nowhere.html" in text and "#nope" in text and "cdn.example" in text
    assert "ok.png" not in text and "#top" not in text


def test_built_html_passes_the_static_check(built):
    _, book, _, _ = built
    problems, n = _check_script().check_static(book / "_build" / "html")
    assert n >= 10 and problems == []


@pytest.mark.skipif(_check_script().chromium_path() is None, reason="chromium not installed")
def test_built_html_in_headless_chromium(built, tmp_path):
    _, book, _, _ = built
    chk = _check_script()
    rc = chk.main([str(book / "_build" / "html"), "--out", str(tmp_path), "--require-browser"])
    assert rc == 0
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "index.png" in shots and any(s.startswith("chapters_paper_") for s in shots)
    dom = next(tmp_path.glob("chapters_paper_*.dom.html")).read_text()
    assert "<img" in dom
