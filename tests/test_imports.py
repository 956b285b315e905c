"""Imports inside ``xitcore`` point one way (data -> tasks -> model/train -> pipeline -> cli/book): no cycle,
every module in one layer (``LAYERS``), and no import of a higher layer beyond the two recorded exceptions.

Every import counts, at module level or inside a function: an import moved into a function to dodge a cycle
still makes one. Built from the source's AST alone (nothing is imported), with the standard library only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.quick  # all of this module is in the quick subset (pytest -m quick)

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


# Every module of xitcore sits in one layer, lowest first; a module imports only modules of its own layer or a
# lower one (DESIGN.md, "Import direction": data -> tasks -> config/corpus -> model/train -> pipeline ->
# plan/grid/distributed -> cli/book). A name ending in ".*" is a package and every module inside it (a new
# module there joins its package's layer); any other name is one module, so a new top-level module has no
# layer until it is given one here, and test_every_module_has_one_layer fails.
LAYERS = [
    ("base", ("xitcore", "xitcore.errors", "xitcore.metrics.*")),
    ("data", ("xitcore.data.*", "xitcore.surface")),
    ("tasks", ("xitcore.tasks.*",)),
    ("config/corpus", ("xitcore.config", "xitcore.corpus", "xitcore.overlap")),
    ("multilingual", ("xitcore.multilingual.*",)),
    (
        "model/train",
        (
            "xitcore.model",
            "xitcore.train",
            "xitcore.runstore",
            "xitcore.frozen",
            "xitcore.packaged",
            "xitcore.baselines",
        ),
    ),
    ("pipeline", ("xitcore.pipeline",)),
    (
        "plan/grid/distributed/results",
        ("xitcore.plan", "xitcore.grid", "xitcore.distributed", "xitcore.throughput", "xitcore.results"),
    ),
    ("cli/book", ("xitcore.cli", "xitcore.book.*")),
]

# The only upward imports allowed, as they are today (a new one fails test_layers_point_one_way; one that is
# gone fails too, so that this list only ever shrinks):
# - results.py (run store -> DataFrame) imports book.tables for the table helpers it shares with the book; those
#   live in xitcore/book/tables.py, which the book's developer owns, so they stay there for now.
# - corpus.py imports multilingual.mc4 for the streamed mC4 corpus (multilingual data is built on the corpus:
#   translate and dictionary import it).
ALLOWED_UPWARD = {
    ("xitcore.results", "xitcore.book.tables"),
    ("xitcore.corpus", "xitcore.multilingual.mc4"),
}


def _in_entry(module: str, entry: str) -> bool:
    if entry.endswith(".*"):
        package = entry[:-2]
        return module == package or module.startswith(package + ".")
    return module == entry


def layer_of(module: str) -> list[int]:
    """The positions in LAYERS of every layer that names ``module`` (exactly one when all is well)."""
    return [n for n, (_, entries) in enumerate(LAYERS) if any(_in_entry(module, e) for e in entries)]


def upward_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Imports from a module to one of a higher layer (modules without exactly one layer are left out)."""
    rank = {m: layer_of(m) for m in graph}
    return {
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if len(rank[m]) == 1 and len(rank.get(t, [])) == 1 and rank[t][0] > rank[m][0]
    }


def test_every_module_has_one_layer():
    graph = import_graph()
    assert len(graph) > 40  # the whole package was read
    missing = sorted(m for m in graph if not layer_of(m))
    assert not missing, f"no layer in tests/test_imports.py LAYERS for: {', '.join(missing)}"
    twice = sorted(m for m in graph if len(layer_of(m)) > 1)
    assert not twice, f"in more than one layer: {', '.join(twice)}"


def test_layers_point_one_way():
    found = upward_edges(import_graph())
    new = sorted(found - ALLOWED_UPWARD)
    assert not new, "imports of a higher layer: " + "; ".join(f"{m} imports {t}" for m, t in new)
    gone = sorted(ALLOWED_UPWARD - found)
    assert not gone, "allowed upward imports that no longer exist (drop them from ALLOWED_UPWARD): " + "; ".join(
        f"{m} -> {t}" for m, t in gone
    )


def test_layer_check_finds_a_new_upward_import_and_a_module_without_layer():
    graph = {m: set(t) for m, t in import_graph().items()}
    graph["xitcore.data.paths"].add("xitcore.pipeline")  # data reaching up to the pipeline
    graph["xitcore.book.statistics"].add("xitcore.cli")  # same layer: allowed
    assert upward_edges(graph) - ALLOWED_UPWARD == {("xitcore.data.paths", "xitcore.pipeline")}
    assert layer_of("xitcore.newmodule") == [] and layer_of("xitcore.tasks.newkind") == layer_of("xitcore.tasks")
    assert layer_of("xitcore.metricsfoo") == []  # a package entry is no prefix of other names
