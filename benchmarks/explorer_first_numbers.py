"""Benchmark: how long a fresh browser waits for the explorer's first numbers.

    .venv/bin/python benchmarks/explorer_first_numbers.py              # 3 warm visits
    .venv/bin/python benchmarks/explorer_first_numbers.py --warm 5

Starts ``streamlit run app/explorer.py`` on a free 127.0.0.1 port, then opens a
fresh Chromium (Debian's /usr/bin/chromium through Playwright; never
``playwright install``) and times from ``page.goto`` until the first metric
card's value is visible:

* **cold server**: the first visit after the server became healthy (imports,
  numba kernels loaded from their cache, the warm-up run, then the page's runs);
* **warm server**: further visits, each in a new browser (no cookies, no
  session), to the same server – the runs of the default view are cached by then,
  so this is what a second user sees.

Also reported: the server start until /_stcore/health answers. Goals (issue 15):
first numbers within 10 s of a cold server and within 3 s of a warm one. It is a
report: goals are marked pass/FAIL, the script always exits 0. Timings on a
shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app" / "explorer.py"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--no-first-run"]
GOALS = {"cold": 10.0, "warm": 3.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log) -> tuple[subprocess.Popen, float]:
    """`streamlit run` on ``port``; returns the process and seconds until healthy."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc, time.perf_counter() - started
        except OSError:
            pass
        if proc.poll() is not None or time.perf_counter() - started > 120:
            raise SystemExit("streamlit did not become healthy")
        time.sleep(0.1)


def first_numbers(p, url: str) -> float:
    """Seconds from opening ``url`` in a new browser until the first card's value is visible."""
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        page.goto(url)
        page.locator('[data-testid="stMetricValue"]').first.wait_for(state="visible", timeout=120_000)
        return time.perf_counter() - started
    finally:
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=3, help="visits of the warm server (default 3)")
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        proc, healthy = start_server(port, log)
        try:
            with sync_playwright() as p:
                cold = first_numbers(p, url)
                warm = [first_numbers(p, url) for _ in range(args.warm)]
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"server healthy after {healthy:.1f} s")
    print(f"cold server: first numbers after {cold:.1f} s   (goal ≤ {GOALS['cold']:.0f} s: {'pass' if cold <= GOALS['cold'] else 'FAIL'})")
    if warm:
        med = statistics.median(warm)
        print(f"warm server: first numbers after {med:.1f} s median of {len(warm)} fresh browsers "
              f"({', '.join(f'{w:.1f}' for w in warm)})   (goal ≤ {GOALS['warm']:.0f} s: {'pass' if med <= GOALS['warm'] else 'FAIL'})")


if __name__ == "__main__":
    main()
