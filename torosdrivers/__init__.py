"""torosdrivers: observatory control for TOROS.

Device interfaces (`torosdrivers.ccd`, `torosdrivers.mount`,
`torosdrivers.dome`, `torosdrivers.weather`), one error hierarchy
(`torosdrivers.errors`), Alpaca and serial backends, simulators
(`torosdrivers.simulators`), observatory logic (`torosdrivers.observatory`),
the night planner (`torosdrivers.scheduling`), preprocessing and the
XML-RPC daemons (`torosdrivers.daemons`).

Importing the package costs no astropy (the ``toros`` command starts in a
fraction of a second); astropy's Earth-rotation tables are made safe for an
offline PC (`configure_iers`) when `torosdrivers.coords` is first imported,
which every module that computes a position or a time does.
"""

from ._version import __version__

__all__ = ["__version__", "configure_iers"]


def __getattr__(name: str):
    if name == "configure_iers":  # kept where it always was, without importing astropy up front
        from .coords import configure_iers

        return configure_iers
    raise AttributeError(f"module 'torosdrivers' has no attribute {name!r}")
