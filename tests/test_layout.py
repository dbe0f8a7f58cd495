"""The layout shows the architecture: no import cycles between or inside
inspector/ and sync/, the sync API holds only sync, and SQL lives in the
data layer (routes, the CLI and the sync API never write SQL)."""
import ast
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


SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")


@pytest.mark.parametrize("module", ["inspector/views", "inspector/cli.py", "inspector/demo.py", "sync/api.py",
                                    "sync/protocol.py", "sync/fields.py"])
def test_routes_cli_and_protocol_hold_no_sql(module):
    paths = [ROOT / module] if module.endswith(".py") else sorted((ROOT / module).glob("*.py"))
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.lstrip().upper().startswith(SQL_WORDS), f"SQL in {path}: {node.value[:60]}"
