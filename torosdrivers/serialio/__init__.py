"""Serial-line plumbing and the documented ASCII protocols of serial devices.

`link` owns the line (framing, timeouts, retries, reconnects); `lx200`, `ddw`
and `qhycfw` hold each protocol's formats, shared by the backends and by the
simulators that speak them.
"""

from .link import GarbledReply, Reader, SerialLink

__all__ = ["SerialLink", "Reader", "GarbledReply"]
