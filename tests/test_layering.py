"""The package's layering, read from the source (no imports run, no Qt): the GUI is the only Qt code,
its tabs never import each other, and what the tabs share depends on no tab."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "latentlab"
GUI = PACKAGE / "gui"
TABS = ("train", "explore", "record", "metrics")
SHARED = ("widgets", "state")  # used by several tabs: may import no tab
SHELL_TAB_USERS = ("app.py", "main_window.py")  # the shell puts the tabs into the window
QT = ("PySide6", "pyqtgraph", "shiboken6")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (lazy imports inside functions too), absolute."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def tab_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[:2] == ["latentlab", "gui"] and len(parts) > 2 and parts[2] in TABS:
        return parts[2]
    return None


def test_the_reader_sees_imports_at_every_depth():
    """Guards the checks below against passing because the parser found nothing."""
    panel = imports_of(GUI / "explore" / "panel.py")
    assert "latentlab.gui.explore.layout.build_layout" in panel
    assert "PySide6.QtWidgets" in panel
    assert "latentlab.gui.widgets.nearest" in panel  # imported inside a method
    assert "PySide6" in imports_of(GUI / "__init__.py")


def test_every_gui_subpackage_is_a_tab_or_shared():
    found = {p.name for p in GUI.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert found == set(TABS) | set(SHARED), "a new gui/ subpackage must be listed as a tab or as shared here"


@pytest.mark.parametrize("tab", TABS)
def test_tabs_never_import_each_other(tab):
    crossings = [(module_name(path), name) for path in sources(GUI / tab) for name in imports_of(path)
                 if tab_of(name) not in (None, tab)]
    assert not crossings, f"move what these share into gui/widgets or gui/state: {crossings}"


def test_shared_gui_code_imports_no_tab():
    shared = [path for folder in SHARED for path in sources(GUI / folder)]
    shared += [path for path in GUI.glob("*.py") if path.name not in SHELL_TAB_USERS]
    crossings = [(module_name(path), name) for path in shared for name in imports_of(path) if tab_of(name)]
    assert not crossings


def test_gui_state_has_no_qt():
    offenders = [(module_name(path), name) for path in sources(GUI / "state") for name in imports_of(path)
                 if name.split(".")[0] in QT]
    assert not offenders


def test_only_the_gui_imports_qt():
    offenders = [(module_name(path), name) for path in sources(PACKAGE) if GUI not in path.parents
                 for name in imports_of(path) if name.split(".")[0] in QT]
    assert not offenders


def test_every_latentlab_module_imported_exists():
    """After a move, an import of the old path (even one inside a test function or a devtools script) fails
    here, not later."""
    root = PACKAGE.parent
    missing = []
    for path in sources(PACKAGE) + sources(root / "tests") + sources(root / "devtools"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and not node.level and node.module else []
            for name in names:
                if name.split(".")[0] not in ("latentlab", "devtools"):
                    continue
                base = root.joinpath(*name.split("."))
                if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
                    missing.append((str(path.relative_to(root)), name))
    assert not missing


# docs/design.md's layers, bottom (0) to top: a module imports only its own layer or lower ones.
LAYERS = {
    "config": 0, "atomic": 0, "resources": 0, "bounds": 0, "progress": 0,
    "data": 1, "models": 1,
    "run": 2, "latent": 2,
    "metrics": 3,
    "train": 4,
    "inference": 5,
    "media": 6,  # a walk renders its frames with inference's Renderer
    "cli": 7,
    "gui": 8, "__main__": 8,
}
LAZY_UPWARD = {("cli", "gui")}  # `latentlab gui` loads the window on demand; a training node needs no Qt


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "latentlab" and len(parts) > 1 and parts[1] in LAYERS else None


def test_no_import_runs_back_up_the_layers():
    assert {path.stem if path.parent == PACKAGE else path.relative_to(PACKAGE).parts[0]
            for path in sources(PACKAGE) if path.name != "__init__.py" or path.parent != PACKAGE} <= set(LAYERS)
    upward = []
    for path in sources(PACKAGE):
        me = layer_of(module_name(path))
        for name in imports_of(path):
            other = layer_of(name)
            if me and other and LAYERS[other] > LAYERS[me] and (me, other) not in LAZY_UPWARD:
                upward.append(f"{module_name(path)} imports {name}")
    assert upward == []


# Panels share state only through the Workspace (gui/state/workspace.py): a tab never looks the
# window or another panel up by name, which no import check could see.
WINDOW_NAMES = ("window", "main_window")
PANEL_ATTRIBUTES = tuple(f"{tab}_panel" for tab in TABS)  # the window's handles on its tabs


def _reached(node: ast.expr) -> str | None:
    """The name when `node` is the window or a panel: window, self.main_window, self.train_panel,
    panel, self.window(), ..."""
    if isinstance(node, ast.Call):  # self.window()
        node = node.func
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    if name is not None and (name in WINDOW_NAMES or name.endswith("panel")):
        return name
    return None


def reaches_by_name(source: str) -> list[str]:
    """Every hasattr/getattr/setattr on the window or a panel; in a tab's code also every use of the
    window's handles on its tabs (window.train_panel) and every call of .window()."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("hasattr", "getattr", "setattr") and node.args and _reached(node.args[0]):
            found.append(f"line {node.lineno}: {node.func.id}({ast.unparse(node.args[0])}, ...)")
    return found


