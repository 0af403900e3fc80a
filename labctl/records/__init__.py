"""Typed records that the rooms hand each other: what a probe measured, what a view read,
what a rule found. Records import nothing of labctl but :mod:`labctl.errors` and
:mod:`labctl.contract`; ``render`` draws them and depends on nothing else."""
