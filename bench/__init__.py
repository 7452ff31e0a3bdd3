"""Load harness of the product: measured figures, each against a baseline taken in the same run.

`python -m bench` (or `make bench`) runs every benchmark and rewrites `bench/RESULTS.md`; see
`bench/README.md` for what each one measures and how the processes are laid out.
"""
