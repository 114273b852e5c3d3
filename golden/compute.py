"""How the golden model computes: from what size with its compiled kernels, and on how
many threads.

The kernels (numba) give the same bits as the numpy paths, faster on large inputs; but
numba's import and first call cost about a second per process, and in the suite, where
every cocotb simulation computes its expected values in a process of its own, they
slowed the simulations by half. So a kernel runs only on inputs of at least
COMPILED_FROM operations, and its module (with numba) is imported on first use.

Threads: GOLDEN_THREADS in the environment, else the machine's cores shared among the
test runner's workers (pytest-xdist's PYTEST_XDIST_WORKER_COUNT), so that neither BLAS
(whose own default is every core, in every worker) nor the kernels run more threads
than there are cores: oversubscribed, the same calls ran 10-140x slower.
"""

import contextlib
import functools
import os

import threadpoolctl

__all__ = ["COMPILED_FROM", "compiled", "thread_count", "blas_threads", "kernel_threads"]

COMPILED_FROM = 1 << 20


def compiled(operations):
    """Whether a step of this many operations (MACs, elements) runs its kernel."""
    return operations >= COMPILED_FROM


def thread_count():
    """GOLDEN_THREADS, or the cores (those this process may use) per test worker."""
    chosen = os.environ.get("GOLDEN_THREADS")
    if chosen is not None:
        if not chosen.isdigit() or int(chosen) < 1:
            raise ValueError(f"GOLDEN_THREADS={chosen!r} must be a whole number of at least 1")
        return int(chosen)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    return max(1, len(os.sched_getaffinity(0)) // max(workers, 1))


@functools.cache
def _blas():
    return threadpoolctl.ThreadpoolController()


@contextlib.contextmanager
def blas_threads():
    """BLAS on `thread_count()` threads inside the block."""
    with _blas().limit(limits=thread_count(), user_api="blas"):
        yield


def kernel_threads():
    """Set the numba kernels' threads to `thread_count()` (at most numba's pool)."""
    import numba  # only where a kernel runs: see the module's docstring

    numba.set_num_threads(min(thread_count(), numba.config.NUMBA_NUM_THREADS))
