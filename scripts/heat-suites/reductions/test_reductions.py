"""Reductions along the split axis: each rank reduces its rows, then the ranks combine."""

import heat as ht
import pytest

ROWS, COLUMNS = 200_000, 16


@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "std"])
def test_reduce_split_axis(benchmark, reduction):
    ht.random.seed(1)
    x = ht.random.randn(ROWS, COLUMNS, split=0)
    result = benchmark(getattr(ht, reduction), x, axis=0)
    assert result.gshape == (COLUMNS,)
