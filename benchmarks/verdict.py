"""How a benchmark states a target: judged on the full run, only shown in the short mode (``--quick``).

A short run (CI's: small sizes, so that no script can break unseen) cannot
meet or miss a target set for 4k frames or 1,000 orders; it says so.
"""

QUICK = False


def verdict(ok: bool) -> str:
    """``meets ``, ``MISSES``, or ``(short)`` in the short mode."""
    if QUICK:
        return "(short)"
    return "meets " if ok else "MISSES"


def short_mode(quick: bool) -> bool:
    """Set the short mode from ``--quick`` and say so once; returns ``quick``."""
    global QUICK
    QUICK = bool(quick)
    if QUICK:
        print("short mode (--quick): small sizes; the targets are judged by the full run (make bench)")
    return QUICK
