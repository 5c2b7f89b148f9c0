"""The observatory page against the simulated observatory, and a headless Chromium to look at it."""

from __future__ import annotations

import logging
import shutil

import pytest

from tests.daemons.conftest import Stack, make_config
from torosdrivers.daemons.tools.web import WebServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
NO_BROWSER = ("no headless browser here: install Debian's chromium and chromium-driver "
              "(apt-get install -y chromium chromium-driver), as .ci/run does")


@pytest.fixture
def observatory(tmp_path, caplog):
    """The three daemons at x100 (an exposure lasts long enough to be seen) and the page, orders allowed."""
    caplog.set_level(logging.INFO)  # the page's log panel: lines as a daemon process logs them
    config = make_config(tmp_path, Simulator={"Time Scale": 100.0, "Size": 256}, Safety={"Idle Close": 86400.0},
                         Web={"Allow Orders": True, "Refresh": 0.25})
    stack = Stack(config)
    config.data["Telescope Address"]["Port"] = stack.telescope.server.port
    config.data["Dome Address"]["Port"] = stack.dome.server.port
    web = WebServer(config, port=0).start()
    yield stack, web
    web.stop()
    stack.stop()


@pytest.fixture
def served(tmp_path, caplog):
    """The daemons reaching their devices through the device server (which a test may stop), and the page."""
    from torosdrivers.daemons.services.devices import DeviceServer

    caplog.set_level(logging.INFO)
    config = make_config(tmp_path, Simulator={"Time Scale": 100.0, "Size": 128}, Safety={"Idle Close": 86400.0},
                         Web={"Allow Orders": True, "Refresh": 0.25, "Stale After": 3.0})
    owner = DeviceServer(config, port=0, discovery=False).start()
    config.data["Device Server"] = {"Enabled": True, "IP": "127.0.0.1", "Port": owner.server.port,
                                    "Discovery": False}
    stack = Stack(config)
    config.data["Telescope Address"]["Port"] = stack.telescope.server.port
    config.data["Dome Address"]["Port"] = stack.dome.server.port
    web = WebServer(config, port=0).start()
    yield owner, stack, web
    for stop in (web.stop, stack.stop, owner.stop):  # each may have been stopped by the test already
        try:
            stop()
        except Exception:  # noqa: BLE001 - a second stop of a stopped server
            pass


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(NO_BROWSER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1700",
                 "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
