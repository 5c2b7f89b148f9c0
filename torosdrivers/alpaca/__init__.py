"""ASCOM Alpaca, both ways: the client plumbing our Alpaca backends share, the
protocol's codecs (ImageBytes, JSON images, discovery), and `AlpacaServer`,
which publishes any torosdrivers `Device` to Alpaca clients (ours, NINA,
Ekos, ASCOM Remote) — the simulators for ``toros-alpaca-sim``, the real
hardware for ``toros-devices``.

The backends themselves live with their device kinds:
`torosdrivers.ccd.alpaca`, `torosdrivers.mount.alpaca`,
`torosdrivers.dome.alpaca`.
"""

from .client import AlpacaServerInfo, discover, parse_address
from .server import AlpacaServer

__all__ = ["AlpacaServer", "AlpacaServerInfo", "discover", "parse_address"]
