"""Running tasks: in this process, in a local process pool, or on a Dask cluster.

A task's result depends only on the base scenario, its overrides and its seed
(every random draw comes from a counter-based stream of the seed), so where and
in which order tasks run never changes a number: results are identical for any
number of workers. Results come back to this process, which stores them (so
remote Dask workers need no shared disk).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import re
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable

import pandas as pd

from ..engine.model import run
from ..engine.scenario import Scenario
from ..readouts.metrics import SCALAR_OUTCOMES
from ..state.params import CxError
from .design import Task

SCHEDULER_ENV = "CXSIM_SCHEDULER"
"""Environment variable naming a Dask scheduler (``tcp://host:port``) when none is given."""
TIMEOUT_ENV = "CXSIM_SCHEDULER_TIMEOUT"
"""Seconds to wait for the Dask scheduler to answer (default 20)."""

Result = tuple[dict[str, Any], "pd.DataFrame | None", float]
OnResult = Callable[[dict[str, Any], "pd.DataFrame | None", float], None]


def run_task(base: Scenario, task: Task) -> Result:
    """One run: (row of parameters, seed and outcomes; wide time series or None; seconds)."""
    t0 = time.perf_counter()
    sc = base.with_overrides(task.overrides) if task.overrides else base
    if task.ab is not None:
        from .abtest import ab_row

        row, ts = {**task.head(), **ab_row(sc, task.ab, task.seed)}, None
    else:
        res = run(sc, task.seed)
        s = res.summary
        row = {**task.head(), "interventions": "+".join(sc.enabled_interventions) or "none"}
        row.update({k: math.nan if s[k] is None else float(s[k]) for k in SCALAR_OUTCOMES})
        extract = getattr(task, "extract", None)  # a caller's own numbers of the run (cxsim.calibration's targets)
        if extract is not None:
            row.update(extract(res))
        ts = res.timeseries if task.timeseries else None
    return row, ts, time.perf_counter() - t0


def available_cpus() -> int:
    """CPUs this process may use (respects affinity and container limits where the OS reports them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


_ADDRESS = re.compile(r"^(?:(tcp|tls|ucx|ws|wss)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(\d{1,5})$")


def check_address(address: Any, where: str = "scheduler") -> Any:
    """A Dask scheduler address must read ``[tcp|tls|ucx|ws|wss://]host:port`` (checked before connecting)."""
    if not isinstance(address, str):
        return address  # e.g. a LocalCluster
    match = _ADDRESS.match(address.strip())
    if not match or not 1 <= int(match.group(3)) <= 65535:
        shown = repr(address) if len(address) < 40 else repr(address[:39]) + "…"
        raise CxError(f"{where} = {shown}: expected an address like tcp://host:8786 (scheme tcp, tls, ucx, ws or wss; port 1 to 65535)")
    return address.strip()


def resolve_scheduler(scheduler: Any = None) -> Any:
    """The Dask scheduler to use: the one given, else ``$CXSIM_SCHEDULER``, else None (local); its address checked."""
    if scheduler:
        return check_address(scheduler)
    env = os.environ.get(SCHEDULER_ENV) or None
    return check_address(env, f"${SCHEDULER_ENV}") if env else None


def execute(base: Scenario, tasks: list[Task], on_result: OnResult, *, workers: int = 1, scheduler: Any = None,
            progress: bool | None = None, done: int = 0, desc: str = "runs") -> None:
    """Run ``tasks`` and hand each result to ``on_result`` as it finishes (any order).

    ``scheduler``: a Dask address (or ``LocalCluster``); else ``workers`` > 1 uses a local
    process pool, 1 runs here. ``progress`` None shows a bar only on a terminal.
    """
    from ..progress import bar as progress_bar

    scheduler = resolve_scheduler(scheduler)
    with progress_bar(len(tasks) + done, initial=done, unit="run", desc=desc, progress=progress) as bar:
        def handle(result: Result) -> None:
            on_result(*result)
            bar.update()

        if not tasks:
            return
        if scheduler:
            _dask(base, tasks, handle, scheduler)
        elif workers <= 1 or len(tasks) == 1:
            for task in tasks:
                handle(run_task(base, task))
        else:
            _pool(base, tasks, handle, min(workers, len(tasks)))


# -- local process pool ---------------------------------------------------------------------
_BASE: Scenario | None = None


def _init_worker(base: Scenario) -> None:
    global _BASE
    _BASE = base


def _pool_task(task: Task) -> Result:
    return run_task(_BASE, task)


def _context():
    """forkserver (workers fork from a server that imported cxsim and loaded its kernels once), else spawn; never plain fork."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["cxsim.experiments.warm"])
        return ctx
    return mp.get_context("spawn")


def _pool(base: Scenario, tasks: list[Task], handle, workers: int) -> None:
    """Run ``tasks`` on a local pool of ``workers`` processes, handing each result to ``handle`` here.

    A pool takes a second or two to start (its server imports cxsim and loads the
    kernels, and the first hand-out waits for it), so a thread hands out the first
    tasks while this process runs tasks itself, from the end of the list while the
    pool takes them from the front, until a worker has answered. Tasks are handed
    out a few at a time, so that none waits in a queue while this process works.
    """
    pending, lock = deque(tasks), threading.Lock()
    window = 2 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker, initargs=(base,)) as ex:
        inflight: set = set()

        def top_up() -> None:
            while len(inflight) < window:
                with lock:
                    if not pending:
                        return
                    task = pending.popleft()
                inflight.add(ex.submit(_pool_task, task))

        def take_last() -> Task | None:
            with lock:
                return pending.pop() if pending else None

        def run_here(task: Task) -> None:
            handle(run_task(base, task))

        try:
            _work_while(top_up, take_last, run_here)
            answered = False
            while inflight:
                done, _ = wait(inflight, timeout=None if answered or not pending else 0, return_when=FIRST_COMPLETED)
                if not done:  # no worker has answered yet: work meanwhile
                    run_here(take_last())
                    continue
                answered = True
                for fut in done:
                    inflight.discard(fut)
                    handle(fut.result())
                top_up()
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise


def _work_while(start: Callable[[], None], take: Callable[[], Any], work: Callable[[Any], None]) -> None:
    """Run ``start`` in a thread; meanwhile ``work`` on what ``take`` gives here. Re-raises what ``start`` raised."""
    failure: list[BaseException] = []

    def starting() -> None:
        try:
            start()
        except BaseException as err:  # handed to the caller below
            failure.append(err)

    starter = threading.Thread(target=starting, name="cxsim-pool-start", daemon=True)
    starter.start()
    while starter.is_alive():
        item = take()
        if item is None:
            break
        work(item)
    starter.join()
    if failure:
        raise failure[0]


# -- Dask distributed ------------------------------------------------------------------------
def _dask(base: Scenario, tasks: list[Task], handle, scheduler: Any) -> None:
    from distributed import Client, as_completed as dask_completed

    address = getattr(scheduler, "scheduler_address", scheduler)
    timeout = float(os.environ.get(TIMEOUT_ENV, 20))
    try:
        client = Client(address, set_as_default=False, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise CxError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s: {err}") from None
    with client, client.as_current():
        shared = client.scatter(base, broadcast=True, hash=False)
        futures = [client.submit(run_task, shared, t, key=f"cxsim-run-{t.key}", pure=False) for t in tasks]
        try:
            for fut in dask_completed(futures):
                handle(fut.result())
                fut.release()
        except BaseException:
            client.cancel(futures)
            raise
