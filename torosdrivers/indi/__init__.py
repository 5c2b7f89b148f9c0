"""INDI: the protocol of indiserver and KStars/Ekos. `IndiLink` is the client the backends share
(``torosdrivers.focuser.indi``, ``torosdrivers.ccd.indi``...)."""

from .client import DEFAULT_PORT, IndiDeviceMixin, IndiLink

__all__ = ["DEFAULT_PORT", "IndiDeviceMixin", "IndiLink"]
