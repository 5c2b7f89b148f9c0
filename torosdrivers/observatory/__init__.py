"""Observatory logic over any backends, usable from a script without a daemon.

`Supervisor` decides whether the observatory may be open (the Sun, the
weather, the safety monitor) and closes it when not; `DomeSlave` keeps the
dome's slit in front of the telescope; `autofocus` finds best focus from a
camera and a focuser. Both take the `~torosdrivers.config.Devices`
a script builds (simulated, Alpaca, serial), as the daemons do.
"""

from .autofocus import FocusResult, autofocus
from .safety import Supervisor
from .slaving import DomeSlave

__all__ = ["DomeSlave", "FocusResult", "Supervisor", "autofocus"]
