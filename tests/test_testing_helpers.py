"""inspector/testing.py is for the tests and the benchmarks alone: the app
never imports it (no test hook is read by production code), and it never
imports pytest (the benchmarks run without it)."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, tempfile
    from inspector import create_app
    from inspector.cli import main
    app = create_app({"DATA_DIR": tempfile.mkdtemp()})
    assert app.test_client().get("/login").status_code == 200
    assert "inspector.testing" not in sys.modules, "the app imported inspector.testing"
    import inspector.testing
    assert "pytest" not in sys.modules, "inspector.testing imported pytest"
    print("ok")
""")


def test_the_app_never_imports_the_test_helpers_and_they_never_import_pytest(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
