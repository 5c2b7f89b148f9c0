"""Gravitational-wave alerts to galaxies to observe (issue 26): the alert checked against IGWN's schema
(`notice`), its sky map (`skymap`) and the ranking of a galaxy catalogue against it, grouped into telescope
pointings (`galaxies`); whole-array, usable from a script.
"""

from .galaxies import Catalogue, Pointing, Ranking, in_field, outside, pointings, rank
from .notice import Alert, AlertError
from .skymap import SkyMap, SkyMapError

__all__ = ["Alert", "AlertError", "Catalogue", "Pointing", "Ranking", "SkyMap", "SkyMapError", "in_field", "outside",
           "pointings", "rank"]
