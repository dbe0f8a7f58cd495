"""tests/helpers.py is for the tests and the benchmarks alone: it lives
outside the installed packages (tests/test_packaging.py checks the wheel),
the app never imports it (no test hook is read by production code), and it
never imports pytest (the benchmarks run without it)."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import sys, tempfile
    from inspector.app import create_app
    from inspector.app.cli import main
    app = create_app({"DATA_DIR": tempfile.mkdtemp(), "SECRET_KEY": "x"})
    assert app.test_client().get("/login").status_code == 200
    assert "tests.helpers" not in sys.modules, "the app imported tests.helpers"
    import tests.helpers
    assert "pytest" not in sys.modules, "tests.helpers imported pytest"
    print("ok")
""")


def test_the_app_never_imports_the_test_helpers_and_they_never_import_pytest():
    # From the checkout's root, where bench/ and the tests import tests.helpers.
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
