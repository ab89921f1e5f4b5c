"""The package's shape (docs/how-it-works.md, the map): which layer may import which, no
import cycles, no imports inside functions, no module beyond about 400 lines. Read from the
source with ast, so a change that breaks the layering fails here before review."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dh_pyrpath"
MAX_LINES = 400

# Layer of each module, by its dotted name under dh_pyrpath (a subpackage's modules share its
# layer). Each layer may import the layers it lists, and itself.
BOTTOM = {"dh_pyrpath", "errors", "log", "host"}
LAYER_OF = {**{m: "bottom" for m in BOTTOM}, "settings": "run", "debhelper": "run",
            "store": "store", "package": "package", "python": "python", "deps": "deps",
            "audit": "audit", "pipeline": "top", "vendor": "top", "standalone": "top",
            "audit_cli": "top",
            "__main__": "top"}
MAY_USE = {
    "bottom": {"bottom"},
    "run": {"bottom", "run"},
    "store": {"bottom", "store"},
    "package": {"bottom", "package"},
    "python": {"bottom", "store", "package", "python"},
    "deps": {"bottom", "store", "deps"},
    # reads what package/ writes (the SBOM) and asks apt through python/; nothing builds
    "audit": {"bottom", "package", "python", "audit"},
    "top": {"bottom", "run", "store", "package", "python", "deps", "audit", "top"},
}


def modules():
    """{dotted name: path} of every module of the package (helpers are scripts, not modules)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if "helpers" in rel.parts:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(["dh_pyrpath", *parts])] = path
    return found


def resolve(module, level, name, is_package):
    """The absolute name a relative import in `module` refers to."""
    if level == 0:
        return name
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports(name, path, known):
    """[(imported module, line, at top level)] of dh_pyrpath modules that `name` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(name, node.level, node.module, is_package)
            # `from . import x` imports module x when there is one, else a name of the package
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            if target == "dh_pyrpath" or target.startswith("dh_pyrpath."):
                found.append((target, node.lineno, id(node) in top))
    return found


def layer(module):
    parts = module.split(".")
    return LAYER_OF[parts[1]] if len(parts) > 1 else "bottom"


MODULES = modules()
GRAPH = {name: imports(name, path, MODULES) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    assert not [m for m in MODULES if m.split(".")[1:2] and m.split(".")[1] not in LAYER_OF]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_only(name):
    mine = layer(name)
    wrong = [f"{name}:{line} imports {target} ({layer(target)})"
             for target, line, _ in GRAPH[name]
             if target != name and layer(target) not in MAY_USE[mine]]
    assert not wrong, f"{mine} may use {sorted(MAY_USE[mine])} only: {wrong}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_at_the_top(name):
    """An import inside a function usually hides a cycle or an upward import."""
    inner = [f"{name}:{line} imports {target}" for target, line, top in GRAPH[name] if not top]
    assert not inner


def test_no_import_cycles():
    edges = {name: {t for t, _, _ in deps if t in MODULES and t != name}
             for name, deps in GRAPH.items()}
    # a package's __init__ importing nothing is the norm here; still follow what it imports
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines: split it by what it owns"


def test_only_the_command_line_uses_audit():
    """--audit reads packages; nothing that builds them depends on it (standalone.py holds
    the commands that need no debian/, --audit among them)."""
    users = {name for name, deps in GRAPH.items() for target, _, _ in deps
             if layer(target) == "audit" and layer(name) != "audit"}
    assert users <= {"dh_pyrpath.standalone"}


def test_the_checks_see_a_bad_import(tmp_path):
    """The graph reader itself: an upward, inner import in a made-up store module is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef f():\n    from ..python import recipe\n")
    found = imports("dh_pyrpath.store.bad", bad, {"dh_pyrpath.python.recipe"})
    assert found == [("dh_pyrpath.python.recipe", 4, False)]
    assert layer("dh_pyrpath.python.recipe") not in MAY_USE["store"]
