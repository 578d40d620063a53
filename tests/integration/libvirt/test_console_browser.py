"""Issue 20's user story in a real browser: the URL that `openstack console
url show` answers (POST /servers/{id}/remote-consoles), opened as it is in
headless Chromium (Debian's `chromium` driven by `chromium-driver` through
selenium), shows a real QEMU guest's screen live through minova-novncproxy
and noVNC, and keys typed into the page reach the guest's shell. The token
from a page of another origin, an expired token, a deleted server's token and
an unknown one give noVNC's failure state, not a screen.

Needs the libvirt tier and /usr/lib/chromium/chromium, /usr/bin/chromedriver
and selenium (skipped without them outside CI, as the rest of the tier)."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.integration.libvirt.conftest import Cloud, _unavailable

CHROMIUM = os.environ.get('MINOVA_CHROMIUM', '/usr/lib/chromium/chromium')
CHROMEDRIVER = os.environ.get('MINOVA_CHROMEDRIVER', '/usr/bin/chromedriver')
NOVNC = '/usr/share/novnc/vnc_lite.html'

# JavaScript: what the noVNC canvas holds (its size, the number of distinct
# colours and of non-black pixels, and a cheap fingerprint of every pixel).
CANVAS_STATS = """
const c = document.querySelector('#screen canvas');
if (!c || !c.width || !c.height) return null;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
const colours = new Set();
let lit = 0, hash = 0;
for (let i = 0; i < d.length; i += 4) {
    const rgb = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    colours.add(rgb);
    if (rgb) lit++;
    hash = (Math.imul(hash, 31) + rgb) | 0;
}
return {width: c.width, height: c.height, colours: colours.size, lit: lit, hash: hash};
"""

T = TypeVar('T')


def _until(what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.25)


@pytest.fixture(scope='module')
def browser() -> Iterator[Any]:
    for path in (CHROMIUM, CHROMEDRIVER, NOVNC):
        if not os.path.exists(path):
            _unavailable(f'{path} is missing (apt-get install chromium chromium-driver novnc)')
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable('selenium is not installed (pip install -e .[test])')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM      # the binary itself, not Debian's wrapper
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu',
                '--disable-dev-shm-usage', '--window-size=1280,1024'):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _status(driver: Any) -> str:
    return str(driver.execute_script(
        "const s = document.getElementById('status'); return s ? s.textContent : '';"))


SHIFTED = set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ')


def _type(driver: Any, text: str) -> None:
    """Type as a person does: Shift held for the shifted characters. noVNC
    sends QEMU the key's scancode (QEMU's extended key events, from the
    browser's KeyboardEvent.code), so a '$' without Shift down would reach
    the guest as '4'."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    actions = ActionChains(driver)
    for ch in text:
        if ch in SHIFTED:
            actions.key_down(Keys.SHIFT).send_keys(ch).key_up(Keys.SHIFT)
        else:
            actions.send_keys(ch)
    actions.perform()


