"""IGWN alerts read and checked against the published schema (igwn-gwalert-schema), each type and bad ones."""

from __future__ import annotations

import copy
import json

import pytest

from torosdrivers.alerts.drill import alert, blob_map
from torosdrivers.alerts.notice import ALERT_TYPES, Alert, AlertError, schema


@pytest.fixture(scope="module")
def good():
    return alert()


@pytest.mark.parametrize("alert_type", ALERT_TYPES)
def test_every_alert_type_as_igwn_publishes_it(alert_type):
    parsed = Alert.parse(json.dumps(alert("S261130ab", alert_type)))
    assert parsed.alert_type == alert_type and parsed.kind == "real"
    if alert_type == "RETRACTION":
        assert parsed.skymap is None and parsed.event == {}
    else:
        assert parsed.skymap is not None and parsed.skymap.prob.sum() == pytest.approx(1.0)
        assert parsed.significant and parsed.far == 3e-10 and parsed.classification["BNS"] == 0.95


@pytest.mark.parametrize("sid, kind", [("S230518h", "real"), ("MS261130a", "mock"), ("TS230101x", "test"),
                                       ("T1234", "test")])
def test_mock_and_test_events_are_told_apart(sid, kind):
    assert Alert.parse(alert(sid, "RETRACTION")).kind == kind


def _set(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize("path, value, problem", [
    ("alert_type", "SOON", "alert_type: 'SOON' is not one of"),
    ("superevent_id", KeyError, "'superevent_id' is a required property"),
    ("event.far", "high", "event.far: 'high' is not of type 'number'"),
    ("event.classification.BNS", "yes", "event.classification.BNS: 'yes' is not of type 'number'"),
    ("event.skymap", "!!not base64!!", "event.skymap: skymap: not base64"),
    ("event.skymap", "U0lNUExFICA9IG5vbnNlbnNl", "event.skymap: skymap: not a FITS file"),
])
def test_a_bad_alert_is_refused_naming_the_field(good, path, value, problem):
    with pytest.raises(AlertError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        Alert.parse(_set(good, path, value))


def test_a_sky_map_of_the_wrong_kind_and_text_that_is_not_json():
    flat = blob_map(coarse=3, fine=4)
    flat.meta["ORDERING"] = "RING"
    with pytest.raises(AlertError, match="event.skymap: skymap: ORDERING='RING'"):
        Alert.parse(alert(skymap=flat))
    with pytest.raises(AlertError, match="not JSON"):
        Alert.parse('{"superevent_id": ')
    with pytest.raises(AlertError, match="expected an object"):
        Alert.parse("[1, 2]")
    with pytest.raises(AlertError, match="not JSON"):
        Alert.parse("[" * 100000 + "]" * 100000)


def test_the_schema_is_the_published_one():
    assert schema()["$id"].endswith("igwn.alerts.Alert.schema.json")
    assert set(schema()["required"]) >= {"superevent_id", "alert_type", "time_created", "event"}


def test_an_alerts_pointings_become_a_target_list_the_scheduler_accepts():
    from torosdrivers.alerts.drill import synthetic_catalogue
    from torosdrivers.alerts import pointings, rank
    from torosdrivers.alerts.targets import target_list
    from torosdrivers.daemons.frame.workorders import validate_scheduled

    parsed = Alert.parse(alert("S261130ab", "UPDATE"))
    fields = pointings(rank(synthetic_catalogue(200_000), parsed.skymap), 1.9, 20)
    order = target_list(parsed, fields, filter="Clear", exposure_time=60, exposures=3)
    checked = validate_scheduled(order, ["U", "B", "V", "R", "I", "Clear"])
    assert checked.time_critical and len(checked.targets) == len(fields)
    assert order["ID"] == "S261130ab-UPDATE-20261130T030030"
    assert [t.probability for t in checked.targets] == pytest.approx([f.probability for f in fields])
    with pytest.raises(ValueError, match="RETRACTION has nothing to observe"):
        target_list(Alert.parse(alert("S261130ab", "RETRACTION")), fields, filter="Clear", exposure_time=60,
                    exposures=3)
    quiet = Alert.parse(alert("S261130ac", significant=False))
    assert not target_list(quiet, fields, filter="Clear", exposure_time=60, exposures=3)["Time Critical"]
