"""A pointing model of an equatorial mount, in TPOINT's terms.

A mount does not point where its encoders say: its axes are not exactly
where they should be. TPOINT (Wallace) names the geometric errors every
equatorial model starts from; each adds to the hour angle and declination a
known function of where the telescope points (``H`` hour angle, ``d``
declination, ``p`` the site's latitude), in arcseconds, as the telescope's
position minus the star's:

====  ==============================  =====================  ==============================
term  what                            dH                     dd
====  ==============================  =====================  ==============================
IH    hour-angle index error          -IH
ID    declination index error                                -ID
CH    east-west collimation (cone)    -CH sec d
NP    H/Dec non-perpendicularity      -NP tan d
MA    polar axis left-right           -MA cos H tan d        MA sin H
ME    polar axis up-down (elevation)  ME sin H tan d         ME cos H
TF    tube flexure (~ sin z)          TF cos p sin H sec d   TF (cos p cos H sin d - sin p cos d)
====  ==============================  =====================  ==============================

Every term is linear in its coefficient, so the fit is one linear least
squares over the points (the hour-angle rows weighted by ``cos d``, so both
residuals are arcseconds on the sky): no starting guess, exact in one step.
Seven terms need at least `MIN_POINTS_FULL` points spread over the sky; with
fewer, only the index terms IH and ID are fitted (what a single sync would
correct). The model is applied by demanding ``star + model(star)`` of the
mount (`PointingModel.demand`); the simulated mount uses the same functions,
with its own terms, to point wrong (`simulators.mount`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

__all__ = ["TERMS", "PointingModel", "PointingPoint", "term_offsets", "MIN_POINTS_FULL"]

#: TPOINT's names, in the order fitted and shown.
TERMS = ("IH", "ID", "CH", "NP", "MA", "ME", "TF")
#: Points needed to fit all seven terms (fewer: IH and ID only).
MIN_POINTS_FULL = 8


def _basis(ha: np.ndarray, dec: np.ndarray, lat: float) -> tuple[np.ndarray, np.ndarray]:
    """Each term's coefficient in dH and dd, arrays ``(n, 7)`` (angles in radians)."""
    sh, ch = np.sin(ha), np.cos(ha)
    sd, cd = np.sin(dec), np.cos(dec)
    td, secd = sd / cd, 1.0 / cd
    sp, cp = math.sin(lat), math.cos(lat)
    zero, one = np.zeros_like(ha), np.ones_like(ha)
    dh = np.stack([-one, zero, -secd, -td, -ch * td, sh * td, cp * sh * secd], axis=-1)
    dd = np.stack([zero, -one, zero, zero, sh, ch, cp * ch * sd - sp * cd], axis=-1)
    return dh, dd


