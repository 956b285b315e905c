"""The three ways in, as a new user takes them on a fresh clone: the committed ``.ipynb`` twins of the chapters
(papermill and JupyterLab need them), the committed table of contents, where a chapter finds its run store, a
chapter run twice in one kernel, and the pieces of the book a newcomer reads (checkpoint names, "-0.0",
"not run in this store", the main job's conditions)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from book_synthetic import synthetic_results
from conftest import REPO

import xitcore.book
from xitcore.book import build as B
from xitcore.book import claims as C
from xitcore.book import explorer as E
from xitcore.book import figures as F
from xitcore.book import tables as T


# ------------------------------------------------------------------------------------------ the twins
@pytest.mark.quick
def test_committed_twins_match_their_sources_and_carry_no_outputs():
    """CI fails here when a chapter's ``.md`` was edited without ``scripts/sync_notebooks.py``."""
    assert B.twin_problems() == []
    sources = sorted(p.stem for p in (REPO / "notebooks").glob("*.md"))
    assert sources == sorted(B.CHAPTERS)
    assert sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb")) == sources


def test_drift_and_saved_outputs_are_caught_and_rewritten(tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    md = folder / "answer.md"
    md.write_text(md.read_text().replace('reference = "no-intermediate"', 'reference = "en-qa"'))
    twin = nbformat.read(folder / "explore.ipynb", as_version=4)
    code = next(c for c in twin.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    nbformat.write(twin, folder / "explore.ipynb")
    (folder / "claims.ipynb").unlink()
    problems = B.twin_problems(folder)
    assert any(re.fullmatch(r"answer\.ipynb: cell \d+ differs from answer\.md", p) for p in problems), problems
    assert "explore.ipynb: has saved outputs (the committed twin is output-free)" in problems
    assert "claims.ipynb: missing" in problems
    ids = [c.id for c in nbformat.read(folder / "answer.ipynb", as_version=4).cells]
    B.write_twins(folder)
    assert B.twin_problems(folder) == []
    assert [c.id for c in nbformat.read(folder / "answer.ipynb", as_version=4).cells] == ids  # ids kept
    assert B.write_twins(folder) == []  # in step: nothing rewritten


def test_twins_are_paired_and_left_to_ruff_alone():
    nb = nbformat.read(REPO / "notebooks" / "condition.ipynb", as_version=4)
    assert nb.metadata["jupytext"]["formats"] == "ipynb,md:myst"
    assert "notebooks/*.ipynb" in (REPO / "pyproject.toml").read_text()  # ruff: the code is the .md sources'
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "notebooks/*.ipynb" not in ignored and "book/_toc.yml" not in ignored


def test_committed_toc_globs_every_kind_of_generated_page():
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text())
    entries = [e for part in toc["parts"] for e in part["chapters"]]
    globs = [e["glob"] for e in entries if "glob" in e]
    for page in ("answer", "comparison", "claims", "explore", "versions", "no-intermediate"):
        assert f"chapters/*/{page}" in globs, page
    for prefix in ("en-", "ml-"):
        assert f"chapters/*/{prefix}*" in globs
    assert {e["file"] for e in entries if "file" in e} == {"reproducibility", "log"}
    assert "_toc.yml" in B.STATIC_PAGES
    # the build's own list of its pages is written beside them, and jupyter-book is pointed at it
    cmd = B.jupyter_book_command(Path("book"), Path("book/chapters/e5-small/_toc.yml"))
    assert cmd[1:5] == ["build", "book", "--toc", "book/chapters/e5-small/_toc.yml"]


# ------------------------------------------------------------------------------------------ the run store
def test_a_kernel_started_in_notebooks_finds_the_projects_runs(monkeypatch, tmp_path):
    monkeypatch.delenv("XIT_RUNS", raising=False)
    monkeypatch.chdir(REPO / "notebooks")  # where JupyterLab starts the explorer's kernel
    assert xitcore.book.project_root() == REPO
    assert xitcore.book.find_runs(None) == str(REPO / "runs")
    assert xitcore.book.find_runs("elsewhere") == "elsewhere"  # -p runs_dir wins
    monkeypatch.setenv("XIT_RUNS", str(tmp_path))
    assert xitcore.book.find_runs(None) == str(tmp_path)
    monkeypatch.setenv("XIT_RUNS", "other-runs")  # relative: from the project's root, as the CLI from there
    assert xitcore.book.find_runs(None) == str(REPO / "other-runs")


def test_an_empty_store_says_where_it_looked(monkeypatch, tmp_path):
    project = tmp_path / "clone"
    for mark in ("params", "notebooks"):
        (project / mark).mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    monkeypatch.delenv("XIT_RUNS", raising=False)
    monkeypatch.chdir(project / "notebooks")
    runs = xitcore.book.find_runs(None)
    with pytest.raises(xitcore.book.MissingRuns) as e:
        xitcore.book.preset_indexes(runs, "e5-small")
    assert str(e.value) == (
        f"no runs of preset e5-small in {project / 'runs'} (the project's runs/; $XIT_RUNS or runs_dir picks "
        "another): run  xit preset e5-small  first"
    )


# ------------------------------------------------------------------------------------------ parameters
def test_run_all_twice_checks_only_the_parameters_cells():
    """In a kernel, ``In`` holds the cells run so far; a second Run All finds the first run's names
    (``display``, ``df``, ...) in ``globals()`` but only the parameter cells' names are checked."""
    params = 'preset = "e5-small"\ncondition = "no-intermediate"\nruns_dir = None  # the default store'
    leftovers = {"display": print, "df": None, "indexes": {}, "name": "x"}
    first = {"In": ["", params, "check"], "preset": "e5-small", "condition": "no-intermediate", "runs_dir": None}
    xitcore.book.check_parameters(first, "preset", "condition", "runs_dir")
    again = {**first, **leftovers, "In": ["", params, "check", "rest", "more", params, "check"]}
    xitcore.book.check_parameters(again, "preset", "condition", "runs_dir")
    injected = '# Parameters\npreset = "e5-small"\nseed = 1\n'  # papermill's cell after the chapter's own
    bad = {**again, "seed": 1, "In": [*again["In"][:-1], injected, "check"]}
    with pytest.raises(xitcore.book.ChapterParameterError, match="chapter parameter 'seed' is unknown"):
        xitcore.book.check_parameters(bad, "preset", "condition", "runs_dir")
    assert xitcore.book.parameter_names({"In": ["", "x = f()", "check"]}) == []  # not a parameters cell
    assert xitcore.book.parameter_names({"preset": 1}) is None  # no kernel: the whole namespace


def test_a_chapter_runs_twice_in_one_kernel(tiny_runs, monkeypatch):
    """The explorer as a new user runs it: JupyterLab starts the kernel in notebooks/, Run All, Run All again."""
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("XIT_RUNS", str(tiny_runs))  # the kernel inherits it, as from the shell that started Lab
    monkeypatch.setenv("TQDM_DISABLE", "1")
    nb = nbformat.read(REPO / "notebooks" / "explore.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = params.source.replace('preset = "e5-small"', 'preset = "tiny"')  # the user's one edit
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}
    )
    with client.setup_kernel():
        for _ in range(2):
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, i)  # raises CellExecutionError on an error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("default selection: task=pos" in o.get("text", "") for o in outputs)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