def test_guest_screen_and_keyboard_in_a_browser(cloud: Cloud, image_id: str, flavor: str,
                                                browser: Any, tmp_path: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    r = cloud.api('POST', '/servers', json={'server': {
        'name': 'lv-browser', 'imageRef': image_id, 'flavorRef': flavor,
        'networks': 'none'}})
    assert r.status_code == 202, r.text
    uuid = r.json()['server']['id']
    try:
        cloud.wait(uuid, 'ACTIVE')
        cloud.wait_console(uuid, 'MINOVA-TEST-IMAGE-READY')
        # openstack console url show lv-browser
        r = cloud.api('POST', f'/servers/{uuid}/remote-consoles',
                      json={'remote_console': {'protocol': 'vnc', 'type': 'novnc'}})
        assert r.status_code == 200, r.text
        url = r.json()['remote_console']['url']
        assert urlparse(url).path == '/vnc_auto.html'

        browser.get(url)                                # opened as it is
        status = _until('noVNC connected', lambda: (
            _status(browser) if _status(browser).startswith('Connected') else None))
        # The guest's VGA text console: the kernel's lines, READY, a prompt.
        screen = _until('the guest screen drawn on the canvas', lambda: (
            s if (s := browser.execute_script(CANVAS_STATS))
            and s['colours'] >= 2 and s['lit'] > 0.002 * s['width'] * s['height']
            else None))
        assert screen['width'] >= 640 and screen['height'] >= 400, screen
        canvas = browser.find_element(By.CSS_SELECTOR, '#screen canvas')
        shot = os.path.join(str(tmp_path), 'guest-screen.png')
        assert canvas.screenshot(shot)
        print(f'\n{status}; screen {screen}; screenshot {shot}')

        # Keys typed into the page: noVNC sends them as RFB key events, QEMU
        # as PS/2 scancodes, the guest's shell on tty1 runs the line. Only a
        # shell that ran it prints 42; it prints it on the serial console,
        # which the console log shows.
        canvas.click()
        _type(browser, 'echo minova-keys-$((6*7)) >/dev/ttyS0' + Keys.ENTER)
        typed = _until('the typed line on the screen', lambda: (
            s if (s := browser.execute_script(CANVAS_STATS))
            and s['hash'] != screen['hash'] else None), timeout=30)
        time.sleep(1)
        canvas.screenshot(os.path.join(str(tmp_path), 'guest-screen-typed.png'))
        cloud.wait_console(uuid, 'minova-keys-42', timeout=60)
        typed = browser.execute_script(CANVAS_STATS)
        assert typed['lit'] > screen['lit'], (screen, typed)  # the line and a new prompt
        assert _status(browser).startswith('Connected')

        # The same valid token from a page of another origin (noVNC served as
        # http://localhost:PORT, its websocket to 127.0.0.1:PORT): the
        # browser's Origin is not the request's Host, the proxy answers 403.
        proxy = urlparse(url)
        _refused(browser, f'http://localhost:{proxy.port}/vnc_lite.html?host={proxy.hostname}'
                          f'&port={proxy.port}&{proxy.query}')
        browser.get(url)                   # the token itself was good all along
        _until('noVNC connected again', lambda: _status(browser).startswith('Connected'))

        # An expired token: a second URL whose token's expiry is put in the
        # past in the cell database (as [consoleauth] token_ttl running out).
        r = cloud.api('POST', f'/servers/{uuid}/remote-consoles',
                      json={'remote_console': {'protocol': 'vnc', 'type': 'novnc'}})
        assert r.status_code == 200, r.text
        expired = r.json()['remote_console']['url']
        token = parse_qs(parse_qs(urlparse(expired).query)['path'][0][1:])['token'][0]
        with sqlite3.connect(os.path.join(cloud.state, 'nova.sqlite'), timeout=30) as db:
            assert db.execute(
                'UPDATE console_auth_tokens SET expires = 0 WHERE token_hash = ?',
                (hashlib.sha256(token.encode()).hexdigest(),)).rowcount == 1
        _refused(browser, expired)
    finally:
        cloud.api('DELETE', f'/servers/{uuid}')
    cloud.wait_gone(uuid)

    # The deleted server's token (as an expired one: it is gone) and a token
    # the proxy never issued: noVNC's failure state, and no screen.
    base = url.split('?', 1)[0]
    _refused(browser, url)
    _refused(browser, f'{base}?path={quote("?token=nosuchtoken", safe="")}')


def _refused(browser: Any, url: str) -> None:
    browser.get(url)
    status = _until('noVNC failure state', lambda: (
        _status(browser) if _status(browser).startswith(
            ('Something went wrong', 'Disconnected', 'Failed')) else None), timeout=30)
    assert not _status(browser).startswith('Connected'), status
    stats = browser.execute_script(CANVAS_STATS)
    assert stats is None or stats['lit'] == 0, stats
    print(f'{url}: {status}')
