"""Benchmark: how long a fresh browser waits for the explorer's first numbers.

    .venv/bin/python benchmarks/explorer_first_numbers.py              # 3 warm visits
    .venv/bin/python benchmarks/explorer_first_numbers.py --warm 5
    .venv/bin/python benchmarks/explorer_first_numbers.py --fresh-kernels   # as right after installing

Starts ``streamlit run app/explorer.py`` on a free 127.0.0.1 port, then opens a
fresh Chromium (Debian's /usr/bin/chromium through Playwright; never
``playwright install``) and times from ``page.goto`` until the first metric
card's value is visible:

* **cold server**: the first visit after the server became healthy (imports,
  numba kernels loaded from their cache, the warm-up run, then the page's runs);
* **warm server**: further visits, each in a new browser (no cookies, no
  session), to the same server – the runs of the default view are cached by then,
  so this is what a second user sees.

``--fresh-kernels`` points numba's cache at an empty directory, so the cold
visit also compiles every kernel (what the first start after installing does).
Also reported: the server start until /_stcore/health answers, and the page's own
compute time of each visit (its footer, "page computed in … s"), which separates
the server's work from the browser's, and a one-metric Streamlit page served beside it in the same run
(the framework alone). Goals (issues 15 and 24):
first numbers within 10 s of a cold server and within 2 s of a warm one.

**Ensemble view** (issue 21), in the same run: the default page over the scenario's posterior
(``?uncertainty=posterior&draws=20&replicates=1``: 2 worlds × 20 posterior draws × 10k customers),
first computed once (its runs), then timed from fresh browsers on the warm server beside the
seeds-only view (``?uncertainty=seeds``); goal ≤ 3 s. The posterior is the one Aravind ships
(``cxsim/scenarios/aravind.posterior.parquet``). It is a
report: goals are marked pass/FAIL, the script always exits 0. Timings on a
shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import re
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
GOALS = {"cold": 10.0, "warm": 2.0, "ensemble": 3.0}
SCENARIO = "aravind"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REFERENCE_PAGE = 'import streamlit as st\nst.metric("one metric", "72.7 %")\n'
"""The reference: a Streamlit page that shows one metric and computes nothing (what the framework alone costs)."""


def start_server(port: int, log, env: dict | None = None, app: Path = APP, classroom: bool = False) -> tuple[subprocess.Popen, float]:
    """`streamlit run` on ``port`` with the flags `cxsim app` passes; returns the process and seconds until healthy."""
    from cxsim.cli import NO_GC_PER_RUN, THEME

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *NO_GC_PER_RUN, *THEME],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
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


def first_numbers(p, url: str, computes: bool = True) -> tuple[float, float]:
    """Seconds from opening ``url`` in a new browser until the first card's value is visible,
    and the page's own compute time (its footer)."""
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.perf_counter()
        page.goto(url)
        page.locator('[data-testid="stMetricValue"]').first.wait_for(state="visible", timeout=120_000)
        seen = time.perf_counter() - started
        if not computes:
            return seen, 0.0
        page.get_by_text(re.compile(r"page computed in")).wait_for(timeout=120_000)
        computed = float(re.search(r"page computed in ([\d.]+) s", page.inner_text("body")).group(1))
        return seen, computed
    finally:
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=3, help="visits of the warm server (default 3)")
    ap.add_argument("--draws", type=int, default=20, help="posterior draws of the ensemble view (default 20)")
    ap.add_argument("--fresh-kernels", action="store_true", help="numba cache in an empty directory (first start after installing)")
    args = ap.parse_args()
    port, ref_port = free_port(), free_port()
    url, ref_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ref_port}"
    with tempfile.TemporaryFile("w+") as log, tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache} if args.fresh_kernels else None
        ref_app = Path(cache) / "one_metric.py"
        ref_app.write_text(REFERENCE_PAGE)
        seeds_url = f"{url}/?uncertainty=seeds"
        ens_url = f"{url}/?uncertainty=posterior&draws={args.draws}&replicates=1"
        proc, healthy = start_server(port, log, env)
        ref, _ = start_server(ref_port, log, app=ref_app)
        try:
            with sync_playwright() as p:
                cold = first_numbers(p, seeds_url)
                first_numbers(p, ref_url, computes=False)  # the reference server warmed the same way
                ens_first = first_numbers(p, ens_url)  # the ensemble's runs, computed once
                warm, ens_warm, reference = [], [], []
                for _ in range(args.warm):  # interleaved: all pages see the same machine load
                    warm.append(first_numbers(p, seeds_url))
                    ens_warm.append(first_numbers(p, ens_url))
                    reference.append(first_numbers(p, ref_url, computes=False)[0])
        finally:
            for server in (proc, ref):
                server.terminate()
                server.wait(10)
    print(f"server healthy after {healthy:.1f} s" + ("  (numba cache empty: kernels compiled)" if args.fresh_kernels else ""))
    (seen, computed) = cold
    print(f"cold server: first numbers after {seen:.1f} s, page computed in {computed:.2f} s   "
          f"(goal ≤ {GOALS['cold']:.0f} s: {'pass' if seen <= GOALS['cold'] else 'FAIL'})")
    if warm:
        med = statistics.median(w for w, _ in warm)
        ref_med = statistics.median(reference)
        print(f"warm server: first numbers after {med:.1f} s median of {len(warm)} fresh browsers "
              f"({', '.join(f'{w:.1f}' for w, _ in warm)}; page computed in {', '.join(f'{c:.2f}' for _, c in warm)} s)   "
              f"(goal ≤ {GOALS['warm']:.0f} s: {'pass' if med <= GOALS['warm'] else 'FAIL'})")
        ens_med = statistics.median(w for w, _ in ens_warm)
        print(f"ensemble view (2 worlds × {args.draws} posterior draws × 1 seed × 10k customers): first computed in "
              f"{ens_first[1]:.2f} s (seen after {ens_first[0]:.1f} s); warm server: first numbers after {ens_med:.1f} s median "
              f"({', '.join(f'{w:.1f}' for w, _ in ens_warm)}; page computed in {', '.join(f'{c:.2f}' for _, c in ens_warm)} s)   "
              f"(goal ≤ {GOALS['ensemble']:.0f} s: {'pass' if ens_med <= GOALS['ensemble'] else 'FAIL'})"
              + ("" if _has_posterior() else "   [no posterior found: this view ran on seeds only]"))
        print(f"reference, a one-metric Streamlit page in the same run: {ref_med:.1f} s median ({', '.join(f'{r:.1f}' for r in reference)}); "
              f"the explorer takes {med - ref_med:+.1f} s beyond it")


def _has_posterior() -> bool:
    from cxsim.posterior import path_for

    return path_for(SCENARIO).is_file()


if __name__ == "__main__":
    main()
