"""The layout rules of docs/architecture.md, checked on the source.

* ``geo`` (the library) never imports ``streamlit``, ``ui``, ``pages`` or ``app`` —
  not at the top of a module and not inside a function;
* ``ui`` never imports ``pages`` or ``app``;
* no import cycle between geo modules (every import counts, inside functions too);
* no geo module over 700 lines (the synthetic demo generator excepted), no function
  over 120 lines, at least five subpackages.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGES = ("streamlit", "ui", "pages", "app")
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 120
SIZE_EXEMPT = {"geo.pipeline.demo"}  # the synthetic demo region generator (data in code)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


GEO = _modules("geo")


def _imports(name: str, path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (absolute)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                mod = ".".join(parent + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # "from pkg import module"
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", "")) in ("import_module", "__import__"):
            out.update(a.value for a in node.args
                       if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return out


def _top(mod: str) -> str:
    return mod.split(".")[0]


@pytest.mark.parametrize("name", sorted(GEO))
def test_geo_never_imports_the_app(name: str) -> None:
    bad = sorted(m for m in _imports(name, GEO[name]) if _top(m) in APP_PACKAGES)
    assert not bad, f"{name} imports {bad}: the library must not depend on the app"


def test_importing_every_geo_module_loads_no_streamlit() -> None:
    code = ("import importlib, sys\n"
            f"for m in {sorted(GEO)!r}:\n"
            "    if not m.endswith('__main__'):\n"
            "        importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{APP_PACKAGES!r})\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_ui_never_imports_pages_or_app() -> None:
    for name, path in _modules("ui").items():
        bad = sorted(m for m in _imports(name, path) if _top(m) in ("pages", "app"))
        assert not bad, f"{name} imports {bad}"


def _import_graph(modules: dict[str, Path]) -> nx.DiGraph:
    g = nx.DiGraph()
    for name, path in modules.items():
        g.add_node(name)
        for target in _imports(name, path):
            if target in modules and target != name:
                g.add_edge(name, target)
    return g


def test_no_import_cycles_between_geo_modules() -> None:
    g = _import_graph(GEO)
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_import_cycles_in_the_ui_layer() -> None:
    ui = _modules("ui")
    cycles = [sorted(c) for c in nx.strongly_connected_components(_import_graph(ui))
              if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_module_and_function_sizes() -> None:
    too_long = []
    for name, path in GEO.items():
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES and name not in SIZE_EXEMPT:
            too_long.append(f"module {name}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"function {name}.{node.name}: {length} lines")
    assert not too_long, too_long


def test_geo_is_organised_in_subpackages() -> None:
    subpackages = sorted(p.parent.name for p in (ROOT / "geo").glob("*/__init__.py"))
    assert len(subpackages) >= 5, subpackages
    flat = sorted(p.stem for p in (ROOT / "geo").glob("*.py") if p.stem != "__init__")
    # the top level keeps only the shared foundations
    assert set(flat) <= {"errors", "params", "crs", "schema", "vocab", "palette"}, flat


#: The subpackages of geo, lowest first (docs/architecture.md): each imports only the
#: top-level foundations and the packages before it.
LAYERS = ("io", "network", "coverage", "population", "access", "stations", "pipeline",
          "siting", "reports", "batch", "webmap", "cli")


def test_subpackages_import_only_lower_layers() -> None:
    present = {p.parent.name for p in (ROOT / "geo").glob("*/__init__.py")}
    assert present <= set(LAYERS), f"add {sorted(present - set(LAYERS))} to LAYERS"
    bad = []
    for name, path in GEO.items():
        parts = name.split(".")
        if len(parts) < 3 or parts[1] not in LAYERS:
            continue
        rank = LAYERS.index(parts[1])
        for target in _imports(name, path):
            t = target.split(".")
            if t[0] == "geo" and len(t) > 1 and t[1] in LAYERS and LAYERS.index(t[1]) > rank:
                bad.append(f"{name} imports {target}")
    assert not bad, bad
