"""A short version of bench/load.py --kill: 8 tablets push batches and
photos to the real server (`inspector serve`, gunicorn, in its own process
group) for about 3 s; part way through the server and its workers are
SIGKILLed together and restarted on the same data folder while the tablets
retry the same batches. Nothing the server acknowledged may be lost or
written twice, and the registers must equal a rebuild from the op log (on a
copy of the database). About 6 s. The full figures: docs/load.md."""
import importlib.util
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)

from tests.helpers import PASSWORD  # noqa: E402


def test_tablets_lose_nothing_and_double_nothing_across_a_sigkill(tmp_path, seeded_db):
    row, _ = load.one_run(tmp_path, seeded_db, "short", tablets=8, seconds=3, kill=True,
                          rng=random.Random(1), password=PASSWORD)
    check = row["check"]
    assert row["kills"] == 1
    assert row["retries"] > 0, "the kill hit no request in flight"
    assert check["acknowledged"] > 200
    assert check["missing"] == 0
    assert check["twice_in_log"] == 0
    assert check["applied_twice"] == 0
    assert check["sent_not_answered"] == 0
    assert check["not_acked"] == {}
    assert check["rebuild_differs"] == {}
    assert load.good(check)
