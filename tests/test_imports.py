"""Imports inside ``xitcore`` point one way (data -> tasks -> model/train -> pipeline -> cli/book): no cycle.

Every import counts, at module level or inside a function: an import moved into a function to dodge a cycle
still makes one. Built from the source's AST alone (nothing is imported), with the standard library only.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xitcore"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the xitcore modules it imports (``from .x import y`` counts as x, or x.y if that is a module)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in files:  # xitcore.data.paths.ud_file -> xitcore.data.paths
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_detector_finds_a_cycle_hidden_in_a_function(tmp_path):
    pkg = tmp_path / "xitcore"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import f\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n    return a\n")
    (pkg / "c.py").write_text("import xitcore.a\n")
    graph = import_graph(pkg)
    assert graph["xitcore.a"] == {"xitcore.b"} and graph["xitcore.b"] == {"xitcore.a"}
    assert cycles(graph) == [["xitcore.a", "xitcore.b"]]


def test_xitcore_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles in xitcore: " + "; ".join(" <-> ".join(c) for c in found)


# Lower layers never import higher ones: data -> tasks -> config/corpus -> model/train -> pipeline -> cli/book.
LAYERS = [
    (
        "xitcore.data",
        (
            "xitcore.tasks",
            "xitcore.config",
            "xitcore.corpus",
            "xitcore.overlap",
            "xitcore.model",
            "xitcore.train",
            "xitcore.pipeline",
            "xitcore.cli",
            "xitcore.book",
        ),
    ),
    (
        "xitcore.tasks",
        (
            "xitcore.config",
            "xitcore.corpus",
            "xitcore.overlap",
            "xitcore.model",
            "xitcore.train",
            "xitcore.pipeline",
            "xitcore.cli",
            "xitcore.book",
        ),
    ),
    ("xitcore.model", ("xitcore.pipeline", "xitcore.cli", "xitcore.book")),
    ("xitcore.train", ("xitcore.pipeline", "xitcore.cli", "xitcore.book")),
]


def test_layers_point_one_way():
    graph = import_graph()
    wrong = [
        f"{m} imports {t}"
        for low, high in LAYERS
        for m, targets in graph.items()
        if m == low or m.startswith(low + ".")
        for t in targets
        if t.startswith(high)
    ]
    assert not wrong, "; ".join(wrong)
