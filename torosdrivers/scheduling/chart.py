"""The night's plan as a picture: altitude against time of the planned targets, twilight and Moon shaded.

Drawn with matplotlib (Agg, no display), imported only here: a daemon never
loads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time, TimeDelta

from .sky import altitudes, night_grid

__all__ = ["plan_chart"]

#: The sky's colour by the Sun's altitude: day, civil, nautical and astronomical twilight, night.
_SKY = ((0.0, "#dfe8f5"), (-6.0, "#9db4d9"), (-12.0, "#5a78a8"), (-18.0, "#2f4470"), (-90.0, "#14213d"))


def plan_chart(slots: Sequence[dict], site: EarthLocation, path: str | os.PathLike, *, title: str = "",
               limit: float = 30.0) -> Path:
    """Write the plan's chart to ``path`` (PNG) and return it.

    ``slots`` are the scheduler's (``plan()``): ``ID``, ``Object``, ``RA``,
    ``Dec``, ``Start``, ``End``. Each target's altitude is a thin line over
    the night and a thick one while it is planned; the night is shaded by
    twilight, the Moon's altitude is dashed and its time up lightly shaded.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    starts = Time([s["Start"].rstrip("Z") for s in slots]) if slots else Time.now()
    first, last = (starts.min(), Time([s["End"].rstrip("Z") for s in slots]).max()) if slots else (starts, starts)
    grid = night_grid(first - TimeDelta(7200, format="sec"), last + TimeDelta(7200, format="sec"), site, step=120.0)
    times = grid.times.to_datetime()
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    # The sky behind, one colour per time (an image: no seams between the bands).
    colours = np.array([matplotlib.colors.to_rgb(next(c for low, c in _SKY if sun >= low)) for sun in grid.sun])
    span = mdates.date2num([times[0], times[-1]])
    ax.imshow(colours[None, :, :], aspect="auto", extent=(span[0], span[1], 0, 90), zorder=0)
    ax.fill_between(times, 0, 90, where=grid.moon_altitude > 0, color="#fff6c2",
                    alpha=0.08 + 0.17 * grid.moon_illumination, linewidth=0, zorder=1)
    ax.plot(times, grid.moon_altitude, "--", color="#f5d76e", linewidth=1.2, zorder=2,
            label=f"Moon ({grid.moon_illumination:.0%} lit; shaded while up)")
    if slots:
        coords = SkyCoord([s["RA"] for s in slots], [s["Dec"] for s in slots], unit="deg")
        alt = altitudes(coords, grid)
        lines = plt.cm.Set2(np.linspace(0, 1, 8))
        for i, slot in enumerate(slots):
            colour = lines[i % len(lines)]
            ax.plot(times, alt[i], color=colour, linewidth=0.7, alpha=0.6, zorder=3)
            inside = (grid.times >= Time(slot["Start"].rstrip("Z"))) & (grid.times <= Time(slot["End"].rstrip("Z")))
            ax.plot(np.array(times)[inside], alt[i][inside], color=colour, linewidth=3.5, zorder=4,
                    solid_capstyle="butt", label=slot["Object"] if i < 12 else None)
    ax.axhline(limit, color="#e74c3c", linewidth=0.9, zorder=2, label=f"altitude limit {limit:g} deg")
    ax.set_ylim(0, 90)
    ax.set_xlim(span[0], span[1])
    ax.set_ylabel("altitude (deg)")
    ax.set_xlabel("UTC")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_title(title or f"Night plan, {len(slots)} block(s), from {first.isot[:16]} UTC")
    ax.legend(loc="upper right", fontsize=7, ncol=2, framealpha=0.8)
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target)
    plt.close(fig)
    return target
