"""torosdrivers: observatory control for TOROS.

Device interfaces (`torosdrivers.ccd`, `torosdrivers.mount`,
`torosdrivers.dome`), one error hierarchy (`torosdrivers.errors`), simulators
(`torosdrivers.simulators`) and, in later layers, Alpaca and serial backends,
preprocessing and the XML-RPC daemons.
"""

from ._version import __version__
from .coords import configure_iers

configure_iers()

__all__ = ["__version__", "configure_iers"]
