"""Combining a stack of frames, one block of rows at a time.

Median, mean and two sigma-clipped means. The median of up to 32 frames runs
a sorting network of ``numpy.minimum``/``maximum`` over whole row blocks,
pruned to the comparators that reach the middle element(s); larger stacks
use ``numpy.median``.

``sigma_clip`` is robust: centre and spread are the median and the
MAD-based standard deviation of the values still kept, and clipping repeats
until nothing more is rejected (at most ``max_iters`` passes), as astropy's
``sigma_clip(cenfunc="median", stdfunc="mad_std")`` does. It rejects a single
cosmic-ray hit in 3 to 5 frames. ``ccdproc_sigma_clip`` is ccdproc's plain
combine, kept for comparison: one pass with a standard deviation that
includes the outlier, which therefore can never reject anything from fewer
than about 8 frames (a value is at most ``(n-1)/sqrt(n)`` deviations out).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["METHODS", "median_network", "reduce_stack", "sigma_clipped_mean", "ccdproc_sigma_clipped_mean"]

METHODS = ("median", "mean", "sigma_clip", "ccdproc_sigma_clip")
_MAD_TO_STD = np.float32(1.482602218505602)  # 1 / Phi^-1(3/4): MAD to standard deviation, Gaussian


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


def ccdproc_sigma_clipped_mean(
    stack: np.ndarray, *, low: float = 3.0, high: float = 3.0, center: str = "median"
) -> np.ndarray:
    """Mean along axis 0 after one pass of sigma clipping with the plain standard deviation (ccdproc's)."""
    mid = median(stack.copy()) if center == "median" else stack.mean(axis=0, dtype=np.float32)
    dev = stack.std(axis=0, dtype=np.float32)
    keep = stack >= mid - np.float32(low) * dev
    keep &= stack <= mid + np.float32(high) * dev
    total = np.where(keep, stack, np.float32(0)).sum(axis=0, dtype=np.float32)
    count = keep.sum(axis=0, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def sigma_clipped_mean(stack: np.ndarray, *, low: float = 3.0, high: float = 3.0, max_iters: int = 5) -> np.ndarray:
    """Mean along axis 0 after robust, iterated sigma clipping.

    The first pass runs over the whole block with the sorting network. A
    pixel none of whose values it rejects has converged (its centre and
    spread cannot change), so only the few pixels with a rejection (cosmic
    rays, hot pixels) are gathered and iterated further, with NaN for the
    values rejected so far and ``numpy.nanmedian``.
    """
    low32, high32 = np.float32(low), np.float32(high)
    centre = median(stack.copy())
    spread = median(np.abs(stack - centre))
    spread *= _MAD_TO_STD
    reject = stack < centre - low32 * spread
    reject |= stack > centre + high32 * spread
    out = stack.mean(axis=0, dtype=np.float32)
    hit = reject.any(axis=0)
    if not hit.any():
        return out
    values = stack[:, hit]  # (n, pixels with a rejection): a small copy
    done = reject[:, hit]
    for _ in range(int(max_iters) - 1):
        values[done] = np.nan
        centre = np.nanmedian(values, axis=0)
        spread = np.nanmedian(np.abs(values - centre), axis=0) * _MAD_TO_STD
        with np.errstate(invalid="ignore"):
            done = (values < centre - low32 * spread) | (values > centre + high32 * spread)
        if not done.any():
            break
    values[done] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out[hit] = np.nansum(values, axis=0, dtype=np.float32) / np.count_nonzero(~np.isnan(values), axis=0)
    return out


def reduce_stack(stack: np.ndarray, method: str, **options: float | str) -> np.ndarray:
    """Combine a float32 stack ``(n, rows, columns)`` along its first axis (the stack may be overwritten)."""
    if method == "median":
        return median(stack)
    if method == "mean":
        return stack.mean(axis=0, dtype=np.float32)
    if method == "sigma_clip":
        return sigma_clipped_mean(stack, **options)  # type: ignore[arg-type]
    if method == "ccdproc_sigma_clip":
        return ccdproc_sigma_clipped_mean(stack, **options)  # type: ignore[arg-type]
    raise ValueError(f"method={method!r}: expected one of {METHODS}")
