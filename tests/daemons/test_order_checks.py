"""Orders checked completely before acceptance, and what a hostile structure gets back."""

from __future__ import annotations

import os
import xmlrpc.client
from pathlib import Path

import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.daemons.conftest import DOC_DOME, DOC_OBSERVATION, Stack, make_config, wait_state
from torosdrivers.daemons.frame.workorders import DERIVED_ID_SUFFIX, FAULT_INVALID, FAULT_UNSUPPORTED, MAX_ID_CHARS
from torosdrivers.daemons.frame.rpc import MAX_FAULT_CHARS


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    s = Stack(make_config(tmp_path_factory.mktemp("checks")))
    yield s
    s.stop()


def _fault(proxy, order) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.front_desk(order)
    return fault.value


def test_a_spanish_name_is_accepted_and_reaches_the_header_transliterated(shared):
    telescope = shared.proxy(shared.telescope)
    order = {**DOC_OBSERVATION, "ID": "utf8", "User": "José Pérez Núñez", "Object": "Cúmulo de Galaxias",
             "Calibration Frames": "No", "Exposure Time": 1.0}
    assert telescope.front_desk(order)["State"] == "queued"
    done = wait_state(telescope, "utf8")
    assert done["State"] == "done", done["Error"]
    night = Path(done["Result"].split(" frames in ")[1].split(";")[0])
    header = fits.getheader(night / "utf8_light_000.fits")
    assert header["OBSERVER"] == "Jose Perez Nunez" and header["OBJECT"] == "Cumulo de Galaxias"
    assert header["OBJTYPE"] == "Galaxy"  # the documentation's Type of object, in a card of its own


def test_a_long_user_is_carried_whole_as_a_long_string(shared):
    telescope = shared.proxy(shared.telescope)
    user = "Observatorio Astronómico de Cerro Macón, Universidad Nacional de Salta, Argentina"
    telescope.front_desk({**DOC_OBSERVATION, "ID": "long-user", "User": user, "Calibration Frames": "No",
                          "Exposure Time": 1.0})
    done = wait_state(telescope, "long-user")
    night = Path(done["Result"].split(" frames in ")[1].split(";")[0])
    assert fits.getheader(night / "long-user_light_000.fits")["OBSERVER"] == user.replace("ó", "o")


@pytest.mark.parametrize("user", ["tab\there", "line\nbreak", "next-line\x85", "x" * 257])
def test_text_that_is_not_a_name_is_refused(shared, user):
    fault = _fault(shared.proxy(shared.telescope), {**DOC_OBSERVATION, "ID": "t", "User": user})
    assert fault.faultCode == FAULT_INVALID and fault.faultString.startswith("User=")


@pytest.mark.parametrize("value, expected", [("abc", "blink count from 1 to 100"), (0, "blink count"),
                                             ("101", "blink count"), (2.5, "True, or the action's parameters")])
def test_dome_action_values_are_checked_against_the_declared_parameters(shared, value, expected):
    fault = _fault(shared.proxy(shared.dome), {**DOC_DOME, "ID": "b", "Blink01": value})
    assert fault.faultCode == FAULT_INVALID and "Blink01" in fault.faultString and expected in fault.faultString


def test_declared_action_values_are_accepted(shared):
    dome = shared.proxy(shared.dome)
    assert dome.front_desk({**DOC_DOME, "ID": "b3", "Blink01": "3"})["State"] == "queued"
    assert wait_state(dome, "b3")["Result"] == "Blink01: indicator blinked 3 times"


def test_ids_leave_room_for_the_ids_derived_from_them(shared):
    telescope = shared.proxy(shared.telescope)
    fault = _fault(telescope, {**DOC_OBSERVATION, "ID": "i" * (MAX_ID_CHARS + 1)})
    assert fault.faultCode == FAULT_INVALID and f"at most {MAX_ID_CHARS} characters" in fault.faultString
    assert MAX_ID_CHARS + len(DERIVED_ID_SUFFIX) <= 128
    longest = "i" * MAX_ID_CHARS
    telescope.front_desk({**DOC_OBSERVATION, "ID": longest, "Calibration Frames": "No", "Exposure Time": 1.0})
    done = wait_state(telescope, longest)
    assert done["State"] == "done" and "preprocessor order" in done["Result"], done["Result"]
    handed = wait_state(shared.proxy(shared.preprocessor), longest + DERIVED_ID_SUFFIX)
    assert handed["State"] in ("done", "failed") and "ID=" not in handed["Error"]


