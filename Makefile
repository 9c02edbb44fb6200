# KetaCare: the two commands. Install steps live in scripts/, so a fresh machine needs nothing else.
.PHONY: demo test lint bench

demo:
	@bash scripts/demo.sh

test:
	@bash scripts/test.sh

lint:
	@bash scripts/bootstrap.sh && .venv/bin/ruff check ketacare tests

bench:
	@bash scripts/bootstrap.sh && .venv/bin/python benchmarks/run.py && .venv/bin/python benchmarks/load.py
