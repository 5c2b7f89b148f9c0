"""A frame's identity: a file name unique to its order and index, and the header that proves it.

Frame files used to be named from the first 64 characters of the sanitised
order ID, and a file that existed counted as taken: two IDs sharing those
characters (or differing only in characters the file system cannot take,
``obs 1`` and ``obs_1``) shared files, and one order was reported done with
another's frames. Now:

- `series_stem` keeps an ID as it is when it is short and made of safe
  characters only; any other ID is cut and followed by ``~`` and 12 hex
  digits of the SHA-256 of the whole ID. ``~`` never appears in a kept ID,
  so two distinct IDs never share a stem (short of a 48-bit hash collision).
- Every frame carries `identity_cards`: the series it belongs to (the order,
  or the first order of a resumed one) as text and as a hash, its index, and
  its verification (``FRAMECHK`` PASSED or FAILED, ``FRAMEWHY``).
- `verified` accepts a file only when its own header says it is that
  series' frame of that index and that it passed its checks.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from astropy.io import fits

__all__ = ["series_stem", "frame_path", "identity_cards", "verified", "series_hash", "STEM_LENGTH"]

#: Characters of an ID kept in a file name (longer IDs are cut and hashed).
STEM_LENGTH = 40
_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


def series_hash(series: str) -> str:
    """16 hex digits of the SHA-256 of an order ID (exact whatever characters the ID holds)."""
    return hashlib.sha256(series.encode("utf-8")).hexdigest()[:16]


def series_stem(series: str) -> str:
    """The file-name stem of an order's frames, distinct for distinct IDs."""
    if _SAFE.fullmatch(series) and len(series) <= STEM_LENGTH:
        return series
    cut = re.sub(r"[^A-Za-z0-9_.-]+", "_", series)[:STEM_LENGTH]
    return f"{cut}~{series_hash(series)[:12]}"


def frame_path(folder: Path, series: str, kind: str, index: int) -> Path:
    """Where frame ``index`` of ``kind`` (light, bias, dark30s, flatV...) of an order's series is written."""
    kind = re.sub(r"[^A-Za-z0-9.-]+", "-", kind)  # a filter named "H_alpha" cannot make another stem's name
    return folder / f"{series_stem(series)}_{kind}_{index:03d}.fits"


def identity_cards(series: str, index: int, problems: list[str]) -> dict[str, object]:
    """The cards that tie a frame to its series and index, with its verdict."""
    return {"WOSERIES": series, "WOHASH": series_hash(series), "FRAMEIDX": int(index),
            "FRAMECHK": "FAILED" if problems else "PASSED", "FRAMEWHY": "; ".join(problems)[:1000] or "all checks"}


def verified(path: Path, series: str, index: int) -> tuple[bool, str]:
    """Whether ``path`` is a verified frame ``index`` of ``series``; else why not ("" when it does not exist)."""
    if not path.exists():
        return False, ""
    try:
        header = fits.getheader(path)
    except (OSError, ValueError) as exc:
        return False, f"unreadable ({exc})"
    if header.get("WOHASH") != series_hash(series):
        return False, f"its header names another order ({header.get('WOSERIES', header.get('WO_ID', 'none'))!r})"
    if header.get("FRAMEIDX") != index:
        return False, f"its header says frame {header.get('FRAMEIDX')!r}, not {index}"
    if header.get("FRAMECHK") != "PASSED":
        return False, f"it did not pass its checks ({header.get('FRAMEWHY', 'no verdict in its header')})"
    return True, ""
