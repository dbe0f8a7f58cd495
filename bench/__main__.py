"""Run every benchmark, one after the other, each in its own process, and
print a summary of their headline lines.

    .venv/bin/python -m bench            # all of them
    .venv/bin/python -m bench wire_bytes # only some, by name
    .venv/bin/python -m bench year       # a year of inspections: only when named
"""
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("sync_ingest", "photo_pipeline", "wire_bytes", "offline_bytes", "merge_render", "merge_dom", "pages",
              "home_list", "search", "server_mix", "load")
# Run only when named: building a year of inspections takes minutes the first time.
ON_REQUEST = ("year",)


def main(argv):
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS + ON_REQUEST]
    if unknown:
        sys.exit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS + ON_REQUEST)}")
    summary, failed = [], []
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True, bufsize=1)
        for line in proc.stdout:
            print(line, end="", flush=True)
            # Headline lines start with the benchmark's name, unindented, and give a ratio.
            if line.startswith(name.replace("_", " ")) and "ratio" in line:
                summary.append(line.rstrip())
        code = proc.wait()
        elapsed = time.perf_counter() - start
        print(f"== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {elapsed:.1f} s\n", flush=True)
        if code:
            failed.append(name)
    print("== summary")
    for line in summary:
        print(line)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
