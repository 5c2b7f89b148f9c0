"""Weather and safety: the `ObservingConditions` and `SafetyMonitor` interfaces and their backends."""

from .base import CONDITIONS, ObservingConditions, SafetyMonitor

__all__ = ["CONDITIONS", "ObservingConditions", "SafetyMonitor"]