# ------------------------------------------------------------------------------------------ what a reader sees
def test_numbers_never_print_as_negative_zero():
    assert T.num(-0.04) == "0.0" and T.num(-0.04, "+.1f") == "+0.0" and T.num(-0.06, "+.1f") == "-0.1"
    assert T.num(-0.001, ".2f") == "0.00" and T.num(float("-inf")) == "-inf" and T.num(3.14159, ".2f") == "3.14"
    df = synthetic_results(["no-intermediate", "en-qa"], noise=0.05, effects={"en-qa": 0.0})
    cells = " ".join(map(str, T.delta_ci_table(df).to_numpy().ravel()))
    cells += " " + " ".join(map(str, T.delta_summary(df).to_numpy().ravel()))
    assert "-0.0" not in cells and "[" in cells


def test_checkpoints_are_named_for_what_they_are():
    assert T.PHASE_LABELS == {"mlm": "pretrained", "intermediate": "after phase ii", "target": "after phase iii"}
    df = synthetic_results(["no-intermediate", "en-qa"])
    s = E.default_state(df)
    title = E.redraw(E.replace(s, task="tatoeba", metric="top1", phase="mlm")).xit_title
    assert title.endswith("checkpoint: pretrained") and " mlm" not in title
    assert E.phase_options(["mlm", "intermediate"]) == [("pretrained", "mlm"), ("after phase ii", "intermediate")]
    index = {"seeds": {"1": {"tatoeba": {"intermediate": "tatoeba/b"}}}, "tatoeba": {"mlm": "tatoeba/a"}}
    steps = [s for _, s in xitcore.book.index_table(index).index]
    assert steps == ["tatoeba (pretrained)", "tatoeba (after phase ii)"]


