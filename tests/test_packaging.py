"""A wheel built from the repo ships the templates, static files and the
bundled catalog, and the app runs from it without the source checkout."""
import importlib.util
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    if importlib.util.find_spec("build"):
        command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-w", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [path] = out.glob("inspector-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel_names(wheel):
    return set(zipfile.ZipFile(wheel).namelist())


@pytest.mark.parametrize("name", [
    "inspector/templates/base.html",
    "inspector/templates/inspections/standard.html",
    "inspector/static/css/app.css",
    "inspector/static/vendor/htmx-2.0.11.min.js",
    "sync/static/sw.js",
    "sync/static/outbox.js",
    "inspector/domain/catalogs/iec3_illustrative.csv",
    "inspector/domain/catalogs/iec3_illustrative_v1_to_v2.json",
    "inspector/domain/catalogs/iec3_illustrative_v1.csv",
    "inspector/domain/catalogs/iec3_illustrative_v1_to_v2.csv",
])
def test_the_wheel_ships_the_assets_the_app_needs(wheel_names, name):
    assert name in wheel_names


def test_the_wheel_ships_the_app_and_no_test_code(wheel_names):
    """Every module of the three layers ships; nothing of tests/ or bench/ does."""
    code = {name for name in wheel_names if name.endswith(".py")}
    expected = {path.relative_to(REPO).as_posix() for top in ("inspector", "sync") for path in (REPO / top).rglob("*.py")}
    assert sorted(expected - code) == []
    assert sorted(code - expected) == []
    assert not [n for n in wheel_names if n.startswith(("tests/", "bench/")) or "testing" in n or "helpers" in n]


def test_every_template_and_static_file_in_the_repo_is_in_the_wheel(wheel_names):
    expected = {f"inspector/{path.relative_to(REPO).as_posix()}"
                for top in ("templates", "static") for path in (REPO / top).rglob("*") if path.is_file()}
    expected |= {f"sync/static/{path.name}" for path in (REPO / "sync" / "static").glob("*.js")}
    assert sorted(expected - wheel_names) == []


SCRIPT = textwrap.dedent("""
    import sys, tempfile
    import inspector, sync
    from inspector.app import create_app
    for module in (inspector, sync):
        assert module.__file__.startswith(sys.argv[1]), module.__file__
    app = create_app({"DATA_DIR": tempfile.mkdtemp()})
    client = app.test_client()
    login = client.get("/login")
    assert login.status_code == 200 and b"Log in" in login.data, login.status_code
    for url in ("/static/css/app.css", "/sw.js", "/sync/static/outbox.js"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.close()
    print("ok")
""")


def test_the_app_runs_from_the_unpacked_wheel_alone(wheel, tmp_path):
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    # -S: no site-packages processing, so the editable install's finder (which
    # points at the repo) is not loaded; dependencies come from PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(unpacked), sysconfig.get_paths()["purelib"]]),
           "INSPECTOR_DATA": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-S", "-c", SCRIPT, str(unpacked)], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
