"""Benchmarks (`python -m vsq_accel.bench`), their results in bench/results/, and the
tables the documentation quotes from them (`bench.tables`)."""
