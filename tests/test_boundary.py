"""The plugin boundary, read from the source: the core names no plugin, plugins meet only through roles,
and no import circle exists anywhere."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from latentstack.registry import HOOKS, Registry

from .conftest import ROOT

CORE = ROOT / "corelib" / "latentstack"
PLUGINS = sorted((ROOT / "plugins").glob("latentstack_*"))


def builtin_names() -> set[str]:
    """Every name a built-in plugin registers for a role, and the plugins' own names (not model sources)."""
    reg = Registry.discover().build()
    names = {name for role in HOOKS if role != "model_source" for name in reg.names(role)}
    return names | {p.name.removeprefix("latentstack_") for p in PLUGINS}


def trees(folder: Path) -> list[tuple[Path, ast.AST]]:
    """Every Python file under ``folder``, parsed."""
    return [(f, ast.parse(f.read_text(encoding="utf-8"))) for f in sorted(folder.rglob("*.py"))]


def imported(tree: ast.AST) -> set[str]:
    """Top-level package names a module imports, at any depth of the file (lazy imports included)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


def name_conditions(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of each plugin name used as a condition: compared with ==, !=, in, or a dict key."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            consts = [c for p in parts for c in ast.walk(p) if isinstance(c, ast.Constant)]
        elif isinstance(node, ast.Dict):
            consts = [k for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.MatchValue):
            consts = [node.value] if isinstance(node.value, ast.Constant) else []
        else:
            continue
        found += [(node.lineno, c.value) for c in consts if isinstance(c.value, str) and c.value in names]
    return found


def test_no_core_file_imports_a_plugin() -> None:
    """No file under corelib/ imports a plugin package, not even inside a function."""
    plugins = {p.name for p in PLUGINS}
    bad = [(str(f.relative_to(ROOT)), sorted(imported(t) & plugins)) for f, t in trees(CORE) if imported(t) & plugins]
    assert not bad, bad


def test_core_and_cli_never_branch_on_a_plugin_name() -> None:
    """A plugin name may be a default argument, never compared against or used as a lookup key."""
    names = builtin_names()
    bad = [(str(f.relative_to(ROOT)), hits) for f, t in trees(CORE) if (hits := name_conditions(t, names))]
    assert not bad, bad


def test_the_check_would_catch_a_branch() -> None:
    """The reader above does find the patterns it forbids (so a pass means something)."""
    names = {"faiss", "bert"}
    assert name_conditions(ast.parse('if index == "faiss": pass'), names) == [(1, "faiss")]
    assert name_conditions(ast.parse('x = {"bert": 1}.get(e, {})'), names) == [(1, "bert")]
    assert name_conditions(ast.parse('def f(e="bert"): return get(e)'), names) == []


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_plugins_do_not_import_each_other(plugin: Path) -> None:
    """A plugin imports the core and itself, never another plugin's package."""
    others = {p.name for p in PLUGINS} - {plugin.name}
    bad = [(str(f.relative_to(ROOT)), sorted(imported(t) & others)) for f, t in trees(plugin) if imported(t) & others]
    assert not bad, bad


def test_no_import_circle_anywhere() -> None:
    """The import graph of the core and every plugin (lazy imports included) has no cycle."""
    grimp = pytest.importorskip("grimp")
    sys.path[:0] = [str(ROOT / "corelib"), str(ROOT / "plugins")]
    graph = grimp.build_graph("latentstack", *(p.name for p in PLUGINS))
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, cycles


def strongly_connected(graph: object) -> list[list[str]]:
    """Tarjan's strongly connected components of a grimp graph, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph.modules):  # type: ignore[attr-defined]
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]  # type: ignore[attr-defined]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))  # type: ignore[attr-defined]
            elif child in on:
                low[v] = min(low[v], index[child])
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    """On a toy graph a -> b -> c -> a, d -> a, the finder reports exactly {a, b, c}."""

    class Toy:
        edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        modules = set(edges)

        def find_modules_directly_imported_by(self, m: str) -> set[str]:
            return self.edges[m]

    assert [c for c in strongly_connected(Toy()) if len(c) > 1] == [["a", "b", "c"]]
