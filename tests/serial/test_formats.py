"""LX200 and DDW formats: every value in range survives format -> parse within the protocol's precision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from torosdrivers.serialio import GarbledReply
from torosdrivers.serialio import ddw
from torosdrivers.serialio import lx200 as fmt

hours = st.floats(0.0, 24.0, exclude_max=True)
decs = st.floats(-90.0, 90.0)


def ra_error(a: float, b: float) -> float:
    return abs((a - b + 12.0) % 24.0 - 12.0)


@given(hours)
def test_ra_high_precision_round_trip(ra):
    parsed, high = fmt.parse_ra((fmt.format_ra(ra) + "#").encode())
    assert high
    assert ra_error(parsed, ra) <= 0.5 / 3600 + 1e-9  # half a second of time


@given(hours)
def test_ra_low_precision_round_trip(ra):
    parsed, high = fmt.parse_ra((fmt.format_ra(ra, high=False) + "#").encode())
    assert not high
    assert ra_error(parsed, ra) <= 0.05 / 60 + 1e-9  # half a tenth of a minute


@given(decs)
def test_dec_high_precision_round_trip(dec):
    parsed, high = fmt.parse_dec((fmt.format_dec(dec) + "#").encode())
    assert high and abs(parsed - dec) <= 0.5 / 3600 + 1e-9


@given(decs)
def test_dec_low_precision_round_trip(dec):
    parsed, high = fmt.parse_dec((fmt.format_dec(dec, high=False) + "#").encode())
    assert not high and abs(parsed - dec) <= 0.5 / 60 + 1e-9


@given(st.floats(-180.0, 180.0), st.sampled_from([2, 3]))
def test_site_degrees_round_trip(value, width):
    if width == 2:
        value = max(-90.0, min(90.0, value))
    assert abs(fmt.parse_signed_dm((fmt.format_signed_dm(value, width) + "#").encode()) - value) <= 0.5 / 60 + 1e-9


@given(st.binary(max_size=6), decs)
def test_noise_before_a_reply_is_dropped(noise, dec):
    text = fmt.format_dec(dec)
    noise = bytes(b for b in noise if chr(b) not in "0123456789+-*:\xdf#")
    assert abs(fmt.parse_dec(noise + text.encode() + b"#")[0] - dec) <= 0.5 / 3600 + 1e-9


def test_degree_sign_may_be_0xdf():
    assert fmt.parse_dec(b"-12\xdf30:00#")[0] == pytest.approx(-12.5)


@pytest.mark.parametrize("reply", [b"12:34#", b"25:00:00#", b"12:61:00#", b"ab:cd:ef#", b"#"])
def test_bad_ra_is_garbled(reply):
    with pytest.raises(GarbledReply):
        fmt.parse_ra(reply)


@pytest.mark.parametrize("reply", [b"+91*00:00#", b"+12*60:00#", b"+12#", b"12*3#"])
def test_bad_dec_is_garbled(reply):
    with pytest.raises(GarbledReply):
        fmt.parse_dec(reply)


@given(st.integers(0, 719), st.sampled_from([0, 1, 2]), st.integers(0, 1))
def test_ginf_round_trip(ticks, shutter, home):
    packet = ddw.Ginf(1, 720, 0, 2, ticks, 0, shutter, 0, home, 0, 0, 0, 0, 0, 0, 10, 50, 0, 0, 0, 0, 1, 0)
    again = ddw.Ginf.parse(b"LLTTP12\r" + packet.encode())
    assert again == packet
    assert again.azimuth == pytest.approx(360.0 * ticks / 720)


@pytest.mark.parametrize("packet", [b"V1,2,3\r", b"V1,0" + b",0" * 21 + b"\r", b"hello\r"])
def test_bad_ginf_is_garbled(packet):
    with pytest.raises(GarbledReply):
        ddw.Ginf.parse(packet)
