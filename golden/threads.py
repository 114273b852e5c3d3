"""How many threads the golden model computes with, and keeping BLAS and the compiled
kernels to that number.

GOLDEN_THREADS in the environment sets it. Otherwise it is the machine's cores shared
among the test runner's workers (pytest-xdist's PYTEST_XDIST_WORKER_COUNT), so that
neither BLAS (whose own default is every core, in every worker) nor the kernels run
more threads than there are cores: oversubscribed, the same calls ran 10-140x slower.
"""

import contextlib
import functools
import os

import numba
import threadpoolctl

__all__ = ["thread_count", "limited_threads"]


def thread_count():
    """GOLDEN_THREADS, or the cores (those this process may use) per test worker."""
    chosen = os.environ.get("GOLDEN_THREADS")
    if chosen is not None:
        if not chosen.isdigit() or int(chosen) < 1:
            raise ValueError(f"GOLDEN_THREADS={chosen!r} must be a whole number of at least 1")
        return min(int(chosen), numba.config.NUMBA_NUM_THREADS)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores // max(workers, 1), numba.config.NUMBA_NUM_THREADS))


@functools.cache
def _blas():
    return threadpoolctl.ThreadpoolController()


@contextlib.contextmanager
def limited_threads():
    """BLAS and the numba kernels on `thread_count()` threads inside the block."""
    threads = thread_count()
    numba.set_num_threads(threads)
    with _blas().limit(limits=threads, user_api="blas"):
        yield threads
