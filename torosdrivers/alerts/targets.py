"""An alert's pointings as the scheduler's ``Target List`` work order.

One target per pointing (``Name`` ``<superevent>-<n>``, the pointing's
centre, its ``Probability``), the list named after its alert
(``<superevent>-<alert type>-<time created>``: an UPDATE is a new list, and
the alert it came from is in its ID and its ``Type of object``). A
significant event's list is ``Time Critical`` (the scheduler hands it on at
once and preempts what runs); a retraction has no list.
"""

from __future__ import annotations

from .galaxies import Pointing
from .notice import Alert

__all__ = ["target_list", "alert_id"]

#: The scheduler's limits (torosdrivers.daemons.frame.workorders): a target's name, a list's ID.
MAX_NAME, MAX_ID = 16, 92


def alert_id(alert: Alert) -> str:
    """``<superevent>-<alert type>-<time created>``: an alert's own name, the same however often it comes."""
    stamp = alert.time_created.utc.strftime("%Y%m%dT%H%M%S")
    return f"{alert.superevent_id}-{alert.alert_type}-{stamp}"[:MAX_ID]


def target_list(alert: Alert, fields: list[Pointing], *, filter: str, exposure_time: float, exposures: int,
                user: str = "toros-alerts", time_critical: bool | None = None) -> dict:
    """The ``Target List`` order for ``fields`` (best first).

    Parameters
    ----------
    alert
        The alert the fields come from.
    fields
        Its pointings (`torosdrivers.alerts.pointings`).
    filter, exposure_time, exposures
        What each field is observed with.
    time_critical
        None: the alert's ``significant``.

    Raises
    ------
    ValueError
        A retraction (nothing to observe), or no fields.
    """
    if alert.alert_type == "RETRACTION":
        raise ValueError(f"{alert.superevent_id}: a RETRACTION has nothing to observe")
    if not fields:
        raise ValueError(f"{alert.superevent_id}: no pointings to observe")
    order_id = alert_id(alert)
    base = alert.superevent_id[:MAX_NAME - 4]
    return {
        "ID": order_id,
        "WOType": "Target List",
        "User": user,
        "Type of job": "GW follow-up",
        "Type of object": f"GW {alert.superevent_id} galaxies",
        "Time Critical": alert.significant if time_critical is None else bool(time_critical),
        "Filter": filter,
        "Exposure Time": float(exposure_time),
        "Number of Exposures": int(exposures),
        "Targets": [{"Name": f"{base}-{i}", "RA": round(f.ra, 6), "Dec": round(f.dec, 6),
                     "Probability": min(1.0, max(0.0, f.probability))} for i, f in enumerate(fields, 1)],
    }
