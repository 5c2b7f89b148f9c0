"""Parsing of user values: quantities and coordinates."""

from __future__ import annotations

import astropy.units as u
import pytest
from astropy.coordinates import Angle, SkyCoord
from hypothesis import given
from hypothesis import strategies as st

from torosdrivers.coords import airmass, parse_dec, parse_ra, to_icrs
from torosdrivers.errors import InvalidValueError
from torosdrivers.quantities import as_celsius, as_degrees, as_seconds


def test_quantities_convert():
    assert as_seconds(2 * u.min, "t") == 120.0
    assert as_degrees(30 * u.arcmin, "a") == 0.5
    assert as_celsius(273.15 * u.K, "T") == pytest.approx(0.0)
    assert as_seconds(3, "t") == 3.0


@pytest.mark.parametrize("value", [True, None, "5", [1], float("inf")])
def test_quantities_refuse_non_numbers(value):
    with pytest.raises(InvalidValueError, match="^t="):
        as_seconds(value, "t")


def test_quantity_bounds_are_named():
    with pytest.raises(InvalidValueError, match="t=-2 s: expected at least 0 s"):
        as_seconds(-2, "t", minimum=0.0)
    with pytest.raises(InvalidValueError, match="expected a value in s"):
        as_seconds(3 * u.m, "t")


@given(ra=st.floats(0.0, 359.999999), dec=st.floats(-90.0, 90.0))
def test_degrees_survive_to_icrs(ra, dec):
    c = to_icrs((ra, dec))
    assert c.ra.deg == pytest.approx(ra, abs=1e-9)
    assert c.dec.deg == pytest.approx(dec, abs=1e-9)


@given(ra=st.floats(0.0, 359.99), dec=st.floats(-90.0, 90.0))
def test_sexagesimal_strings_survive_to_icrs(ra, dec):
    ra_text = Angle(ra, u.deg).to_string(unit="hourangle", sep=":", precision=4)
    dec_text = Angle(dec, u.deg).to_string(unit="deg", sep=":", precision=3, alwayssign=True)
    c = to_icrs((ra_text, dec_text))
    assert abs((c.ra.deg - ra + 180) % 360 - 180) < 1e-5
    assert c.dec.deg == pytest.approx(dec, abs=1e-5)


@given(dec=st.one_of(st.floats(90.0001, 1e6), st.floats(-1e6, -90.0001)))
def test_out_of_range_dec_is_named(dec):
    with pytest.raises(InvalidValueError, match=r"dec=.*expected -90 <= Dec <= 90"):
        parse_dec(dec)


@pytest.mark.parametrize("ra", [-0.1, 360.0, "24:00:01", "abc"])
def test_out_of_range_ra_is_named(ra):
    with pytest.raises(InvalidValueError, match="ra="):
        parse_ra(ra)


def test_skycoord_in_another_frame_becomes_icrs():
    galactic = SkyCoord(l=0 * u.deg, b=0 * u.deg, frame="galactic")
    c = to_icrs(galactic)
    assert c.frame.name == "icrs"
    assert c.separation(galactic.icrs) < 1e-6 * u.arcsec


def test_airmass():
    assert airmass(90.0) == pytest.approx(1.0, abs=1e-3)
    assert airmass(30.0) == pytest.approx(2.0, rel=0.01)
    assert 30 < airmass(0.0) < 45
