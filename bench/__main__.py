"""`python -m bench`: run the benchmarks and rewrite bench/RESULTS.md (see bench/run.py)."""

from bench.run import main

main()
