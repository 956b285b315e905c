"""Keep the committed .ipynb twins of the chapters in step with their MyST Markdown sources.

    .venv/bin/python scripts/sync_notebooks.py           # rewrite notebooks/*.ipynb from notebooks/*.md
    .venv/bin/python scripts/sync_notebooks.py --check   # exit 1, one line per twin, if any has drifted

The ``.md`` files are the sources (jupytext pairing ``ipynb,md:myst``); the ``.ipynb`` twins are committed without
outputs so that ``papermill notebooks/<chapter>.ipynb ...`` and JupyterLab work right after cloning.
``tests/test_notebook_twins.py`` runs the check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xitcore.book.build import NOTEBOOKS, twin_problems, write_twins  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if a twin has drifted")
    ap.add_argument("--notebooks", default=str(NOTEBOOKS), help="the chapters' folder (default: notebooks/)")
    a = ap.parse_args(argv)
    if a.check:
        problems = twin_problems(a.notebooks)
        for p in problems:
            print(f"sync_notebooks: {p}; run  .venv/bin/python scripts/sync_notebooks.py", file=sys.stderr)
        return 1 if problems else 0
    for path in write_twins(a.notebooks):
        print(f"sync_notebooks: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
