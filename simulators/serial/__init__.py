"""Serial-protocol front-ends of the simulators: LX200, DDW and QHY CFW responders."""

from .ddw import DDWResponder
from .lx200 import LX200Responder
from .qhycfw import QHYCFWResponder
from .transport import Faults, Responder, SerialSimServer

__all__ = ["SerialSimServer", "Faults", "Responder", "LX200Responder", "DDWResponder", "QHYCFWResponder"]
