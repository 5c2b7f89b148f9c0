"""Combination methods on stacks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from torosdrivers.preprocessing.combine import median_network, reduce_stack


@given(st.integers(1, 40).flatmap(lambda n: hnp.arrays(np.float32, (n, 3, 5), elements=st.floats(-1e6, 1e6, width=32))))
def test_median_equals_numpy(stack):
    np.testing.assert_allclose(reduce_stack(stack.copy(), "median"), np.median(stack, axis=0), rtol=1e-6, atol=1e-3)


def test_network_is_pruned():
    assert len(median_network(9)) < 28  # the full Batcher network for 9 has 28 comparators


def test_mean():
    stack = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    np.testing.assert_allclose(reduce_stack(stack, "mean"), stack.mean(axis=0))


def test_sigma_clip_rejects_an_outlier():
    rng = np.random.default_rng(1)
    stack = rng.normal(100.0, 1.0, (15, 4, 4)).astype(np.float32)
    stack[3, 2, 2] = 10_000.0  # a cosmic ray
    clipped = reduce_stack(stack.copy(), "sigma_clip", low=3.0, high=3.0)
    assert clipped[2, 2] == pytest.approx(np.delete(stack[:, 2, 2], 3).mean(), rel=1e-6)
    assert reduce_stack(stack.copy(), "mean")[2, 2] > 700


def test_unknown_method():
    with pytest.raises(ValueError, match="method='mode'"):
        reduce_stack(np.zeros((2, 1, 1), np.float32), "mode")
