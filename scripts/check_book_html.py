#!/usr/bin/env python3
"""Check a built jupyter-book: images, local links, no external resources, and (with chromium) the
rendered DOM and screenshots.

    .venv/bin/python scripts/check_book_html.py [book/_build/html] [--out DIR] [--page REL.html ...]
                                                [--all] [--width 1400] [--no-browser]

1. Static pass over every ``*.html``: each ``<img src>`` must be a local file that exists; each
   local ``<a href>`` must resolve to an existing file (and, for ``page.html#id`` links into the
   book, to an element with that id); ``<script src>``, ``<link href>``, ``<img src>`` and
   ``<iframe src>`` must not load anything from the network (the book is read offline).
2. Browser pass (skipped with ``--no-browser``, or with a note if chromium is missing): headless
   Debian chromium dumps the DOM of ``index.html`` and of one chapter (or the ``--page`` list, or
   every page with ``--all``) after scripts ran, re-checks the ``<img>`` elements of that DOM, and
   takes a screenshot of each page into ``--out`` (default: ``<html>/../html-check``) at
   ``--width`` CSS pixels (1400 by default).  Install with
   ``apt-get update && apt-get install -y chromium``.
3. Layout pass (with the browser, when the ``websocket-client`` package is importable, as it is in
   the book's environment): each page is loaded over the DevTools protocol at ``--width``; a
   **full-page** screenshot is cut into ``<page>-NN.png`` tiles of ``--tile-height`` pixels (to look
   at), and the rendered layout is measured: any table, figure, code block or output that sticks out
   of the article column (into the sidebar) without a scrolling container is a problem, and so is a
   figure shown at less than ``--min-scale`` of its natural size (its text would shrink below
   legibility: the figures are drawn at 100 dpi for the column's width).

Exit status 0 if no problem was found, 1 otherwise; every problem is one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
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


def browse(root: Path, pages: list[str], out: Path, chromium: str, timeout: int = 90, width: int = 1400) -> list[str]:
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
                    [*base, f"--window-size={width},1600", f"--screenshot={shot}", url],
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


#: measured in the rendered page: the article column, what sticks out of it, and how much each figure is shrunk
LAYOUT_JS = r"""
(() => {
  const art = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const box = art.getBoundingClientRect();
  const out = {height: Math.ceil(document.documentElement.scrollHeight), column: [box.left, box.right],
               overflow: [], images: []};
  const clipper = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') return a;
    }
    return null;
  };
  const inside = (r) => r.right <= box.right + 2 && r.left >= box.left - 2;
  for (const el of art.querySelectorAll('table, img, pre, .cell_output, .output, div.highlight, figure')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || inside(r)) continue;
    const c = clipper(el);
    if (c && inside(c.getBoundingClientRect())) continue;
    out.overflow.push({tag: el.tagName.toLowerCase(), cls: String(el.className || '').slice(0, 50),
                       right: Math.round(r.right), column_right: Math.round(box.right),
                       text: (el.innerText || el.getAttribute('src') || '').replace(/\s+/g, ' ').slice(0, 60)});
  }
  out.scrolls = [];
  for (const el of art.querySelectorAll('.cell_output, .output, div.highlight pre')) {
    if (el.scrollWidth > el.clientWidth + 2 && el.offsetParent !== null && (el.innerText || '').trim()) {
      out.scrolls.push({tag: el.tagName.toLowerCase(), cls: String(el.className || '').slice(0, 50),
                        wide: el.scrollWidth, shown: el.clientWidth,
                        text: (el.innerText || '').replace(/\s+/g, ' ').slice(0, 60)});
    }
  }
  for (const img of art.querySelectorAll('img')) {
    if (!img.naturalWidth) continue;
    out.images.push({src: img.getAttribute('src'), natural: img.naturalWidth,
                     shown: Math.round(img.getBoundingClientRect().width)});
  }
  return JSON.stringify(out);
})()
"""


class DevTools:
    """A headless chromium driven over the DevTools protocol (``websocket-client``): one tab, reused."""

    def __init__(self, chromium: str, profile: str, timeout: int = 60):
        import time

        import websocket  # websocket-client, installed with jupyter

        self.timeout = timeout
        self.proc = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, suppress_origin=True)
        self._id = 0
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable", session=True)

    def send(self, method: str, session: bool = False, **params):
        import json

        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def wait_event(self, name: str) -> None:
        import json

        while True:
            if json.loads(self.ws.recv()).get("method") == name:
                return

    def evaluate(self, expression: str):
        r = self.send("Runtime.evaluate", session=True, expression=expression, awaitPromise=True, returnByValue=True)
        return r.get("result", {}).get("value")

    def load(self, url: str, width: int, height: int = 900) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")
        self.evaluate("document.fonts.ready.then(() => true)")

    def full_page_png(self, width: int, max_height: int = 40000) -> bytes:
        """The whole page: the viewport is made as tall as the document, then captured."""
        import base64
        import json

        height = min(max_height, json.loads(self.evaluate(LAYOUT_JS))["height"])
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.evaluate(
            "window.scrollTo(0, 0);"
            "document.querySelectorAll('*').forEach(e => { if (e.scrollLeft) e.scrollLeft = 0; });"
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
        )
        data = self.send("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        return base64.b64decode(data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def tiles(png: Path, tile_height: int) -> list[Path]:
    """Cut a full-page screenshot into ``<stem>-NN.png`` pieces of ``tile_height`` pixels (to look at)."""
    from PIL import Image

    img = Image.open(png)
    out = []
    for i, top in enumerate(range(0, img.height, tile_height)):
        piece = png.with_name(f"{png.stem}-{i + 1:02d}.png")
        img.crop((0, top, img.width, min(img.height, top + tile_height))).save(piece)
        out.append(piece)
    return out


def layout_pass(
    root: Path, pages: list[str], out: Path, chromium: str, width: int, tile_height: int, min_scale: float
) -> list[str]:
    """Full-page screenshots (cut into tiles) and the layout measurements of each page at ``width``."""
    import json

    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xit-devtools-") as profile:
        try:
            browser = DevTools(chromium, profile)
        except Exception as e:  # noqa: BLE001 - one line, whatever went wrong
            return [f"layout pass: {type(e).__name__}: {e}"]
        try:
            for rel in pages:
                page = (root / rel).resolve()
                if not page.exists():
                    continue
                page = follow_refresh(page)
                stem = rel.replace("/", "_").removesuffix(".html")
                browser.load(page.as_uri(), width)
                m = json.loads(browser.evaluate(LAYOUT_JS))
                for o in m["overflow"][:5]:
                    problems.append(
                        f"{rel}: <{o['tag']} class={o['cls']!r}> sticks out of the column at {width} px "
                        f"(right edge {o['right']} > {o['column_right']}): {o['text']!r}"
                    )
                for img in m["images"]:
                    if img["shown"] < min_scale * img["natural"]:
                        problems.append(
                            f"{rel}: figure {img['src']} shown at {img['shown'] / img['natural']:.0%} of its "
                            f"natural width ({img['shown']} of {img['natural']} px): its text shrinks"
                        )
                for sc in m["scrolls"]:  # fits, but only by scrolling sideways: worth a look, not a failure
                    print(
                        f"{rel}: note: <{sc['tag']} class={sc['cls']!r}> scrolls sideways ({sc['wide']} px in "
                        f"{sc['shown']} px): {sc['text']!r}"
                    )
                full = out / f"{stem}.full.png"
                full.write_bytes(browser.full_page_png(width))
                for old in out.glob(f"{stem}.full-*.png"):
                    old.unlink()
                pieces = tiles(full, tile_height)
                scales = [i["shown"] / i["natural"] for i in m["images"]]
                smallest = f", smallest figure scale {min(scales):.0%}" if scales else ""
                print(
                    f"{rel}: layout at {width} px: column {m['column'][0]:.0f}–{m['column'][1]:.0f} px, page "
                    f"{m['height']} px, {len(m['overflow'])} overflow(s), {len(m['images'])} figure(s)"
                    f"{smallest}; {len(pieces)} tile(s) {pieces[0].name}…"
                )
        finally:
            browser.close()
    return problems


def all_pages(root: Path) -> list[str]:
    """Every page of the book a reader reaches (not the search or index pages, nor ``_static``)."""
    skip = {"search.html", "genindex.html"}
    return [
        str(p.relative_to(root))
        for p in sorted(root.rglob("*.html"))
        if p.name not in skip and not any(part.startswith("_") for part in p.relative_to(root).parts)
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", default="book/_build/html")
    ap.add_argument("--out", default=None, help="DOM dumps and screenshots (default <html>/../html-check)")
    ap.add_argument("--page", action="append", default=None, help="page to render (relative .html), repeatable")
    ap.add_argument("--all", action="store_true", help="render every page of the book")
    ap.add_argument("--width", type=int, default=1400, help="browser window width in CSS pixels (default 1400)")
    ap.add_argument("--tile-height", type=int, default=1000, help="height of each full-page screenshot tile")
    ap.add_argument(
        "--min-scale", type=float, default=0.8, help="smallest allowed shown/natural width of a figure (default 0.8)"
    )
    ap.add_argument("--no-layout", action="store_true", help="skip the full-page screenshots and layout checks")
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
            pages = all_pages(root) if a.all else (a.page or default_pages(root))
            problems += browse(root, pages, out, chromium, width=a.width)
            if not a.no_layout and importlib.util.find_spec("websocket") is not None:
                problems += layout_pass(root, pages, out, chromium, a.width, a.tile_height, a.min_scale)
            elif not a.no_layout:
                print("check_book_html: websocket-client missing; layout pass skipped", file=sys.stderr)
    for line in problems:
        print(f"check_book_html: {line}", file=sys.stderr)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("LANG", "C.UTF-8")
    raise SystemExit(main())
