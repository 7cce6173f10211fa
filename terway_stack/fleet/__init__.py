"""`python -m terway_stack fleet preview|up|drift`: many stacks in waves, with health gates.

Pure parts (plain functions on data, unit-tested as data): `selection` (which stacks, which wave),
`gates` (is a stack healthy), `drift` (what a refresh-preview found), `plan_diff` (base vs head plans of
a PR), `report` (progress lines, Markdown and JSON). The Pulumi Automation API and the cluster reads
live in the thin layers `automation` and `cluster_reads`; `runner` drives waves through them.
"""