def test_the_preprocessor_checks_wotype_and_keeps_to_the_data_directory(shared, tmp_path):
    preprocessor = shared.proxy(shared.preprocessor)
    data = Path(shared.config["Data Directory"])
    (data / "2026-06-20").mkdir(parents=True, exist_ok=True)
    good = {"ID": "p", "WOType": "Calibration", "Request": "Exposure Calibration", "File Location": str(data / "2026-06-20")}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, data / "link-out")
    cases = [
        ({**good, "WOType": None}, "WOType=None: expected 'Calibration'"),
        ({**good, "WOType": "Observation"}, "WOType='Observation'"),
        ({**good, "File Location": str(outside)}, "a folder inside the data directory"),
        ({**good, "File Location": str(data / ".." / "..")}, "a folder inside the data directory"),
        ({**good, "File Location": str(data / "link-out")}, "a folder inside the data directory"),
        ({**good, "File Location": "file:///etc"}, "a folder inside the data directory"),
        ({**good, "File Location": str(data / "missing")}, "an existing folder"),
    ]
    for order, message in cases:
        fault = _fault(preprocessor, order)
        assert fault.faultCode == FAULT_INVALID and message in fault.faultString, (order, fault.faultString)
    assert not (outside / "products").exists()
    assert preprocessor.front_desk({**good, "File Location": "2026-06-20"})["State"] == "queued"  # relative: inside


def test_refusals_cut_long_values(shared):
    huge = "x" * 200_000
    for order in ({**DOC_OBSERVATION, "ID": "h", "Filter": huge}, {**DOC_OBSERVATION, huge: 1},
                  {**DOC_DOME, "ID": "h", "Blink01": huge}):
        service = shared.telescope if order.get("WOType") == "Observation" else shared.dome
        fault = _fault(shared.proxy(service), order)
        assert fault.faultCode == FAULT_INVALID and len(fault.faultString) <= MAX_FAULT_CHARS


def test_malformed_calls_are_fault_1_without_python_internals(shared):
    import requests

    url = f"http://127.0.0.1:{shared.telescope.server.port}/"
    bodies = [b"<methodCall><methodName>front_desk",  # not XML
              b"<?xml version='1.0'?><methodCall><methodName>front_desk</methodName><params><param><value>"
              b"<int>abc</int></value></param></params></methodCall>",
              b"<?xml version='1.0'?><methodCall><methodName>front_desk</methodName><params><param><value>"
              b"<double>1e400</double></value></param></params></methodCall>",
              b"<?xml version='1.0'?><methodCall><methodName>nothing_here</methodName></methodCall>",
              b"<?xml version='1.0'?><methodCall><methodName>status</methodName></methodCall>"]
    for body in bodies:
        r = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
        fault = None
        try:
            xmlrpc.client.loads(r.content)
        except xmlrpc.client.Fault as exc:
            fault = exc
        assert fault is not None and fault.faultCode == FAULT_INVALID, r.text
        assert "<class" not in fault.faultString and "Error" not in fault.faultString, fault.faultString


values = st.one_of(st.none(), st.booleans(), st.integers(-2**31, 2**31 - 1), st.integers(2**31, 2**70),
                   st.floats(), st.text(max_size=300), st.binary(max_size=20),
                   st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
structures = st.one_of(
    values,
    st.dictionaries(st.text(max_size=20), values, max_size=8),
    st.builds(lambda k, v: {**DOC_OBSERVATION, "ID": "fz", k: v}, st.sampled_from(sorted(DOC_OBSERVATION)), values),
    st.builds(lambda k, v: {**DOC_DOME, "ID": "fz", k: v}, st.sampled_from(["Blink01", "Shutter", "Azimuth", "User",
                                                                             "Priority", "Park", "FlatLamp"]), values),
    st.builds(lambda k, v: {"ID": "fz", "WOType": "Calibration", "Request": "Exposure Calibration",
                            "File Location": "/", k: v},
              st.sampled_from(["ID", "WOType", "Request", "File Location", "User", "Datetime"]), values),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(order=structures, service=st.sampled_from(["telescope", "dome", "preprocessor"]))
def test_every_answer_is_a_receipt_or_a_bounded_fault_1(shared, order, service):
    daemon = getattr(shared, service)
    proxy = shared.proxy(daemon)
    try:
        proxy.cancel(proxy.front_desk(order)["ID"])  # valid by chance: accepted, then cancelled
    except xmlrpc.client.Fault as fault:
        allowed = (FAULT_INVALID, FAULT_UNSUPPORTED) if service == "dome" else (FAULT_INVALID,)
        assert fault.faultCode in allowed, fault.faultString
        assert 0 < len(fault.faultString) <= MAX_FAULT_CHARS and "<class" not in fault.faultString
    except OverflowError:
        pass  # the client cannot send an int over 32 bits: nothing reached the daemon
