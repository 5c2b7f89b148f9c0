"""Combining a stack of frames, one block of rows at a time.

Median, mean and sigma-clipped mean. The median of up to 32 frames runs a
sorting network of ``numpy.minimum``/``maximum`` over whole row blocks,
pruned to the comparators that reach the middle element(s); larger stacks
use ``numpy.median``. Sigma clipping follows ccdproc's (astropy
``sigma_clip`` with one iteration): a centre (median or mean) and standard
deviation per pixel, values strictly beyond ``low``/``high`` deviations
rejected, then the mean of the rest.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["METHODS", "median_network", "reduce_stack"]

METHODS = ("median", "mean", "sigma_clip")


def _batcher(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort for the next power of two, without comparators past ``n``."""
    size = 1
    while size < n:
        size *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    a, b = i + j, i + j + k
                    if a // (2 * p) == b // (2 * p) and b < n:
                        pairs.append((a, b))
            k //= 2
        p *= 2
    return pairs


@lru_cache(maxsize=64)
def median_network(n: int) -> tuple[tuple[int, int], ...]:
    """Comparators that put the median (or the two middle values) of ``n`` in place.

    The comparators of a full sorting network that cannot influence the
    middle positions are dropped (walking the network backwards).
    """
    wanted = {n // 2} if n % 2 else {n // 2 - 1, n // 2}
    kept: list[tuple[int, int]] = []
    for a, b in reversed(_batcher(n)):
        if a in wanted or b in wanted:
            kept.append((a, b))
            wanted |= {a, b}
    return tuple(reversed(kept))


def _network_median(stack: np.ndarray) -> np.ndarray:
    rows = list(stack)  # views; the network rearranges values among them
    spare = np.empty_like(rows[0])
    for a, b in median_network(len(rows)):
        np.minimum(rows[a], rows[b], out=spare)
        np.maximum(rows[a], rows[b], out=rows[b])
        rows[a], spare = spare, rows[a]
    n = len(rows)
    if n % 2:
        return rows[n // 2].copy()
    out = rows[n // 2 - 1] + rows[n // 2]
    out *= np.float32(0.5)
    return out


def median(stack: np.ndarray) -> np.ndarray:
    """Median along axis 0 of a float32 stack (the stack is overwritten)."""
    if len(stack) == 1:
        return stack[0].copy()
    if len(stack) <= 32:
        return _network_median(stack)
    return np.median(stack, axis=0).astype(np.float32)


def sigma_clipped_mean(
    stack: np.ndarray, *, low: float = 3.0, high: float = 3.0, center: str = "median"
) -> np.ndarray:
    """Mean along axis 0 after one pass of sigma clipping, as ccdproc's combine does."""
    mid = median(stack.copy()) if center == "median" else stack.mean(axis=0, dtype=np.float32)
    dev = stack.std(axis=0, dtype=np.float32)
    keep = stack >= mid - np.float32(low) * dev
    keep &= stack <= mid + np.float32(high) * dev
    total = np.where(keep, stack, np.float32(0)).sum(axis=0, dtype=np.float32)
    count = keep.sum(axis=0, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def reduce_stack(stack: np.ndarray, method: str, **options: float | str) -> np.ndarray:
    """Combine a float32 stack ``(n, rows, columns)`` along its first axis."""
    if method == "median":
        return median(stack)
    if method == "mean":
        return stack.mean(axis=0, dtype=np.float32)
    if method == "sigma_clip":
        return sigma_clipped_mean(stack, **options)  # type: ignore[arg-type]
    raise ValueError(f"method={method!r}: expected one of {METHODS}")