def term_offsets(terms: Mapping[str, float], ha_deg, dec_deg, lat_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Telescope minus star, ``(dH, dd)`` in arcsec, of TPOINT ``terms`` (arcsec) at hour angle and Dec (deg)."""
    coefficients = np.array([float(terms.get(t, 0.0)) for t in TERMS])
    dh, dd = _basis(np.radians(np.asarray(ha_deg, float)), np.radians(np.asarray(dec_deg, float)),
                    math.radians(lat_deg))
    return dh @ coefficients, dd @ coefficients


@dataclass(frozen=True)
class PointingPoint:
    """One measured pointing: where the mount was sent, where the telescope truly looked.

    ``ha``/``dec`` are the demanded hour angle and declination (deg); ``d_ha`` and
    ``d_dec`` are demanded minus solved, in arcsec of hour angle and of declination.
    """

    ha: float
    dec: float
    d_ha: float
    d_dec: float

    @classmethod
    def from_solve(cls, demanded: tuple[float, float], solved: tuple[float, float], lst_deg: float) -> "PointingPoint":
        """From the demanded and the solved ``(ra, dec)`` (deg) at local sidereal time ``lst_deg``."""
        ha = (lst_deg - demanded[0] + 180.0) % 360.0 - 180.0
        # H = LST - RA: the hour angle's error is the RA's with the sign turned
        d_ha = -((demanded[0] - solved[0] + 180.0) % 360.0 - 180.0) * 3600.0
        return cls(ha, demanded[1], d_ha, (demanded[1] - solved[1]) * 3600.0)


@dataclass
class PointingModel:
    """TPOINT terms (arcsec) fitted to the night's points, with their residual.

    Parameters
    ----------
    terms
        Coefficient of each term in `TERMS` (missing: 0).
    latitude
        The site's latitude, deg (TF depends on it).
    points
        The points fitted (kept, so the model is refitted as they accumulate).
    """

    latitude: float
    terms: dict[str, float] = field(default_factory=dict)
    points: list[PointingPoint] = field(default_factory=list)
    rms: float | None = None  # arcsec on the sky, the fit's residual

    def offsets(self, ha_deg, dec_deg) -> tuple[np.ndarray, np.ndarray]:
        """Telescope minus star, ``(dH, dd)`` arcsec, at ``(ha, dec)`` deg."""
        return term_offsets(self.terms, ha_deg, dec_deg, self.latitude)

    def demand(self, ra: float, dec: float, lst_deg: float) -> tuple[float, float]:
        """Where to send the mount (ICRS deg) so the telescope looks at ``(ra, dec)``."""
        if not self.terms:
            return ra, dec
        ha = lst_deg - ra
        d_h, d_d = self.offsets(ha, dec)
        # dH of the hour angle is -dRA
        return (ra - float(d_h) / 3600.0) % 360.0, float(np.clip(dec + float(d_d) / 3600.0, -90.0, 90.0))

    def add(self, point: PointingPoint) -> None:
        """Add a point and refit."""
        self.points.append(point)
        self.fit()

    def fit(self) -> None:
        """Fit the terms to the points by linear least squares (all seven with enough points, else IH, ID)."""
        if not self.points:
            self.terms, self.rms = {}, None
            return
        ha = np.radians([p.ha for p in self.points])
        dec = np.radians([p.dec for p in self.points])
        bh, bd = _basis(ha, dec, math.radians(self.latitude))
        cos_d = np.cos(dec)[:, None]
        design = np.concatenate([bh * cos_d, bd])
        measured = np.concatenate([np.array([p.d_ha for p in self.points]) * cos_d[:, 0],
                                   [p.d_dec for p in self.points]])
        used = list(range(len(TERMS))) if len(self.points) >= MIN_POINTS_FULL else [0, 1]
        solution, *_ = np.linalg.lstsq(design[:, used], measured, rcond=None)
        self.terms = {TERMS[i]: float(v) for i, v in zip(used, solution)}
        residual = measured - design[:, used] @ solution
        n = len(self.points)
        # On-sky residual per point: the two components together
        self.rms = float(np.sqrt(np.mean(residual[:n] ** 2 + residual[n:] ** 2)))

    def describe(self) -> str:
        """One line: each term and the residual."""
        if not self.terms:
            return "no pointing model yet (no solved points)"
        terms = "  ".join(f"{t} {self.terms[t]:+.1f}\"" for t in TERMS if t in self.terms)
        return f"{terms}  |  RMS {self.rms:.1f}\" from {len(self.points)} points"

    def as_dict(self) -> dict:
        return {"Terms": {t: round(v, 3) for t, v in self.terms.items()},
                "RMS": None if self.rms is None else round(self.rms, 3), "Points": len(self.points),
                "Latitude": self.latitude}

    # -- saved between nights ----------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write terms and points as JSON, atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = {**self.as_dict(), "Points": [[p.ha, p.dec, p.d_ha, p.d_dec] for p in self.points]}
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(body, indent=1))
        os.replace(temporary, target)

    @classmethod
    def load(cls, path: str | os.PathLike, latitude: float) -> "PointingModel":
        """The model saved at ``path`` (refitted from its points), or an empty one where there is none."""
        target = Path(path)
        if not target.exists():
            return cls(latitude)
        try:
            body = json.loads(target.read_text())
            points = [PointingPoint(*map(float, row)) for row in body.get("Points", [])]
        except (ValueError, TypeError) as exc:
            raise ValueError(f"pointing model {target}: not a saved model ({exc})") from None
        model = cls(latitude, points=points)
        model.fit()
        return model

    @classmethod
    def from_points(cls, points: Iterable[PointingPoint], latitude: float) -> "PointingModel":
        model = cls(latitude, points=list(points))
        model.fit()
        return model
