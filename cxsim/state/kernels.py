"""Compiled kernels, compiled when first needed, once per machine, with a message.

Kernel modules decorate with :func:`njit` (and :func:`intrinsic`) from here
instead of numba's own. Until a kernel is first called, numba is not imported:
the scenario schema (which reads constants from the kernel modules) and the
command line load in a fraction of a second. The first call of any kernel
*activates* them all at once: numba is imported, every registered kernel
becomes a numba dispatcher, and every ``cxsim`` module attribute that held a
lazy kernel is rebound to its dispatcher before anything compiles, so a kernel
that calls another kernel finds a dispatcher in its globals (numba resolves
globals at compile time), and Python callers pay no indirection afterwards.

Kernels are cached on disk (``cache=True``). Loading them from the cache takes
a second; compiling them takes ten or more. On activation, a stamp next to
numba's cache files (keyed by cxsim's and numba's versions and a hash of the
kernel modules' sources) tells whether this machine has compiled these kernels:
if not, one line goes to stderr and :func:`compile_all` compiles every kernel
by running tiny runs of the built-in scenarios, then writes the stamp.
``cxsim compile`` does the same on demand.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ESTIMATED = "15 s to 2 minutes"
"""How long compiling takes: measured 3–26 s on a warm machine, 54–97 s in a first install (issue 25): a range, not one guess."""

_lock = threading.RLock()
_pending: list["LazyKernel"] = []
_active = False
_checked = False


class LazyKernel:
    """A kernel before numba is imported: calling it (or reading a numba attribute) activates all kernels."""

    def __init__(self, py_func: Callable, make: Callable[[Any, Callable], Any]):
        self.py_func = py_func
        self._make = make  # (numba module, python function) -> dispatcher or intrinsic
        self._compiled: Any = None
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__module__ = py_func.__module__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func

    @property
    def dispatcher(self) -> Any:
        if self._compiled is None:
            activate()
        return self._compiled

    def __call__(self, *args, **kwargs):
        return self.dispatcher(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __repr__(self) -> str:
        state = "compiled" if self._compiled is not None else "not yet compiled"
        return f"<cxsim kernel {self.__module__}.{self.__qualname__} ({state})>"


def _register(py_func: Callable, make: Callable[[Any, Callable], Any]) -> Any:
    with _lock:
        kernel = LazyKernel(py_func, make)
        _pending.append(kernel)
        if not _active:
            return kernel
        import numba

        kernel._compiled = make(numba, py_func)  # a module imported after activation: numba's own object
        return kernel._compiled


def njit(fn: Callable | None = None, **options: Any) -> Any:
    """``numba.njit`` with the same options, compiled lazily (see the module docstring).

    Kernels release the GIL (``nogil=True`` unless a kernel says otherwise): they touch only the arrays of their
    own run, never Python objects, so runs in threads of one process (an ensemble's draws) can share the cores.
    """
    options.setdefault("nogil", True)
    if fn is None:
        return lambda f: njit(f, **options)
    return _register(fn, lambda numba, f: numba.njit(**options)(f))


def intrinsic(fn: Callable) -> Any:
    """``numba.extending.intrinsic``, created when the kernels are activated."""

    def make(numba, f):
        from numba.extending import intrinsic as numba_intrinsic

        return numba_intrinsic(f)

    return _register(fn, make)


def active() -> bool:
    """Whether numba has been imported and the kernels turned into dispatchers."""
    return _active


def activate(check_cache: bool = True) -> None:
    """Turn every registered kernel into its numba dispatcher and rebind the modules that hold them."""
    global _active
    with _lock:
        if not _active:
            import numba

            for kernel in _pending:
                if kernel._compiled is None:
                    kernel._compiled = kernel._make(numba, kernel.py_func)
            _rebind(_pending)
            _active = True
        if check_cache:
            ensure_compiled()


def _rebind(kernels: list[LazyKernel]) -> None:
    """Replace lazy kernels by their dispatchers in every loaded cxsim module."""
    compiled = {id(k): k._compiled for k in kernels}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "cxsim" or name.startswith("cxsim.")):
            continue
        space = vars(module)
        for attr, value in list(space.items()):
            if isinstance(value, LazyKernel) and id(value) in compiled:
                space[attr] = compiled[id(value)]


# -- once per machine -------------------------------------------------------------------

def kernel_modules() -> list[Path]:
    """Source files of the cxsim package that define kernels (their hash keys the stamp)."""
    here = Path(__file__).resolve().parents[1]
    return sorted(p for p in here.rglob("*.py") if p != Path(__file__).resolve() and _IMPORTS_KERNELS.search(p.read_text(encoding="utf-8")))


_IMPORTS_KERNELS = re.compile(r"^\s*from \.+(state\.)?kernels import", re.MULTILINE)
"""An import of this module by a module of cxsim (``from .kernels import``, ``from ..state.kernels import``)."""


def load_kernel_modules() -> None:
    """Import every module of :func:`kernel_modules`, so that all kernels (and the model's warm-up) are registered.

    Found by name on disk, as the fingerprint finds them: this base module does not
    depend on the modules above it, they register themselves when imported.
    """
    here = Path(__file__).resolve().parents[1]
    for path in kernel_modules():
        importlib.import_module(".".join(["cxsim", *path.relative_to(here).with_suffix("").parts]))


_workloads: list[Callable[[int], None]] = []


def register_warm_up(workload: Callable[[int], None]) -> Callable[[int], None]:
    """Declare ``workload(customers)``: runs that take every kernel through the paths a real run takes (see :func:`warm_up`)."""
    _workloads.append(workload)
    return workload


def _fingerprint() -> str:
    import numba

    from .. import __version__

    digest = hashlib.sha256(f"{__version__} numba {numba.__version__} {sys.version}".encode())
    for path in kernel_modules():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """The folder where numba caches cxsim's kernels (in-tree ``__pycache__``, ``$NUMBA_CACHE_DIR/…`` or a user folder)."""
    load_kernel_modules()
    activate(check_cache=False)
    for kernel in _pending:
        path = getattr(getattr(kernel._compiled, "_cache", None), "_cache_path", None)
        if path:
            return Path(path)
    return Path(os.environ.get("NUMBA_CACHE_DIR") or Path(__file__).parent / "__pycache__")


def stamp_path() -> Path:
    """The stamp that says this machine has compiled the current kernels."""
    return cache_dir() / f"cxsim-kernels-{_fingerprint()}.stamp"


def is_compiled() -> bool:
    """Whether this machine has compiled the current kernels (the stamp is there)."""
    return stamp_path().exists()


def ensure_compiled() -> None:
    """Compile every kernel once per machine, saying so on stderr; a no-op once the stamp is there."""
    global _checked
    with _lock:
        if _checked:
            return
        _checked = True
        import numba

        if numba.config.DISABLE_JIT:  # kernels run as Python: nothing to compile
            return
        try:
            stamp = stamp_path()
            if stamp.exists():
                return
            stamp.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock(stamp.with_suffix(".lock")):
                if not stamp.exists():  # another process may have compiled them meanwhile
                    _compile(stamp, quiet=False)
        except OSError as err:  # a read-only cache folder: numba compiles in memory as it goes
            print(f"cxsim: could not record the compiled kernels ({err})", file=sys.stderr)


def compile_all(quiet: bool = False) -> float:
    """Compile (or load from the cache) every kernel now and write the stamp; returns the seconds taken.

    Another process compiling at the same time is waited for (a file lock next to the stamp).
    """
    global _checked
    activate(check_cache=False)
    with _lock:
        _checked = True
        stamp = stamp_path()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(stamp.with_suffix(".lock")):
            return _compile(stamp, quiet)


def _compile(stamp: Path, quiet: bool) -> float:
    if not quiet:
        print(f"cxsim: compiling kernels, once per machine ({ESTIMATED}) …", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    warm_up()
    seconds = time.perf_counter() - t0
    stamp.write_text(f"kernels compiled in {seconds:.1f} s\n")
    if not quiet:
        print(f"cxsim: kernels compiled in {seconds:.0f} s", file=sys.stderr, flush=True)
    return seconds


def warm_up(customers: int = 1000) -> None:
    """Run the registered warm-up workloads (the model's: every built-in scenario and variant, :func:`cxsim.engine.model.warm_up`)."""
    load_kernel_modules()
    for workload in _workloads:
        workload(customers)


class _file_lock:
    """An advisory lock on ``path`` (POSIX ``flock``; elsewhere no lock)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        return False
