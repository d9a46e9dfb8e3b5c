"""The status page in a real headless Chromium, against the real daemon of conftest.py: it loads with
nothing from elsewhere, shows the devices, speaks Chinese and English, and a fault injected into the
simulated area shows on it within one poll."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

import pytest

from tests.edge.status.conftest import TOKEN, Gateway
from tests.support.browser import Browser

pytestmark = [pytest.mark.integration, pytest.mark.serial]

ROW = "document.querySelector('#devices tr[data-device=\"{}\"]')"


def test_the_page_shows_the_devices_live_and_a_fault_within_one_poll(gateway: Gateway) -> None:
    basic = "Basic " + base64.b64encode(f"technician:{TOKEN}".encode()).decode()
    with Browser.running() as browser:
        page = browser.page()
        page.goto(gateway.http, headers={"Authorization": basic})
        page.wait_for("document.querySelectorAll('#devices tr[data-device]').length === 4")
        states = page.evaluate("[...document.querySelectorAll('#devices tr[data-device]')]"
                               ".map(r => r.dataset.device + '=' + r.dataset.state).sort().join(' ')")
        assert states == "m1=ok m2=ok m3=ok master:A01=ok"
        assert page.evaluate("document.getElementById('title').textContent").endswith("gw-test · g1")
        assert page.evaluate("document.querySelectorAll('#buses tr[data-bus]').length") == 2

        # Both languages: the toggle switches every label.
        page.evaluate("localStorage.setItem('mw-lang', 'zh'); location.reload()")
        page.wait_for("document.querySelector('th[data-t=\"last_ok\"]').textContent === '上次成功'")
        page.wait_for(f"{ROW.format('m1')} && {ROW.format('m1')}.textContent.includes('正常')")
        page.evaluate("document.getElementById('lang').click()")
        assert page.evaluate("document.querySelector('th[data-t=\"last_ok\"]').textContent") == "Last success"
        page.wait_for(f"{ROW.format('m1')}.textContent.includes('ok')")

        # A fault in the field: the TTU stops answering. The master is polled every second (0.5 s reply
        # timeout) and the page is pushed every 0.5 s: it must show within one poll plus one push.
        gateway.area.source.master_silent = True
        t0 = time.monotonic()
        try:
            page.wait_for(f"['error', 'backed_off'].includes({ROW.format('master:A01')}.dataset.state)", 10)
            shown_after = time.monotonic() - t0
            error = page.evaluate(f"{ROW.format('master:A01')}.children[6].textContent")
        finally:
            gateway.area.source.master_silent = False
        assert shown_after < 1.0 + 0.5 + 0.5 + 0.5, shown_after     # poll + reply timeout + push + margin
        assert "master:A01" in error and "silent" in error, error          # the reason, as the bus saw it
        page.wait_for(f"{ROW.format('master:A01')}.dataset.state === 'ok'", 15)   # answers again: probed after 2 s, ok

        # Nothing loaded from anywhere but the gateway, and no script errors.
        origin = urlsplit(gateway.http).netloc
        assert {urlsplit(u).netloc for u in page.requests if not u.startswith("data:")} == {origin}
        assert page.console_errors() == []
