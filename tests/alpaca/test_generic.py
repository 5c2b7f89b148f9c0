"""The server serves any Device; the mount backend converts the mount's epoch."""

from __future__ import annotations

import astropy.units as u
import pytest
import requests

from tests.rigs import wait_for
from torosdrivers.alpaca.protocol import decode_imagebytes
from torosdrivers.ccd.alpaca import AlpacaCamera
from torosdrivers.coords import from_altaz, icrs_to_epoch
from torosdrivers.mount.alpaca import AlpacaMount
from torosdrivers.alpaca import AlpacaServer


def test_a_jnow_mount_is_converted_both_ways(server, observatory):
    server.members[("telescope", 0)].epoch = "jnow"
    mount = AlpacaMount(server.address, poll_interval=0.005)
    with mount:
        assert mount.epoch == "jnow"
        mount.unpark()
        target = from_altaz(55.0, 140.0, mount.time, mount.site)
        mount.slew_to(target, timeout=20)
        # The simulator's true pointing is the ICRS target: the JNow round trip is exact...
        assert observatory.mount.optical_axis().separation(target) < 1 * u.arcsec
        assert mount.position.separation(target) < 1 * u.arcsec
        # ...and the wire really carried JNow, decades of precession away from J2000.
        wire_ra = mount._link.get("RightAscension") * 15.0
        jnow_ra, _ = icrs_to_epoch(target, "jnow", mount.time, mount.site)
        j2000_ra, _ = icrs_to_epoch(target, "j2000", mount.time, mount.site)
        assert wire_ra == pytest.approx(jnow_ra, abs=1e-4)
        assert abs(jnow_ra - j2000_ra) > 0.1


def test_an_alpaca_camera_republished_by_a_second_server(server):
    # Driven with raw HTTP: alpyca holds one process-wide lock for every
    # request, so an alpyca client of a server in its own process deadlocks.
    upstream = AlpacaCamera(server.address, poll_interval=0.005)
    with AlpacaServer([upstream], port=0) as proxy:
        base = f"http://{proxy.address}/api/v1/camera/0"
        assert requests.put(f"{base}/connected", data={"Connected": "true"}, timeout=5).json()["ErrorNumber"] == 0
        assert requests.get(f"{base}/cameraxsize", timeout=5).json()["Value"] == upstream.sensor_size[0]
        requests.put(f"{base}/binx", data={"BinX": "2"}, timeout=5)
        requests.put(f"{base}/biny", data={"BinY": "2"}, timeout=5)
        reply = requests.put(f"{base}/startexposure", data={"Duration": "1", "Light": "false"}, timeout=5).json()
        assert reply["ErrorNumber"] == 0, reply
        wait_for(lambda: requests.get(f"{base}/imageready", timeout=5).json()["Value"], timeout=10)
        body = requests.get(f"{base}/imagearray", headers={"Accept": "application/imagebytes"}, timeout=10).content
        image = decode_imagebytes(body)
        assert image.shape == (upstream.sensor_size[1] // 2, upstream.sensor_size[0] // 2)
        assert 900 < image.mean() < 1300
