"""The docs stay true about the tree: every file path named in the docs, in
comments and docstrings, and every relative link in Markdown, exists; the
README names every command of `inspector`."""
import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from inspector.app.cli import main

ROOT = Path(__file__).resolve().parent.parent
# A path into the repository: a top-level folder of ours, then a file with an extension.
PATH = re.compile(r"(?<![\w./-])((?:inspector|sync|tests|bench|docs|static|templates)/[\w./-]*?\w\.(?:py|md|js|json|html|css|csv|txt|sql))\b")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# The changelog names files as they were, on purpose.
HISTORY = {"CHANGELOG.md"}


def markdown_files():
    return sorted(p for p in ROOT.rglob("*.md") if _ours(p) and p.name not in HISTORY)


def _ours(path):
    parts = path.relative_to(ROOT).parts
    return not ({".venv", ".git", "node_modules", ".pytest_cache", "vendor"} & set(parts)
                or parts[0].endswith(".egg-info"))


def python_prose(path):
    """The comments and docstrings of a Python file: where it talks about
    other files (string literals in code may name files of a temporary tree)."""
    text = path.read_text(encoding="utf-8")
    prose = [tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                prose.append(doc)
    return "\n".join(prose)


def texts():
    """(file, text) of every doc, and of the prose of every source file."""
    for path in markdown_files():
        yield path, path.read_text(encoding="utf-8")
    for folder in ("inspector", "sync", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if _ours(path):
                yield path, python_prose(path)
    for folder in ("static/js", "sync/static"):
        for path in sorted((ROOT / folder).rglob("*.js")):
            yield path, path.read_text(encoding="utf-8")
    yield ROOT / "tests/search_cases.json", (ROOT / "tests/search_cases.json").read_text(encoding="utf-8")
    yield ROOT / "pyproject.toml", (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def missing_paths(pairs):
    return sorted({f"{path.relative_to(ROOT)} names {named}" for path, text in pairs
                   for named in PATH.findall(text) if not (ROOT / named).exists()})


def test_every_path_the_docs_and_comments_name_exists():
    assert missing_paths(texts()) == [], "a doc or comment names a file that is not there: fix or remove the claim"


def test_the_path_check_finds_a_moved_file():
    """The check above can fail: a comment citing a test file that was never written is named."""
    text = "# tests/test_query_plans.py refuses it; inspector/domain/audit.py holds it"
    assert missing_paths([(ROOT / "inspector/domain/audit.py", text)]) == [
        "inspector/domain/audit.py names tests/test_query_plans.py"]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_in_the_docs_resolves(path):
    broken = [target for target in LINK.findall(path.read_text(encoding="utf-8"))
              if "://" not in target and not target.startswith("mailto:")
              and not (path.parent / target).exists()]
    assert broken == []


def test_the_readme_names_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in main.commands if f"inspector {name}" not in readme]
    assert undocumented == [], "add these commands to the README's table of the `inspector` command"


def test_no_file_holds_a_merge_conflicts_markers():
    """A merge once left its markers in CHANGELOG.md: none may be committed."""
    import subprocess
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    marked = []
    for name in listed:
        path = ROOT / name
        if path.suffix in (".py", ".md", ".html", ".js", ".css", ".toml", ".txt", ".sql", ".json") and path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            marked += [f"{name}:{n}" for n, line in enumerate(lines, 1)
                       if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "======="]
    assert marked == []
