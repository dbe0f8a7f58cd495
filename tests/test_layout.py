"""The layout shows the architecture: three layers in three folders, each
importing only those below it (inspector/domain at the bottom, sync/ in the
middle, inspector/app on top), no import cycles, and SQL only in the data
modules (the domain, and the protocol's op log and registers): routes, the
CLI and the protocol's logic never write SQL."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("inspector", "sync")


def modules():
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(name, path, known):
    """Modules of ours that ``name`` imports, anywhere in it (imports inside
    functions count: they are edges all the same)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return out - {name}


def test_no_import_cycles():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    done, path = set(), []

    def visit(node):
        if node in path:
            cycle = path[path.index(node):] + [node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        path.append(node)
        for target in sorted(graph.get(node, ())):
            visit(target)
        path.pop()
        done.add(node)

    for name in sorted(graph):
        visit(name)


def test_the_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    """The check above can fail: two modules importing each other are caught."""
    pkg = tmp_path / "inspector"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from inspector import a\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_no_import_cycles()


# Each layer, and what it may import of ours: never a layer above it.
LAYERS = {"inspector.domain": {"inspector.domain"},
          "sync": {"sync", "inspector.domain"},
          "inspector.app": {"inspector.app", "sync", "inspector.domain"}}


def layer_of(module):
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    return module  # the bare `inspector` package: it must import nothing


def upward_imports():
    known = modules()
    found = []
    for name, path in sorted(known.items()):
        allowed = LAYERS.get(layer_of(name), set())
        for target in sorted(imports(name, path, known)):
            if layer_of(target) not in allowed:
                found.append(f"{name} imports {target}")
    return found


def test_every_module_sits_in_a_layer():
    assert {layer_of(m) for m in modules()} == {*LAYERS, "inspector"}


def test_no_layer_imports_one_above_it():
    """The domain never imports the protocol, the views, the CLI or the demo;
    the protocol never imports the app; `inspector/__init__.py` imports nothing."""
    assert upward_imports() == []


def test_the_layer_check_finds_an_upward_import(tmp_path, monkeypatch):
    """The check above can fail: a domain module importing a view is named."""
    for folder in ("inspector", "inspector/domain", "inspector/app", "inspector/app/views", "sync"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "inspector/app/views/pages.py").write_text("")
    (tmp_path / "inspector/domain/findings.py").write_text("def f():\n    from ..app.views import pages\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert upward_imports() == ["inspector.domain.findings imports inspector.app.views.pages"]


def test_the_protocol_loads_without_the_app():
    """Importing the protocol (as a worker script or another client's server
    would) loads the domain below it and nothing of the app above it."""
    code = ("import sys, sync.protocol, sync.fields, sync.oplog; "
            "print(sorted(m for m in sys.modules if m.startswith('inspector.app')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")


@pytest.mark.parametrize("module", ["inspector/app", "sync/api.py", "sync/protocol.py", "sync/fields.py",
                                    "sync/shapes.py", "sync/forms.py"])
def test_routes_cli_and_protocol_hold_no_sql(module):
    paths = [ROOT / module] if module.endswith(".py") else sorted((ROOT / module).rglob("*.py"))
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.lstrip().upper().startswith(SQL_WORDS), f"SQL in {path}: {node.value[:60]}"


def hand_read_htmx_headers(paths):
    """(file, string) for each string naming an htmx header (HX-Request,
    HX-Target, HX-Trigger, HX-Retarget...) in Python code: flask-htmx reads
    and writes them (the ``htmx`` object in inspector/app/extensions.py,
    flask_htmx.make_response), so no view spells one out."""
    return [(path.name, node.value) for path in paths for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.fullmatch(r"(?i)hx-[a-z-]+", node.value.strip())]


def test_htmx_headers_go_through_flask_htmx():
    paths = sorted(p for folder in ("inspector", "sync") for p in (ROOT / folder).rglob("*.py"))
    assert hand_read_htmx_headers(paths) == []


def test_the_htmx_header_check_finds_a_header_read_by_hand(tmp_path):
    view = tmp_path / "view.py"
    view.write_text('from flask import request\n\n\ndef rows():\n    return request.headers.get("HX-Target")\n')
    assert hand_read_htmx_headers([view]) == [("view.py", "HX-Target")]
