"""Planning a night: visibility grids of many targets (`sky`) and a plan that observes the most priority
(`planner`). The scheduler daemon plans with these; scripts can too."""

from .planner import Block, Limits, Overheads, Plan, Slot, Unobservable, observable, plan_night
from .sky import NightGrid, altitudes, night_grid

__all__ = ["Block", "Limits", "Overheads", "Plan", "Slot", "Unobservable", "observable", "plan_night",
           "NightGrid", "altitudes", "night_grid"]