def reaches_the_window(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PANEL_ATTRIBUTES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "window":
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    return found


def test_the_reach_checks_see_what_they_look_for():
    """Guards the two checks below against passing because they look for nothing."""
    caught = reaches_by_name(
        "hasattr(window, 'train_panel')\ngetattr(self.train_panel, 'run_dir', None)\n"
        "getattr(self.window(), 'tabs', None)\nif hasattr(panel, 'shutdown'): pass\n"
        "setattr(self.main_window, 'x', 1)\ngetattr(cfg.train, 'lr_d')\n")
    assert len(caught) == 5 and "line 6" not in " ".join(caught)
    caught = reaches_the_window("self.window().tabs.setCurrentWidget(self)\nwin.explore_panel.state\nself.state\n")
    assert len(caught) == 2


def test_no_gui_code_reaches_the_window_or_a_panel_by_name():
    offenders = [f"{module_name(path)} {hit}" for path in sources(GUI)
                 for hit in reaches_by_name(path.read_text(encoding="utf-8"))]
    assert not offenders, f"share state through the Workspace instead: {offenders}"


@pytest.mark.parametrize("tab", TABS)
def test_tabs_know_neither_the_window_nor_each_other(tab):
    offenders = [f"{module_name(path)} {hit}" for path in sources(GUI / tab)
                 for hit in reaches_the_window(path.read_text(encoding="utf-8"))]
    assert not offenders, f"a panel gets the Workspace, not the window: {offenders}"


# -- no two modules import each other --------------------------------------------------------------
MODULES = {module_name(path): path for path in sources(PACKAGE)}


def _module_of(name: str) -> str | None:
    """The latentlab module that `name` (a module, or a name in one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def module_imports(path: Path) -> set[str]:
    """The latentlab modules `path` imports anywhere (lazy imports too). `from pkg import sub` is an
    import of pkg.sub; a module's own parent packages are left out: Python runs them before the module
    whether it names them or not, so naming one adds no dependency."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            subs = [f"{base}.{alias.name}" for alias in node.names]
            names = subs if all(sub in MODULES for sub in subs) else [base]
        else:
            continue
        for name in names:
            module = _module_of(name) if name.split(".")[0] == "latentlab" else None
            if module and module != me and not me.startswith(module + "."):
                found.add(module)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that reach each other through imports (Tarjan's strongly connected
    components of more than one module)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_cycle_finder_sees_a_cycle_through_a_lazy_import():
    """Guards the check below against passing because it finds nothing."""
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
    dispatch = module_imports(PACKAGE / "cli" / "dispatch.py")
    assert {"latentlab.cli.edit", "latentlab.cli.common", "latentlab.config"} <= dispatch
    assert "latentlab.cli" not in dispatch  # `from latentlab.cli import edit` imports cli.edit
    assert "latentlab.inference.api" in module_imports(PACKAGE / "__init__.py")  # inside a function


def test_no_two_modules_import_each_other():
    graph = {name: module_imports(path) for name, path in MODULES.items()}
    assert import_cycles(graph) == []
