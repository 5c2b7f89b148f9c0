"""``toros-alpaca-sim``: the simulated observatory over ASCOM Alpaca (the server is `torosdrivers.alpaca.AlpacaServer`)."""

from .cli import serve_observatory

__all__ = ["serve_observatory"]
