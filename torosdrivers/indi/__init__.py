"""INDI: the protocol of indiserver and KStars/Ekos, both ways.

`IndiLink` is the client the backends share (``torosdrivers.focuser.indi``,
``torosdrivers.ccd.indi``...); ``torosdrivers.indi.server.IndiServer``
publishes our devices as INDI devices (``torosdrivers.indi.published``),
the device server's second face beside Alpaca.
"""

from .client import DEFAULT_PORT, IndiDeviceMixin, IndiLink

__all__ = ["DEFAULT_PORT", "IndiDeviceMixin", "IndiLink"]
