"""Benchmark: a classroom of trainee browsers on one 2-core machine – how long from *Reveal to the room* until every
trainee sees the result, and how much of the server's CPU the polling trainee pages take.

    .venv/bin/python benchmarks/explorer_classroom.py              # 30 trainees
    .venv/bin/python benchmarks/explorer_classroom.py --trainees 10

Starts ``streamlit run app/explorer.py`` (as ``cxsim app`` does: no full GC per script run, the explorer's theme) on a
free 127.0.0.1 port with its own classroom database, opens the trainer's page in Chromium (Debian's /usr/bin/chromium
through Playwright; never ``playwright install``), opens a session, and lets N trainee browser contexts join and
predict. Printed, each beside its reference measured in the same run:

* **server CPU while the trainees' pages look at the room** (each polls every 2 s): CPU seconds of the server
  process per wall second over a quiet window, beside the same server over the same window with only the
  trainer's page open (before anyone joined);
* **Reveal → every trainee sees the result**: from the trainer's click until the last trainee page shows the
  result, beside Reveal → the trainer's own page shows it (the computation the reveal starts).

A report: it always exits 0. Timings on a shared 2-core machine are noisy; compare only within one run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from explorer_first_numbers import ARGS, CHROMIUM, free_port, start_server  # noqa: E402

SIDEBAR = '[data-testid="stSidebar"]'
WINDOW = 20.0  # seconds of CPU measured with and without the trainees


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (its /proc stat; clock ticks → seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid: int, seconds: float) -> float:
    """CPU seconds per wall second of ``pid`` over the next ``seconds`` (1.0 = one core busy)."""
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


def wait_all(pages, condition, what: str, timeout: float = 180.0) -> float:
    """Seconds until ``condition(page)`` holds for every page."""
    started, pending = time.perf_counter(), list(pages)
    while pending:
        pending = [p for p in pending if not condition(p)]
        if pending and time.perf_counter() - started > timeout:
            raise SystemExit(f"{len(pending)} trainee page(s) never showed {what}")
        if pending:
            time.sleep(0.05)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainees", type=int, default=30, help="trainee browser contexts (default 30)")
    args = ap.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CXSIM_CLASSROOM_DB": str(Path(tmp) / "classroom.sqlite")}
        proc, _ = start_server(port, log, env, classroom=True)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                trainer = browser.new_page(viewport={"width": 1400, "height": 1400})
                trainer.goto(url)
                trainer.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=120_000)
                trainer.locator(SIDEBAR).get_by_text("Classroom", exact=True).click()
                trainer.get_by_role("button", name="Open a classroom session").click()
                code = trainer.locator(".st-key-classroom_code").get_by_text(re.compile(r"^[A-HJKMNP-Z2-9]{5}$"))
                code.wait_for(timeout=60_000)
                code = code.inner_text().strip()
                time.sleep(3)
                alone = cpu_share(proc.pid, WINDOW)
                trainees = []
                for k in range(args.trainees):
                    page = browser.new_context(viewport={"width": 900, "height": 1000}).new_page()
                    page.goto(f"{url}/?join={code}", wait_until="commit")
                    trainees.append(page)
                for k, t in enumerate(trainees):
                    t.get_by_role("textbox", name="Your display name").fill(f"Trainee {k + 1}")
                    t.get_by_role("button", name="Join").click(no_wait_after=True)
                wait_all(trainees, lambda t: t.get_by_role("slider").count() == 1, "the prediction slider")
                for t in trainees:
                    t.get_by_role("button", name="Submit my prediction").click(no_wait_after=True)
                wait_all(trainees, lambda t: "You can change it" in t.locator(".st-key-classroom_own").inner_text(), "their prediction")
                time.sleep(3)
                polling = cpu_share(proc.pid, WINDOW)
                started = time.perf_counter()
                trainer.get_by_role("button", name="Reveal to the room").click(no_wait_after=True)
                trainer.locator(".st-key-classroom_spread").wait_for(timeout=180_000)
                own = time.perf_counter() - started
                wait_all(trainees, lambda t: t.locator(".st-key-classroom_result").count() == 1, "the result")
                everyone = time.perf_counter() - started
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    n = args.trainees
    print(f"classroom of {n} trainee pages, one server on {os.cpu_count()} cores")
    print(f"server CPU while {n} pages look at the room: {polling:.2f} cores  (reference, same server, trainer alone: {alone:.2f} cores; "
          f"over {WINDOW:.0f} s each)")
    print(f"Reveal → every trainee sees the result: {everyone:.1f} s  (reference, Reveal → the trainer's own page: {own:.1f} s; "
          f"pages look at the room every 2 s)")


if __name__ == "__main__":
    main()
