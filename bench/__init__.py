"""Benchmarks for inspector: run them all with `.venv/bin/python -m bench` (see bench/README.md)."""
