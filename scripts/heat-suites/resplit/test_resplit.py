"""Redistributing a matrix: rows to columns (all-to-all) and rows to every rank (gather)."""

import heat as ht
import pytest

N = 1024


@pytest.mark.parametrize("axis", [1, None])
def test_resplit(benchmark, axis):
    ht.random.seed(1)
    x = ht.random.randn(N, N, split=0)
    moved = benchmark(ht.resplit, x, axis)
    assert moved.split == axis
