"""A campaign's sky map as a PNG: the alert's probability, its 90% region, and the fields planned and observed.

The map is sampled on a regular grid of the Mollweide plane (one lookup of
the multi-order pixels for all grid points, as the galaxies are looked up),
never rasterized to its finest level.
"""

from __future__ import annotations

import io

import numpy as np

from .skymap import SkyMap, nested_at_max_level

__all__ = ["STATE_COLOURS", "chart_png"]

#: The colour of a field by the state of its target at the scheduler.
STATE_COLOURS = {"done": "#2ca02c", "dispatched": "#ff7f0e", "pending": "#1f77b4", "unobservable": "#7f7f7f",
                 "failed": "#d62728", "cancelled": "#bbbbbb"}


def _density(sky: SkyMap, ra: np.ndarray, dec: np.ndarray, credible: float) -> tuple[np.ndarray, np.ndarray]:
    """The map's probability density and credible-region mask at the places (degrees), any shape."""
    pixel = sky.pixel_of(nested_at_max_level(ra.ravel() % 360.0, dec.ravel())).reshape(ra.shape)
    found = np.clip(pixel, 0, None)
    return (np.where(pixel >= 0, sky.probdensity[found], 0.0),
            np.where(pixel >= 0, sky.credible(credible)[found], False))


def chart_png(sky: SkyMap, fields: list[dict], field_of_view: float, *, title: str = "",
              credible: float = 0.9, width: int = 720) -> bytes:
    """The PNG of ``sky`` with ``fields`` (dicts with RA, Dec, State) drawn as squares of ``field_of_view``:
    the whole sky (Mollweide, RA increasing to the left, as astronomers draw it) and, beside it, the region
    where the probability is, close up, with the fields coloured by their state."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lon = np.linspace(-np.pi, np.pi, width)
    lat = np.linspace(-np.pi / 2, np.pi / 2, width // 2)
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    ra, dec = np.degrees(-grid_lon) % 360.0, np.degrees(grid_lat)  # the plot's longitude is -RA
    density, inside = _density(sky, ra, dec, credible)

    figure = plt.figure(figsize=(12, 4.6), dpi=100)
    whole = figure.add_axes((0.02, 0.08, 0.55, 0.8), projection="mollweide")
    whole.pcolormesh(grid_lon, grid_lat, density, cmap="magma_r", shading="auto", rasterized=True)
    whole.contour(grid_lon, grid_lat, inside.astype(float), levels=[0.5], colors="k", linewidths=0.8)
    whole.set_xticks(np.radians([-150, -120, -90, -60, -30, 0, 30, 60, 90, 120, 150]))
    whole.set_xticklabels([f"{h}h" for h in (10, 8, 6, 4, 2, 0, 22, 20, 18, 16, 14)], fontsize=7)
    whole.tick_params(axis="y", labelsize=7)
    whole.grid(True, linewidth=0.3)
    whole.set_title(title or "sky map", fontsize=10)

    # Close up: around the densest place, as wide as the credible region (and the fields) reach
    peak = np.unravel_index(np.argmax(density), density.shape)
    c_ra, c_dec = float(ra[peak]), float(dec[peak])
    cos = max(np.cos(np.radians(c_dec)), 0.05)
    off_x = ((ra[inside] - c_ra + 180.0) % 360.0 - 180.0) * cos
    off_y = dec[inside] - c_dec
    f_x = [((float(f["RA"]) - c_ra + 180.0) % 360.0 - 180.0) * cos for f in fields]
    f_y = [float(f["Dec"]) - c_dec for f in fields]
    reach = max([2.0, *np.abs(off_x), *np.abs(off_y), *(abs(v) + field_of_view for v in f_x + f_y)]) * 1.3
    reach = min(reach, 60.0)
    x = np.linspace(-reach, reach, 300)
    local_x, local_y = np.meshgrid(x, x)
    local_dec = np.clip(c_dec + local_y, -90, 90)
    local_ra = c_ra + local_x / cos
    close_density, close_inside = _density(sky, local_ra, local_dec, credible)
    close = figure.add_axes((0.63, 0.12, 0.33, 0.76))
    close.pcolormesh(local_x, local_y, close_density, cmap="magma_r", shading="auto", rasterized=True)
    if close_inside.any() and not close_inside.all():
        close.contour(local_x, local_y, close_inside.astype(float), levels=[0.5], colors="k", linewidths=0.8)
    half, seen = field_of_view / 2.0, set()
    for f, fx, fy in zip(fields, f_x, f_y):
        state = str(f.get("State", "pending"))
        close.plot([fx - half, fx + half, fx + half, fx - half, fx - half],
                   [fy - half, fy - half, fy + half, fy + half, fy - half],
                   color=STATE_COLOURS.get(state, "k"), linewidth=1.4, label=state if state not in seen else None)
        seen.add(state)
    close.set_xlim(reach, -reach)  # east to the left
    close.set_ylim(-reach, reach)
    close.set_aspect("equal")
    close.set_xlabel(f"degrees east of RA {c_ra:.2f} (x cos Dec)", fontsize=8)
    close.set_ylabel(f"degrees north of Dec {c_dec:+.2f}", fontsize=8)
    close.tick_params(labelsize=7)
    close.set_title(f"{credible:.0%} region and the fields", fontsize=10)
    if seen:
        close.legend(loc="lower left", fontsize=7, framealpha=0.8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
