"""Planning a night: visibility grids of many targets (`sky`), a plan that observes the most priority
(`planner`) and the priority rules that give orders their priority (`priority`). The scheduler daemon
plans with these; scripts can too.

The names below are loaded on first use: checking a configuration's priority rules (the ``toros``
command does, at every start) must not import astropy with the planner.
"""

from importlib import import_module

_WHERE = {**dict.fromkeys(("Block", "Limits", "Overheads", "Plan", "Slot", "Unobservable", "observable",
                           "plan_night"), "planner"),
          **dict.fromkeys(("Assigned", "Rule", "assign_priority", "rules_from_config"), "priority"),
          **dict.fromkeys(("NightGrid", "altitudes", "night_grid"), "sky")}

__all__ = ["Block", "Limits", "Overheads", "Plan", "Slot", "Unobservable", "observable", "plan_night",
           "NightGrid", "altitudes", "night_grid", "Assigned", "Rule", "assign_priority", "rules_from_config"]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
