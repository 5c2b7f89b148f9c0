"""The night's plan as a picture: altitude against time of the planned targets, twilight and Moon shaded.

Drawn with matplotlib (Agg, no display), imported only here: a daemon never
loads it. The scheduler's ``plan()`` carries the numbers the chart needs
(``Chart``: the Sun, the Moon and the sidereal time on the plan's own grid,
and each target's apparent place, from `torosdrivers.scheduling.sky.chart_data`),
so ``toros plan`` draws without astropy and computes nothing twice; a script
with only the slots gets the same chart computed here.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["plan_chart", "chart_altitudes"]

#: The sky's colour by the Sun's altitude: day, civil, nautical and astronomical twilight, night.
_SKY = ((0.0, "#dfe8f5"), (-6.0, "#9db4d9"), (-12.0, "#5a78a8"), (-18.0, "#2f4470"), (-90.0, "#14213d"))


def chart_altitudes(chart: dict) -> np.ndarray:
    """Altitudes ``[target, time]`` in degrees from a plan's ``Chart`` (numpy only)."""
    lat = np.radians(chart["Latitude"])
    ra, dec, lst = (np.asarray(chart[k], dtype=np.float64) for k in ("RA", "Dec", "LST"))
    sin_alt = (np.sin(lat) * np.sin(dec)[:, None]
               + np.cos(lat) * np.cos(dec)[:, None] * np.cos(lst[None, :] - ra[:, None]))
    return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.rstrip("Z"))


def _computed(slots: Sequence[dict], site) -> dict:
    """The ``Chart`` numbers computed here, for a caller without the scheduler's (astropy, ~1 s)."""
    from astropy.coordinates import SkyCoord
    from astropy.time import Time, TimeDelta

    from .sky import chart_data, night_grid

    first = Time([_utc(s["Start"]) for s in slots]).min() if slots else Time.now()
    last = Time([_utc(s["End"]) for s in slots]).max() if slots else first
    grid = night_grid(first - TimeDelta(7200, format="sec"), last + TimeDelta(7200, format="sec"), site, step=120.0)
    targets = SkyCoord([s["RA"] for s in slots], [s["Dec"] for s in slots], unit="deg")
    return chart_data(grid, targets, first, last)


def plan_chart(slots: Sequence[dict], site, path: str | os.PathLike, *, title: str = "",
               limit: float = 30.0, chart: dict | None = None) -> Path:
    """Write the plan's chart to ``path`` (PNG) and return it.

    ``slots`` are the scheduler's (``plan()``): ``ID``, ``Object``, ``RA``,
    ``Dec``, ``Start``, ``End``; ``chart`` its ``Chart`` (computed here from
    ``site``, an ``EarthLocation``, when not given). Each target's altitude
    is a thin line over the night and a thick one while it is planned; the
    night is shaded by twilight, the Moon's altitude is dashed and its time
    up lightly shaded.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if not chart:
        chart = _computed(slots, site)
    sun, moon = np.asarray(chart["Sun"]), np.asarray(chart["Moon"])
    start, step = _utc(chart["Start"]), float(chart["Step"])
    times = np.array([start + timedelta(seconds=step * i) for i in range(len(sun))])
    lit = float(chart["Moon Illumination"])
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    # The sky behind, one colour per time (an image: no seams between the bands).
    colours = np.array([matplotlib.colors.to_rgb(next(c for low, c in _SKY if s >= low)) for s in sun])
    span = mdates.date2num([times[0], times[-1]])
    ax.imshow(colours[None, :, :], aspect="auto", extent=(span[0], span[1], 0, 90), zorder=0)
    ax.fill_between(times, 0, 90, where=moon > 0, color="#fff6c2", alpha=0.08 + 0.17 * lit, linewidth=0, zorder=1)
    ax.plot(times, moon, "--", color="#f5d76e", linewidth=1.2, zorder=2, label=f"Moon ({lit:.0%} lit; shaded while up)")
    if slots:
        # Two collections, not two lines per target: 400 targets drew in 0.8 s as 800 artists
        from matplotlib.collections import LineCollection

        alt = chart_altitudes(chart)
        x = mdates.date2num(times)
        palette = plt.cm.Set2(np.linspace(0, 1, 8))
        colours = [palette[i % len(palette)] for i in range(len(slots))]
        ax.add_collection(LineCollection([np.column_stack([x, a]) for a in alt], colors=colours, linewidths=0.7,
                                         alpha=0.6, zorder=3))
        planned = []
        for i, slot in enumerate(slots):
            begin, end = mdates.date2num(_utc(slot["Start"])), mdates.date2num(_utc(slot["End"]))
            # from its start to its end exactly: a 60 s block lies between two points of a 120 s grid
            xs = np.concatenate([[begin], x[(x > begin) & (x < end)], [end]])
            planned.append(np.column_stack([xs, np.interp(xs, x, alt[i])]))
        ax.add_collection(LineCollection(planned, colors=colours, linewidths=3.5, capstyle="butt", zorder=4))
        for i, slot in enumerate(slots[:12]):  # the legend names the first twelve
            ax.plot([], [], color=colours[i], linewidth=3.5, label=slot["Object"])
    ax.axhline(limit, color="#e74c3c", linewidth=0.9, zorder=2, label=f"altitude limit {limit:g} deg")
    ax.set_ylim(0, 90)
    ax.set_xlim(span[0], span[1])
    ax.set_ylabel("altitude (deg)")
    ax.set_xlabel("UTC")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    first = min((_utc(s["Start"]) for s in slots), default=start)
    ax.set_title(title or f"Night plan, {len(slots)} block(s), from {first.isoformat()[:16]} UTC")
    ax.legend(loc="upper right", fontsize=7, ncol=2, framealpha=0.8)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.94, bottom=0.09)  # fixed: tight_layout drew it twice
    target = Path(path)
    fig.savefig(target)
    plt.close(fig)
    return target