def test_the_caption_matches_the_seed_selection():
    df = synthetic_results(["no-intermediate", "en-qa"])
    s = E.default_state(df)
    assert "± sd over seeds" in E.redraw(s).xit_caption
    one = E.redraw(E.replace(s, seeds=(2,))).xit_caption
    assert "± sd" not in one and "one seed's scores" in one
    pos = T.rows(df, "pos", "accuracy", "target")
    assert "± sd" not in F.spread_note(pos[pos.seed == 2]) and "± sd" in F.spread_note(pos)


def test_explorer_exports_go_to_the_projects_folder_and_say_so(monkeypatch, tmp_path):
    pytest.importorskip("ipywidgets")
    monkeypatch.chdir(REPO / "notebooks")
    assert E.export_folder() == REPO / "explorer-exports"
    assert E.export_folder(tmp_path) == tmp_path
    df = synthetic_results(["no-intermediate", "en-qa"])
    box = E.build_widgets(df, export_dir=tmp_path / "out")
    w = box.xit_controls
    assert w["save"].layout.width == "auto"  # the whole label, not "save figure / C…"
    assert w["saved"] in box.children  # a row of its own: a long path wraps inside the widget area
    w["save"].click()
    assert "saved " in w["saved"].value and "overflow-wrap: anywhere" in w["saved"].value
    (tmp_path / "file").write_text("")
    w["folder"].value = str(tmp_path / "file" / "sub")  # cannot be made: one line in the widget, no traceback
    w["save"].click()
    assert "not saved:" in w["saved"].value


def test_ledger_says_not_run_apart_from_not_testable():
    df = synthetic_results(["no-intermediate", "en-qa", "ml-qa"], effects={"en-qa": 5.0}, noise=0.3)
    plain = C.ledger_table(df).set_index("id")
    assert plain.loc["P2-mnli/pos", "verdict"] == C.NOT_TESTABLE  # without the preset's conditions: as before
    led = C.ledger_table(df, not_run=["en-nli", "en-sentiment", "en-copa"]).set_index("id")
    assert led.loc["P2-mnli/pos", "verdict"] == C.NOT_RUN
    assert led.loc["P2-mnli/pos", "reason"] == "no runs of en-nli in this store: xit preset smoke --only en-nli"
    assert led.loc["P3-hellaswag", "verdict"] == C.NOT_TESTABLE  # no data offline: running more changes nothing
    # verdicts of run claims unchanged
    assert led.loc["P1-squad/pos", "verdict"] == plain.loc["P1-squad/pos", "verdict"]
    assert led[led["verdict"] == C.NOT_RUN]["p"].isna().all() and C.NOT_RUN in C.VERDICTS
    # a condition with runs in the store but not read by this ledger (a book built with --only) is not "not run"
    assert led.loc["P5-tatoeba", "verdict"] == C.NOT_TESTABLE


def test_not_run_reads_the_store(tmp_path):
    folder = tmp_path / "index" / "smoke"
    folder.mkdir(parents=True)
    for name in ("no-intermediate", "en-qa~steps-3"):  # a variant's runs count as runs of its condition
        (folder / f"{name}.json").write_text("{}")
    missing = xitcore.book.not_run(tmp_path, "smoke")
    assert "no-intermediate" not in missing and "en-qa" not in missing
    assert set(missing) == set(xitcore.book.preset_conditions("smoke")) - {"no-intermediate", "en-qa"}


def test_the_intro_names_the_main_jobs_conditions():
    main = re.search(r"^MAIN_CONDITIONS=(\S+)$", (REPO / "run.sh").read_text(), re.M).group(1).split(",")
    intro = (REPO / "book" / "intro.md").read_text()
    section = intro[intro.index("**Which conditions this book has.**") :].split("\n\n")[0]
    assert set(re.findall(r"`([a-z-]+)`", section)) >= set(main)
    assert len(main) == 7 and "runs the seven conditions" in section
    assert "not run in this store" in section


def test_kernel_shutdown_noise_is_not_printed_but_other_lines_are():
    import subprocess
    import sys

    kept: list[str] = []
    noise = (
        "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel\n"
        "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. Use IPC transport\n"
        "    or launch with kernel manager-provisioned CurveZMQ keys\n"
        "Passed unknown parameter: seeds\n"
    )
    with B.quiet_kernels(kept.append):  # a child process writes to the inherited stderr, as a kernel does
        subprocess.run([sys.executable, "-c", f"import sys; sys.stderr.write({noise!r})"], check=True)
    assert kept == ["Passed unknown parameter: seeds"]
