"""Build a tiny book from a SYNTHETIC run store (a stand-in results backend, tests only) with
warnings as errors, and check the notebooks, the failure path, the papermill command line and the
built HTML (images, links; chromium DOM + screenshots when chromium is installed)."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from book_synthetic import FAKE_BACKEND, synthetic_results
from xitcore.book import build as B
from xitcore.book import claims as C

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "params" / "smoke"
STATIC = ("_config.yml", "intro.md", "reproducibility.md", "log.md")
CHAPTER_HTML = ("no-intermediate", "en-qa", "comparison", "claims", "explore", "versions")


def _store(root: Path) -> tuple[Path, Path]:
    runs = root / "runs"
    runs.mkdir(parents=True)
    synthetic_results(effects={"en-qa": 3.0}).to_csv(runs / "synthetic_results.csv", index=False)
    backend = root / "fake_backend.py"
    backend.write_text(FAKE_BACKEND)
    return runs, backend


def _book(root: Path) -> Path:
    book = root / "book"
    book.mkdir()
    for name in STATIC:
        shutil.copy(REPO / "book" / name, book / name)
    return book


def _params(name: str, tmp: Path) -> Path:
    """The lead's params file if present (the real contract), else an equivalent stand-in."""
    real = PARAMS / f"{name}.yaml"
    if real.exists():
        return real
    p = tmp / f"{name}.yaml"
    p.write_text(yaml.safe_dump({"preset": "smoke", "condition": name, "description": f"test {name}",
                                 "seeds": [1, 2, 3], "intermediate": {"kind": "none"}}))
    return p


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    runs, backend = _store(root)
    book = _book(root)
    logs: list[str] = []
    conds = [(n, _params(n, root)) for n in ("no-intermediate", "en-qa")]
    rc = B.build_book("smoke", conds, runs, book, seeds=[1, 2], backend=str(backend), log=logs.append)
    return rc, book, logs, runs


def test_book_builds_with_warnings_as_errors(built):
    rc, book, logs, _ = built
    assert rc == 0, "\n".join(logs)
    assert "-W" in B.JB_FLAGS and "-n" in B.JB_FLAGS
    assert any("jupyter-book" in l and " -W " in l for l in logs)
    html = book / "_build" / "html"
    assert (html / "index.html").is_file() and (html / "intro.html").is_file()
    assert (html / "reproducibility.html").is_file()
    for name in CHAPTER_HTML:
        assert (html / "chapters" / "smoke" / f"{name}.html").is_file(), name
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    # results first, then the conditions, the explorer, and how to redo it all
    assert files == ["chapters/smoke/comparison", "chapters/smoke/claims", "chapters/smoke/no-intermediate",
                     "chapters/smoke/en-qa", "chapters/smoke/explore", "reproducibility", "log",
                     "chapters/smoke/versions"]
    assert (html / "log.html").is_file()


def test_chapters_show_figures_tables_and_the_synthetic_warning(built):
    _, book, _, _ = built
    html = book / "_build" / "html" / "chapters" / "smoke"
    page = (html / "en-qa.html").read_text()
    assert "<title>en-qa" in page and page.count("<img") >= 3 and "source: runs/" in page
    assert "NOT the xitcore pipeline" in page  # a stand-in backend is always announced
    assert page.count("<table") >= 3
    assert (html / "comparison.html").read_text().count("<img") >= 8
    claims = (html / "claims.html").read_text()
    assert "not testable at this scale" in claims and "P1-squad" in claims
    assert "static rendering" in (html / "explore.html").read_text()
    assert "jupyter-book" in (html / "versions.html").read_text()


