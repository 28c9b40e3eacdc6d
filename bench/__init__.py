"""Benchmarks: `python -m bench --items N` (see README, "Speed and scale")."""
