"""Bad work orders and abusive clients: each refused, the daemon serving throughout, the journal unharmed."""

from __future__ import annotations

import socket
import threading
import time
import xmlrpc.client

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.daemons.conftest import DOC_DOME, DOC_OBSERVATION, Stack, make_config, wait_state
from torosdrivers.daemons.frame.workorders import FAULT_INVALID, FAULT_UNSUPPORTED


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    s = Stack(make_config(tmp_path_factory.mktemp("abuse")))
    yield s
    s.stop()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"Exposure Tim": 30.0}, "unknown key 'Exposure Tim'; did you mean 'Exposure Time'?"),
        ({"Dec": 120}, "Dec=120: expected -90 <= Dec <= 90 degrees"),
        ({"RA": 400.0}, "RA=400.0: expected 0 <= RA < 360 degrees"),
        ({"RA": "25:00:00"}, "RA='25:00:00'"),
        ({"Priority": 11}, "Priority=11: expected a number from 0 to 10"),
        ({"Filter": "Halpha"}, "Filter='Halpha': expected one of"),
        ({"Exposure Time": -1.0}, "Exposure Time=-1.0: expected seconds from 0 to 3600"),
        ({"Number of Exposures": 2.5}, "Number of Exposures=2.5: expected a whole number"),
        ({"Calibration Frames": "Maybe"}, "Calibration Frames='Maybe': expected 'Yes' or 'No'"),
        ({"Datetime": "yesterday"}, "Datetime='yesterday': expected an ISO 8601"),
        ({"WOType": "Dome"}, "WOType='Dome': expected 'Observation'"),
        ({"ID": ""}, "ID='': expected a non-empty string"),
    ],
)
def test_bad_observation_fields_are_named(shared, change, message):
    telescope = shared.proxy(shared.telescope)
    with pytest.raises(xmlrpc.client.Fault) as fault:
        telescope.front_desk({**DOC_OBSERVATION, "ID": "bad", **change})
    assert fault.value.faultCode == FAULT_INVALID
    assert message in fault.value.faultString


def test_missing_key(shared):
    order = dict(DOC_OBSERVATION)
    del order["RA"]
    with pytest.raises(xmlrpc.client.Fault, match="missing key 'RA'"):
        shared.proxy(shared.telescope).front_desk(order)


def test_unknown_dome_action_is_unsupported(shared):
    with pytest.raises(xmlrpc.client.Fault) as fault:
        shared.proxy(shared.dome).front_desk({**DOC_DOME, "ID": "x", "Blink01": None, "Blink02": True})
    assert fault.value.faultCode in (FAULT_INVALID, FAULT_UNSUPPORTED)
    with pytest.raises(xmlrpc.client.Fault) as fault:
        shared.proxy(shared.dome).front_desk({"ID": "y", "WOType": "Dome", "Blink02": True})
    assert fault.value.faultCode == FAULT_UNSUPPORTED and "did you mean 'Blink01'" in fault.value.faultString


values = st.one_of(st.none(), st.booleans(), st.integers(-2**31, 2**31 - 1), st.floats(allow_nan=False),
                   st.text(max_size=20), st.lists(st.integers(-2**31, 2**31 - 1), max_size=3))
orders = st.one_of(
    values,
    st.dictionaries(st.text(max_size=15), values, max_size=6),
    st.builds(lambda k, v: {**DOC_OBSERVATION, "ID": "h", k: v}, st.sampled_from(sorted(DOC_OBSERVATION)), values),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(order=orders)
def test_anything_malformed_is_a_fault_and_nothing_is_journaled(shared, order):
    telescope = shared.proxy(shared.telescope)
    before = len(telescope.list_orders())
    try:
        receipt = telescope.front_desk(order)
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == FAULT_INVALID and fault.faultString
        assert len(telescope.list_orders()) == before
    else:  # a mutation that happened to stay valid (an ID of 0, a Priority of 7...) is queued; its run (740
        # verified exposures, say) is not what is under test: cancelled, so the next example starts clean
        assert receipt["State"] in ("queued", "running", "done", "failed", "cancelled")
        telescope.cancel(receipt["ID"])
        wait_state(telescope, receipt["ID"])


def test_oversized_body_is_refused_before_reading(shared):
    url = f"http://127.0.0.1:{shared.telescope.server.port}/"
    body = b"<?xml version='1.0'?><methodCall><methodName>list_orders</methodName>" + b" " * 400_000 + b"</methodCall>"
    r = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
    assert r.status_code == 413 and "over this daemon's limit" in r.text


def test_entity_expansion_is_refused(shared):
    url = f"http://127.0.0.1:{shared.telescope.server.port}/"
    bomb = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]>"
            "<methodCall><methodName>status</methodName><params><param><value>&lol2;</value></param></params>"
            "</methodCall>")
    r = requests.post(url, data=bomb, headers={"Content-Type": "text/xml"}, timeout=10)
    assert r.status_code == 200 and "entity and DOCTYPE declarations are refused" in r.text


def test_malformed_xml_is_a_fault(shared):
    url = f"http://127.0.0.1:{shared.telescope.server.port}/"
    r = requests.post(url, data=b"<methodCall><methodName>front_desk", headers={"Content-Type": "text/xml"}, timeout=10)
    assert r.status_code == 200 and "<fault>" in r.text


def test_a_stalled_client_blocks_nobody(shared):
    port = shared.telescope.server.port
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<?xml")  # and then nothing
    try:
        t0 = time.monotonic()
        assert isinstance(shared.proxy(shared.telescope).list_orders(), list)
        assert time.monotonic() - t0 < 2.0
    finally:
        stalled.close()


def test_clients_outside_the_allowed_networks_are_refused(tmp_path):
    config = make_config(tmp_path, Security={"Allowed Networks": ["10.1.2.0/24"], "Max Request Bytes": 65536,
                                             "Client Timeout": 5.0})
    s = Stack(config)
    try:
        r = requests.get(f"http://127.0.0.1:{s.telescope.server.port}/", timeout=5)
        assert r.status_code == 403 and "not in Security.Allowed Networks" in r.text
    finally:
        s.stop()


def test_daemon_serves_concurrent_clients(shared):
    telescope = shared.proxy(shared.telescope)
    errors = []

    def hammer(i):
        try:
            with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{shared.telescope.server.port}", allow_none=True) as p:
                for j in range(5):
                    p.list_orders()
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert isinstance(telescope.list_orders(), list)
