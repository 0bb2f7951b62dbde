"""The explorer in a real browser: `streamlit run` on 127.0.0.1, driven by Playwright with Debian's Chromium.

Skipped only when /usr/bin/chromium is missing outside CI; with CI=true a missing
browser fails the test (CI installs it). Never `playwright install`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

APP = Path(__file__).resolve().parent.parent / "app" / "explorer.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SWITCH = "Free transport to hospital and back"  # an intervention switch of the default scenario


def _require_browser():
    in_ci = os.environ.get("CI", "").lower() in ("true", "1")
    if not Path(CHROMIUM).exists():
        if in_ci:
            pytest.fail(f"{CHROMIUM} is missing in CI: the real-browser test cannot run")
        pytest.skip(f"{CHROMIUM} not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed in CI (pip install -e '.[test]')")
        pytest.skip("playwright not installed")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def playwright():
    """Playwright's sync API, once the browser is known to be there (see the module doc)."""
    return _require_browser()


@pytest.fixture
def server(playwright, tmp_path):
    """`streamlit run app/explorer.py` on a free local port; yields its URL once healthy."""
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy:\n{(tmp_path / 'streamlit.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_toggling_an_intervention_changes_the_numbers(playwright, server, tmp_path):
    problems: list[str] = []
    with playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 2600})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(server)

            card = page.locator('[data-testid="stMetric"]', has=page.get_by_text("Acceptance", exact=True))
            value = card.locator('[data-testid="stMetricValue"]')
            value.wait_for(timeout=60_000)
            before = value.inner_text()
            page.locator(".vega-embed").first.wait_for(timeout=60_000)  # the differences chart draws

            page.get_by_text(SWITCH, exact=True).click()
            _wait_for_change(value, before)
            after = value.inner_text()
            page.wait_for_timeout(500)  # let the rest of the page finish drawing
            page.screenshot(path=str(tmp_path / "explorer.png"))
            exceptions = page.locator('[data-testid="stException"]').count()
        finally:
            browser.close()
    assert _percent(after) < _percent(before) - 20, (before, after)  # no free bus: far fewer accept
    assert exceptions == 0
    assert not problems, problems
    assert (tmp_path / "explorer.png").stat().st_size > 10_000


def _wait_for_change(locator, old: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while locator.inner_text() == old:
        if time.monotonic() > deadline:
            pytest.fail(f"the acceptance shown stayed {old!r} after switching {SWITCH!r} off")
        time.sleep(0.1)


def _percent(text: str) -> float:
    return float(text.replace("%", "").replace(",", "").strip())
