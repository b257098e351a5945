"""Matrix products of distributed matrices: split None (every rank holds all) and 0 (rows)."""

import heat as ht
import pytest

N = 768


@pytest.mark.parametrize("split", [None, 0])
def test_matmul(benchmark, split):
    ht.random.seed(1)
    a = ht.random.randn(N, N, split=split)
    b = ht.random.randn(N, N, split=split)
    product = benchmark(ht.matmul, a, b)
    assert product.gshape == (N, N)
