#!/usr/bin/env python3
"""Check a built jupyter-book: images, local links, no external resources, and (with chromium) the
rendered DOM and screenshots.

    .venv/bin/python scripts/check_book_html.py [book/_build/html] [--out DIR] [--page REL.html ...]
                                                [--no-browser]

1. Static pass over every ``*.html``: each ``<img src>`` must be a local file that exists; each
   local ``<a href>`` must resolve to an existing file (and, for ``page.html#id`` links into the
   book, to an element with that id); ``<script src>``, ``<link href>``, ``<img src>`` and
   ``<iframe src>`` must not load anything from the network (the book is read offline).
2. Browser pass (skipped with ``--no-browser``, or with a note if chromium is missing): headless
   Debian chromium dumps the DOM of ``index.html`` and of one chapter (or the ``--page`` list)
   after scripts ran, re-checks the ``<img>`` elements of that DOM, and takes a screenshot of each
   page into ``--out`` (default: ``<html>/../html-check``).  Install with
   ``apt-get update && apt-get install -y chromium``.

Exit status 0 if no problem was found, 1 otherwise; every problem is one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
]
LOADING = {"img": "src", "script": "src", "iframe": "src", "link": "href", "source": "src", "video": "src"}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.imgs: list[str] = []
        self.links: list[str] = []
        self.loads: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "img" and a.get("src") is not None:
            self.imgs.append(a["src"])
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"])
        attr = LOADING.get(tag)
        if attr and a.get(attr):
            if tag == "link" and not (
                {"stylesheet", "icon", "preload", "script", "manifest"} & set((a.get("rel") or "").split())
            ):
                return
            self.loads.append((tag, a[attr]))


def parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    return p


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _is_external(url: str) -> bool:
    s = urlsplit(url)
    return s.scheme in ("http", "https") or url.startswith("//")


def _local_target(page: Path, url: str) -> tuple[Path | None, str]:
    s = urlsplit(url)
    if s.scheme or url.startswith("//"):
        return None, ""
    if not s.path:
        return page, s.fragment
    return (page.parent / unquote(s.path)).resolve(), s.fragment


def check_static(root: Path) -> tuple[list[str], int]:
    """Problems found in every HTML file under ``root`` and the number of files checked."""
    root = root.resolve()
    pages = sorted(root.rglob("*.html"))
    parsed = {p: parse(p.read_text(encoding="utf-8", errors="replace")) for p in pages}
    problems: list[str] = []
    for page, p in parsed.items():
        rel = page.relative_to(root)
        for src in p.imgs:
            if src.startswith("data:"):
                continue
            if _is_external(src):
                problems.append(f"{rel}: <img> loads from the network: {src}")
                continue
            target, _ = _local_target(page, src)
            if target is None or not target.is_file():
                problems.append(f"{rel}: <img src={src!r}> does not exist")
        for tag, url in p.loads:
            if _is_external(url):
                problems.append(f"{rel}: <{tag}> loads from the network: {url}")
        for href in p.links:
            if href.startswith(("mailto:", "javascript:")) or _is_external(href) or href in ("#", ""):
                continue
            target, frag = _local_target(page, href)
            if target is None:
                continue
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: link {href!r} does not resolve")
            elif frag and target.suffix == ".html" and target in parsed and frag not in parsed[target].ids:
                problems.append(f"{rel}: link {href!r}: no element with id {frag!r}")
    return problems, len(pages)


def default_pages(root: Path) -> list[str]:
    pages = ["index.html"]
    chapters = sorted((root / "chapters").rglob("*.html")) if (root / "chapters").exists() else []
    prefer = [c for c in chapters if "<img" in c.read_text(encoding="utf-8", errors="replace")]
    if prefer:
        pages.append(str(prefer[0].relative_to(root)))
    return pages


def follow_refresh(page: Path) -> Path:
    """The page a ``<meta http-equiv="refresh" content="0; url=...">`` page sends the browser to."""
    import re

    text = page.read_text(encoding="utf-8", errors="replace")[:2000]
    m = re.search(r'http-equiv=["\']?refresh["\']?[^>]*content=["\'][^"\']*url=([^"\']+)', text, re.I)
    if not m:
        return page
    target, _ = _local_target(page, m.group(1).strip())
    return target if target is not None and target.is_file() else page


def browse(root: Path, pages: list[str], out: Path, chromium: str, timeout: int = 90) -> list[str]:
    """Dump the DOM and screenshot each page with headless chromium; re-check the DOM's images."""
    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xit-chromium-") as profile:
        base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        for rel in pages:
            page = (root / rel).resolve()
            if not page.exists():
                problems.append(f"{rel}: page does not exist")
                continue
            landed = follow_refresh(page)  # jupyter-book's index.html only redirects to the root page
            if landed != page:
                print(f"{rel}: redirects to {landed.relative_to(root.resolve())}")
                page = landed
            url = page.as_uri()
            stem = rel.replace("/", "_").removesuffix(".html")
            try:
                dom = subprocess.run(
                    [*base, "--virtual-time-budget=5000", "--dump-dom", url],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                problems.append(f"{rel}: chromium --dump-dom timed out after {timeout}s")
                continue
            if dom.returncode != 0 or "<body" not in dom.stdout:
                problems.append(
                    f"{rel}: chromium --dump-dom failed (exit {dom.returncode}): "
                    f"{dom.stderr.strip().splitlines()[-1:] or ''}"
                )
                continue
            (out / f"{stem}.dom.html").write_text(dom.stdout, encoding="utf-8")
            p = parse(dom.stdout)
            for src in p.imgs:
                if src.startswith("data:"):
                    continue
                target, _ = (
                    _local_target(page, src) if not src.startswith("file:") else (Path(unquote(urlsplit(src).path)), "")
                )
                if _is_external(src) or target is None or not target.is_file():
                    problems.append(f"{rel} (rendered): <img src={src!r}> does not resolve to a file")
            shot = out / f"{stem}.png"
            try:
                subprocess.run(
                    [*base, "--window-size=1280,1600", f"--screenshot={shot}", url],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                problems.append(f"{rel}: chromium --screenshot timed out after {timeout}s")
                continue
            if not shot.exists() or shot.stat().st_size < 1000:
                problems.append(f"{rel}: no screenshot written")
            else:
                print(f"{rel}: DOM {len(dom.stdout)} chars, {len(p.imgs)} <img>, screenshot {shot}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", default="book/_build/html")
    ap.add_argument("--out", default=None, help="DOM dumps and screenshots (default <html>/../html-check)")
    ap.add_argument("--page", action="append", default=None, help="page to render (relative .html), repeatable")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--require-browser", action="store_true", help="fail if chromium is missing")
    a = ap.parse_args(argv)
    root = Path(a.html)
    if not (root / "index.html").exists():
        print(f"check_book_html: {root}/index.html does not exist (build the book first)", file=sys.stderr)
        return 1
    problems, n = check_static(root)
    print(f"static check: {n} HTML files")
    if not a.no_browser:
        chromium = chromium_path()
        if chromium is None:
            msg = "chromium not found (apt-get update && apt-get install -y chromium)"
            if a.require_browser:
                problems.append(msg)
            else:
                print(f"check_book_html: {msg}; browser pass skipped", file=sys.stderr)
        else:
            out = Path(a.out) if a.out else root.parent / "html-check"
            problems += browse(root, a.page or default_pages(root), out, chromium)
    for line in problems:
        print(f"check_book_html: {line}", file=sys.stderr)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("LANG", "C.UTF-8")
    raise SystemExit(main())
