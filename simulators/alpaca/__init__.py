"""Any torosdrivers device over ASCOM Alpaca: `AlpacaServer` and ``toros-alpaca-sim``."""

from .server import AlpacaServer

__all__ = ["AlpacaServer"]
