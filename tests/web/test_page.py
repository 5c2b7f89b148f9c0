"""The observatory page in a real browser (headless Chromium) against the simulated observatory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOT = Path(__file__).parents[2] / "docs" / "toros-web.png"


def _text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def _submit(browser, text: str) -> str:
    box = browser.find_element(By.ID, "order-text")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "order-submit").click()
    WebDriverWait(browser, 20).until(lambda b: _text(b, "order-result") not in ("", "sending…"))
    return _text(browser, "order-result")


def test_the_page_follows_an_observation_and_cancels_an_order(observatory, browser, tmp_path):
    stack, web = observatory
    # The page redraws as the view comes: an element read while it is replaced is read again.
    wait = WebDriverWait(browser, 60, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    browser.get(web.url + "/")
    wait.until(lambda b: _text(b, "link") == "live")
    wait.until(lambda b: _text(b, "dome-shutter") == "Closed" and _text(b, "safety") == "safe to open")
    wait.until(lambda b: "telescope: idle" in _text(b, "services"))

    # The page's own example order: the dome opens, and its frames appear as they are taken.
    assert _submit(browser, browser.find_element(By.ID, "order-text").get_attribute("value")) \
        == "accepted web-1 (Observation, priority 5)"
    wait.until(lambda b: _text(b, "dome-shutter") == "Open")
    wait.until(lambda b: "NGC 7479" in _text(b, "frame-caption"))
    frame = browser.find_element(By.ID, "frame")
    wait.until(lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", frame) == 256)
    caption = _text(browser, "frame-caption")
    assert "LIGHT" in caption and "filter V" in caption and "30 s" in caption and "order web-1" in caption

    # A long order runs with its step's progress and ETA; it is cancelled from the page.
    assert _submit(browser, "WOType=Observation\nID=web-long\nRA=23.1\nDec=13.2\nFilter=R\nExposure Time=600\n"
                            "Number of Exposures=50\nObject=long one").startswith("accepted web-long")
    row = '#queue tr[data-id="web-long"]'
    wait.until(lambda b: "exposure" in b.find_element(By.CSS_SELECTOR, row).text
               and "ETA" in b.find_element(By.CSS_SELECTOR, row).text)
    wait.until(lambda b: "web-1" in _text(b, "recent") and "done" in _text(b, "recent"))
    wait.until(lambda b: "web-1 (Observation) started" in _text(b, "timeline") and _text(b, "log"))
    browser.save_screenshot(str(tmp_path / "toros-web.png"))
    if os.environ.get("TOROS_UPDATE_SCREENSHOT"):  # the README's picture: make it with this test
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "toros-web.png", SCREENSHOT)
    browser.find_element(By.CSS_SELECTOR, f'{row} button.cancel').click()
    wait.until(lambda b: any("web-long" in line and "cancelled" in line for line in _text(b, "recent").splitlines()))
    assert stack.proxy(stack.telescope).status("web-long")["State"] == "cancelled"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []  # no CSP or script error
