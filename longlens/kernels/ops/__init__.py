"""Kernel ops, one folder each (flash-linear-attention style): a Triton kernel beside its `naive.py` twin."""
