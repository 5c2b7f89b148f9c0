"""Planning a night: visibility grids of many targets (`sky`), a plan that observes the most priority
(`planner`) and the priority rules that give orders their priority (`priority`). The scheduler daemon
plans with these; scripts can too."""

from .planner import Block, Limits, Overheads, Plan, Slot, Unobservable, observable, plan_night
from .priority import Assigned, Rule, assign_priority, rules_from_config
from .sky import NightGrid, altitudes, night_grid

__all__ = ["Block", "Limits", "Overheads", "Plan", "Slot", "Unobservable", "observable", "plan_night",
           "NightGrid", "altitudes", "night_grid", "Assigned", "Rule", "assign_priority", "rules_from_config"]
