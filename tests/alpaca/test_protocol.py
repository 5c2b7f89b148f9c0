"""The Alpaca device API on the wire, checked with raw HTTP."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
import requests

from torosdrivers.alpaca.protocol import decode_imagebytes, decode_json_image


def url(server, path):
    return f"http://{server.address}/api/v1/{path}"


def put(server, path, **form):
    return requests.put(url(server, path), data=form, timeout=5)


def get(server, path, **params):
    return requests.get(url(server, path), params=params, timeout=5)


@pytest.fixture
def connected(server):
    for kind in ("camera", "telescope", "dome", "filterwheel"):
        assert put(server, f"{kind}/0/connected", Connected="true").json()["ErrorNumber"] == 0
    return server


def test_transaction_ids(server):
    first = get(server, "camera/0/connected", ClientTransactionID=41).json()
    second = get(server, "camera/0/connected", clienttransactionid=42).json()  # GET names are caseless
    assert first["ClientTransactionID"] == 41 and second["ClientTransactionID"] == 42
    assert second["ServerTransactionID"] > first["ServerTransactionID"] >= 1
    assert get(server, "camera/0/connected").json()["ClientTransactionID"] == 0
    assert set(first) == {"Value", "ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage"}


def test_method_reply_has_no_value(connected):
    reply = put(connected, "dome/0/openshutter", ClientTransactionID="7").json()
    assert reply["ErrorNumber"] == 0 and reply["ClientTransactionID"] == 7
    assert "Value" not in reply


def test_put_names_are_case_sensitive(connected):
    r = put(connected, "camera/0/startexposure", duration="1", light="true")
    assert r.status_code == 400
    assert "Duration" in r.text and r.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "path, form, reason",
    [
        ("camera/0/startexposure", {"Duration": "abc", "Light": "true"}, "Duration='abc' is not a number"),
        ("camera/0/startexposure", {"Duration": "1", "Light": "yes"}, "Light='yes' is not true or false"),
        ("camera/0/startexposure", {"Light": "true"}, "missing parameter Duration"),
        ("dome/0/slewtoazimuth", {}, "missing parameter Azimuth"),
        ("camera/0/connected", {"Connected": "true", "ClientTransactionID": "-3"}, "ClientTransactionID='-3'"),
        ("telescope/0/slewtocoordinatesasync", {"RightAscension": "abc", "Declination": "0"}, "is not a number"),
    ],
)
def test_malformed_requests_get_400_with_a_reason(connected, path, form, reason):
    r = put(connected, path, **form)
    assert r.status_code == 400
    assert reason in r.text


@pytest.mark.parametrize("path", ["camera/7/connected", "camera/x/connected", "toaster/0/connected", "camera/0/warpdrive"])
def test_unknown_device_or_member_is_400(server, path):
    r = get(server, path)
    assert r.status_code == 400
    assert r.text


def test_unknown_endpoint_is_404(server):
    assert requests.get(f"http://{server.address}/api/v2/camera/0/connected", timeout=5).status_code == 404


def test_standard_member_not_implemented_is_0x400(connected):
    reply = put(connected, "telescope/0/moveaxis", Axis="0", Rate="1").json()
    assert reply["ErrorNumber"] == 0x400
    assert "moveaxis" in reply["ErrorMessage"]


def test_driver_errors_carry_their_ascom_numbers(connected, server):
    reply = put(connected, "camera/0/startexposure", Duration="-1", Light="true").json()
    assert reply["ErrorNumber"] == 0x401 and "Duration=-1" in reply["ErrorMessage"]
    reply = put(connected, "dome/0/action", Action="Teleport", Parameters="").json()
    assert reply["ErrorNumber"] == 0x40C
    reply = put(connected, "telescope/0/slewtocoordinatesasync", RightAscension="1", Declination="0").json()
    assert reply["ErrorNumber"] == 0x408  # parked
    put(connected, "camera/0/connected", Connected="false")
    assert get(connected, "camera/0/ccdtemperature").json()["ErrorNumber"] == 0x407


def test_value_not_set(connected):
    assert get(connected, "camera/0/lastexposureduration").json()["ErrorNumber"] == 0x402


def test_oversized_body_is_refused(server):
    r = requests.put(url(server, "camera/0/connected"), data=b"Connected=true&" + b"x" * 100_000, timeout=5)
    assert r.status_code == 413


def _expose(server):
    put(server, "camera/0/startexposure", Duration="1", Light="false")
    deadline = time.monotonic() + 10
    while not get(server, "camera/0/imageready").json()["Value"]:
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_imagebytes_reply_and_json_reply_agree(connected):
    _expose(connected)
    r = requests.get(url(connected, "camera/0/imagearray"), params={"ClientTransactionID": 9},
                     headers={"Accept": "application/imagebytes"}, timeout=10)
    assert r.headers["Content-Type"] == "application/imagebytes"
    fields = struct.unpack("<11i", r.content[:44])
    width, height = get(connected, "camera/0/numx").json()["Value"], get(connected, "camera/0/numy").json()["Value"]
    assert fields[0] == 1 and fields[1] == 0 and fields[2] == 9 and fields[4] == 44
    assert fields[5:11] == (8, 8, 2, width, height, 0)
    assert len(r.content) == 44 + 2 * width * height
    binary = decode_imagebytes(r.content)
    j = requests.get(url(connected, "camera/0/imagearray"), timeout=10)
    assert j.headers["Content-Type"] == "application/json"
    assert j.json()["Rank"] == 2 and j.json()["Type"] == 2
    text = decode_json_image(j.content, np.uint16)
    np.testing.assert_array_equal(binary, text)
    np.testing.assert_array_equal(np.array(j.json()["Value"]).T, binary)  # [x][y] on the wire


def test_imagearray_without_an_image_is_a_json_error_even_for_imagebytes(connected):
    r = requests.get(url(connected, "camera/0/imagearray"), headers={"Accept": "application/imagebytes"}, timeout=5)
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["ErrorNumber"] == 0x40B


def test_devicestate(connected):
    state = {item["Name"]: item["Value"] for item in get(connected, "dome/0/devicestate").json()["Value"]}
    assert state["ShutterStatus"] == 1 and "Azimuth" in state and "TimeStamp" in state


# -- values as the ASCOM interfaces define them (issue 24) -------------------------------------------------
@pytest.mark.parametrize("member, data", [
    ("camera/0/startexposure", {"Duration": "1e308", "Light": "true"}),  # over ExposureMax (36,000 s)
    ("camera/0/startexposure", {"Duration": "nan", "Light": "true"}),
    ("camera/0/startexposure", {"Duration": "-1", "Light": "true"}),
    ("camera/0/numx", {"NumX": "-5"}),
    ("camera/0/numx", {"NumX": "1_0"}),
    ("camera/0/startx", {"StartX": "100000"}),
    ("dome/0/slewtoazimuth", {"Azimuth": "1_0"}),
    ("dome/0/slewtoazimuth", {"Azimuth": "inf"}),
    ("dome/0/slewtoazimuth", {"Azimuth": "400"}),
])
def test_out_of_range_and_loose_numbers_are_invalid_value_never_accepted(strict_server, member, data):
    base, requests_module = strict_server
    kind = member.split("/")[0]
    assert requests_module.put(f"{base}/{kind}/0/connected", data={"Connected": "true", "ClientID": 9},
                               timeout=5).json()["ErrorNumber"] == 0
    reply = requests_module.put(f"{base}/{member}", data={**data, "ClientID": 9}, timeout=5)
    assert reply.status_code == 200 and reply.json()["ErrorNumber"] == 0x401, reply.text


@pytest.fixture
def strict_server():
    import math

    import requests

    from torosdrivers.alpaca import AlpacaServer
    from torosdrivers.simulators import SimulatedObservatory

    with SimulatedObservatory(time_scale=math.inf, width=64, height=64) as obs:
        server = AlpacaServer([obs.camera, obs.dome]).start()
        try:
            yield f"http://127.0.0.1:{server.port}/api/v1", requests
        finally:
            server.stop()