def test_executed_notebooks_got_the_parameters(built):
    _, book, _, runs = built
    nb = nbformat.read(book / "chapters" / "smoke" / "en-qa.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "seeds = [1, 2]" in injected.source and 'condition = "en-qa"' in injected.source
    assert nb.cells[0].source.startswith("# en-qa")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    ran = (runs / "ran-en-qa").read_text()  # what the notebook passed to notebook_config/run_condition
    assert "('seeds', [1, 2])" in ran and "'intermediate':" in ran
    ledger = yaml.safe_load((book / "chapters" / "smoke" / "ledger.yaml").read_text())
    assert len(ledger) == len(C.CLAIMS) and {r["verdict"] for r in ledger} <= set(C.VERDICTS)


def test_failed_chapter_is_kept_logged_and_the_rest_builds(tmp_path):
    runs, backend = _store(tmp_path)
    (runs / "FAIL-en-qa").write_text("")
    book = _book(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("preset: smoke\ncondition: bad\nlearning_rate: 3\n")
    logs: list[str] = []
    rc = B.build_book("smoke", [("en-qa", _params("en-qa", tmp_path)), ("bad", bad)], runs, book,
                      backend=str(backend), html=False, log=logs.append)
    assert rc != 0
    text = "\n".join(logs)
    assert "chapter smoke/en-qa FAILED: cell" in text and "RuntimeError" in text
    assert "executed notebook kept" in text
    assert "chapter smoke/bad FAILED" in text and "learning_rate" in text
    kept = nbformat.read(book / "chapters" / "smoke" / "en-qa.ipynb", as_version=4)
    assert kept.cells[0].source.startswith("# en-qa")  # title stays first, before papermill's banner
    assert any(o.output_type == "error" for c in kept.cells if c.cell_type == "code" for o in c.outputs)
    assert (book / "chapters" / "smoke" / "comparison.ipynb").exists()  # the others still ran
    toc = (book / "_toc.yml").read_text()
    assert "chapters/smoke/en-qa" in toc and "chapters/smoke/bad" not in toc


def test_papermill_command_line_with_text_seeds(tmp_path):
    runs, backend = _store(tmp_path)
    papermill = Path(sys.executable).parent / "papermill"
    out = tmp_path / "out.ipynb"
    cmd = [str(papermill), "notebooks/condition.ipynb", str(out), "-f", str(_params("en-qa", tmp_path)),
           "-p", "seeds", "[1]", "-p", "runs_dir", str(runs), "-p", "backend", str(backend)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "('seeds', [1])" in (runs / "ran-en-qa").read_text()


def test_notebooks_are_generated_valid_and_parameterised():
    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "notebooks" / "make_notebooks.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    assert mk.main(["--check"]) == 0, "notebooks/*.ipynb are stale: run notebooks/make_notebooks.py"
    for name in ("condition", "comparison", "claims", "explore"):
        nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code[0].metadata.get("tags") == ["parameters"], name
        assert all(not c.outputs for c in code)
    nb = nbformat.read(REPO / "notebooks" / "condition.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = {}
    exec(code[0].source, {}, params)  # plain values only
    assert params == {"preset": "smoke", "condition": "no-intermediate", "description": "", "seeds": [1, 2, 3],
                      "languages": None, "device": "cpu", "intermediate": None, "mlm": None, "model": None,
                      "overrides": {},
                      "runs_dir": "runs", "backend": None}
    assert ("cfg = xitcore.config.notebook_config(preset=preset, condition=condition, seeds=seeds, "
            "languages=languages, device=device, overrides=dict(overrides, **{k: v for k, v in "
            "((\"intermediate\", intermediate), (\"mlm\", mlm), (\"model\", model)) if v}))") in code[1].source
    assert "run_condition(cfg, runs_dir)" in code[2].source


def test_every_params_file_key_is_a_notebook_parameter():
    allowed = B._notebook_parameter_names(REPO / "notebooks" / "condition.ipynb")
    assert set(B.PARAM_KEYS) <= allowed
    files = [p for p in (REPO / "params").glob("*/*.yaml") if not p.name.startswith("_")]
    for p in files:
        assert set(B.load_params(p)) <= allowed, p


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
        '<script src="https://cdn.example/x.js"></script></body></html>')
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
    assert "index.png" in shots and any(s.startswith("chapters_smoke_") for s in shots)
    dom = next(tmp_path.glob("chapters_smoke_*.dom.html")).read_text()
    assert "<img" in dom
