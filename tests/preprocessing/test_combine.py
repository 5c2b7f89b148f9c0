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
    clipped = reduce_stack(stack.copy(), "ccdproc_sigma_clip", low=3.0, high=3.0)
    assert clipped[2, 2] == pytest.approx(np.delete(stack[:, 2, 2], 3).mean(), rel=1e-6)
    robust = reduce_stack(stack.copy(), "sigma_clip", low=3.0, high=3.0)
    assert robust[2, 2] == pytest.approx(_reference_clip(stack[:, 2, 2]), rel=1e-6)
    assert reduce_stack(stack.copy(), "mean")[2, 2] > 700


def _reference_clip(values: np.ndarray, low: float = 3.0, high: float = 3.0, max_iters: int = 5) -> float:
    """Iterated median/MAD clipping of one pixel, written plainly."""
    kept = values.astype(np.float64)
    for _ in range(max_iters):
        centre = np.median(kept)
        spread = 1.482602218505602 * np.median(np.abs(kept - centre))
        inside = (kept >= centre - low * spread) & (kept <= centre + high * spread)
        if inside.all():
            break
        kept = kept[inside]
    return float(kept.mean())


@pytest.mark.parametrize("n", [3, 4, 5, 9])
def test_robust_sigma_clip_rejects_one_hit_in_few_frames(n):
    """Issue 15: a 4000 ADU hit in 5 frames survived the one-pass clip (1798 ADU instead of about 1000)."""
    rng = np.random.default_rng(n)
    stack = rng.normal(1000.0, 10.0, (n, 16, 16)).astype(np.float32)
    stack[1, 5, 7] = 4000.0
    robust = reduce_stack(stack.copy(), "sigma_clip")
    assert abs(robust[5, 7] - 1000.0) < 40
    plain = reduce_stack(stack.copy(), "ccdproc_sigma_clip")
    if n <= 5:
        assert plain[5, 7] > 1500  # ccdproc's one pass cannot reject it from so few frames
    expected = np.array([[_reference_clip(stack[:, y, x]) for x in range(16)] for y in range(16)])
    np.testing.assert_allclose(robust, expected, rtol=1e-6)


def test_unknown_method():
    with pytest.raises(ValueError, match="method='mode'"):
        reduce_stack(np.zeros((2, 1, 1), np.float32), "mode")


def test_memory_limit_shrinks_the_blocks_not_the_result(tmp_path):
    from astropy.io import fits

    from torosdrivers.preprocessing import StackSpec, combine_frames, read_info
    from torosdrivers.preprocessing.masters import block_rows

    rng = np.random.default_rng(2)
    paths = []
    for i in range(7):
        hdu = fits.PrimaryHDU(rng.integers(900, 1100, (300, 64)).astype(np.uint16))
        hdu.header.update(IMAGETYP="BIAS", EXPTIME=0.0)
        paths.append(tmp_path / f"b{i}.fits")
        hdu.writeto(paths[-1])
    spec = StackSpec(tuple(read_info(p) for p in paths))
    assert block_rows(7, 4096, 256 * 2**20, 2) < block_rows(7, 4096, 1024 * 2**20, 2)
    small = combine_frames(spec, memory_limit=64 * 1024)  # blocks of a few rows
    large = combine_frames(spec, memory_limit=1 << 30)  # one block
    np.testing.assert_array_equal(small, large)
    stack = np.stack([fits.getdata(p).astype(np.float32) for p in paths])
    np.testing.assert_array_equal(large, np.median(stack, axis=0))
