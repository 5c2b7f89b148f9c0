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


def _field_outline(ra: float, dec: float, size: float) -> tuple[np.ndarray, np.ndarray]:
    """The square field's outline (degrees), RA widened by 1/cos(Dec) as on the sky."""
    half = size / 2.0
    width = half / max(np.cos(np.radians(dec)), 1e-3)
    corners_ra = ra + np.array([-width, width, width, -width, -width])
    corners_dec = np.clip(dec + np.array([-half, -half, half, half, -half]), -90, 90)
    return corners_ra, corners_dec


def chart_png(sky: SkyMap, fields: list[dict], field_of_view: float, *, title: str = "",
              credible: float = 0.9, width: int = 720) -> bytes:
    """The PNG of ``sky`` with ``fields`` (dicts with RA, Dec, State) drawn as squares of ``field_of_view``.

    The map is drawn in the Mollweide projection with RA increasing to the left, as astronomers draw the sky.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The grid in (lon, lat): RA increases to the left, so the plot's longitude is -RA
    lon = np.linspace(-np.pi, np.pi, width)
    lat = np.linspace(-np.pi / 2, np.pi / 2, width // 2)
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    ra = np.degrees(-grid_lon) % 360.0
    dec = np.degrees(grid_lat)
    pixel = sky.pixel_of(nested_at_max_level(ra.ravel(), dec.ravel())).reshape(ra.shape)
    density = np.where(pixel >= 0, sky.probdensity[np.clip(pixel, 0, None)], 0.0)
    inside = np.where(pixel >= 0, sky.credible(credible)[np.clip(pixel, 0, None)], False)

    figure = plt.figure(figsize=(9, 5), dpi=100)
    axes = figure.add_subplot(111, projection="mollweide")
    axes.pcolormesh(grid_lon, grid_lat, density, cmap="magma_r",
                    shading="auto", rasterized=True)
    axes.contour(grid_lon, grid_lat, inside.astype(float), levels=[0.5], colors="k", linewidths=0.8)
    seen = set()
    for f in fields:
        state = str(f.get("State", "pending"))
        centre = float(f["RA"])
        f_ra, f_dec = _field_outline(centre, float(f["Dec"]), field_of_view)
        # Around its centre (a field across RA 0 stays whole), clipped at the map's edge
        x_centre = -np.radians(((centre + 180.0) % 360.0) - 180.0)
        x = np.clip(x_centre - np.radians(((f_ra - centre + 180.0) % 360.0) - 180.0), -np.pi, np.pi)
        axes.plot(x, np.radians(f_dec), color=STATE_COLOURS.get(state, "k"), linewidth=1.2,
                  label=state if state not in seen else None)
        seen.add(state)
    axes.set_xticks(np.radians([-150, -120, -90, -60, -30, 0, 30, 60, 90, 120, 150]))
    axes.set_xticklabels([f"{h}h" for h in (10, 8, 6, 4, 2, 0, 22, 20, 18, 16, 14)], fontsize=7)
    axes.grid(True, linewidth=0.3)
    if seen:
        axes.legend(loc="lower right", fontsize=7, frameon=False, bbox_to_anchor=(1.1, -0.1))
    axes.set_title(title or "sky map", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
