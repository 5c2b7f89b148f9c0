"""Simulated devices that behave like the sky and the hardware.

`SimulatedObservatory` builds a camera, filter wheel, mount and dome sharing
one clock and one sky; each is a full implementation of its interface.
"""

from .camera import SimulatedCamera
from .clock import SimClock
from .dome import SimulatedDome
from .filterwheel import SimulatedFilterWheel
from .mount import SimulatedMount
from .observatory import SimulatedObservatory
from .sensor import Sensor, SensorSpec
from .sky import StarField

__all__ = [
    "SimulatedObservatory",
    "SimulatedCamera",
    "SimulatedFilterWheel",
    "SimulatedMount",
    "SimulatedDome",
    "SimClock",
    "Sensor",
    "SensorSpec",
    "StarField",
]
