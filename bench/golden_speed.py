"""Speed of the bit-exact golden model beside float32 numpy, in one run, on the same
shapes and the same number of threads (one, then every core).

Matmuls: ViT-Small's shapes (257 tokens; K = 384 for the projections, 1536 for the
FFN's second layer), GMAC/s of `vsq_matmul` per format and of float32 `@`, and their
ratio (goal: at most 3). Softmax: 1024 rows of 4096 logits (n = 4096 attention), loop 1
and the exponentials (`softmax_loop1`, `softmax_exponentials`) and the exponentials'
requantization to the P V operand, against a float32 softmax of the same rows. Every
figure is the best of several repeats after a warm-up (the kernels compile once per
machine and are cached), the steps compared taking turns, so that a slower moment of a
shared machine weighs on both sides of a ratio.
"""

import contextlib
import os
import time

import numpy as np
import threadpoolctl

from vsq_accel.golden.ppu_params import exponentials_to_operand
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.softmax import softmax_exponentials, softmax_loop1, softmax_start
from vsq_accel.golden.vsq_matmul import vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig

SEED = 20261202
FORMATS = {
    "int4_pc": AcceleratorConfig(vector_scales=False),
    "int4_vsq8": AcceleratorConfig(),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False),
}
SHAPES = [(257, 384, 384), (257, 1536, 384)]
SOFTMAX_ROWS, SOFTMAX_LENGTH = 1024, 4096
REPEATS = 9


def best_seconds(steps, repeats=REPEATS):
    """{name: the best time of step()} over `repeats` rounds in which the steps take
    turns, after one warm-up round (compiling or loading the kernels)."""
    best = dict.fromkeys(steps, float("inf"))
    for round_ in range(repeats + 1):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if round_:
                best[name] = min(best[name], time.perf_counter() - start)
    return best


@contextlib.contextmanager
def threads(count):
    """The golden model (GOLDEN_THREADS) and numpy's BLAS both on `count` threads."""
    saved = os.environ.get("GOLDEN_THREADS")
    os.environ["GOLDEN_THREADS"] = str(count)
    try:
        with threadpoolctl.threadpool_limits(count, user_api="blas"):
            yield
    finally:
        if saved is None:
            del os.environ["GOLDEN_THREADS"]
        else:
            os.environ["GOLDEN_THREADS"] = saved


def matmul_figures(rng, suffix):
    figures = {}
    for m, k, n in SHAPES:
        x, w = rng.normal(size=(m, k)), rng.normal(size=(k, n))
        shape = f"{m}x{k}x{n}"
        x32, w32 = x.astype(np.float32), w.astype(np.float32)
        steps = {"float32": lambda: x32 @ w32}
        for name, config in FORMATS.items():
            operands = quantize(x, config), quantize(w.T, config, per_row=True), config
            steps[name] = lambda operands=operands: vsq_matmul(*operands)
        seconds = best_seconds(steps)
        for name in steps:
            figures[f"{name}_gmacs_{shape}{suffix}"] = m * k * n / seconds[name] / 1e9
            if name != "float32":
                figures[f"{name}_ratio_{shape}{suffix}"] = seconds[name] / seconds["float32"]
    return figures


def float32_softmax(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    return scores / scores.sum(axis=1, keepdims=True)


def softmax_figures(rng, suffix):
    config = AcceleratorConfig()
    logits = rng.integers(config.softmax_logit_min, config.softmax_logit_max + 1,
                          (SOFTMAX_ROWS, SOFTMAX_LENGTH))
    keep = np.ones(logits.shape, bool)
    scores = (logits / 2 ** config.softmax_frac_bits).astype(np.float32)

    def loop1():
        return softmax_loop1(logits, keep, *softmax_start(SOFTMAX_ROWS, config), config)

    row_max, _ = loop1()
    exponentials = softmax_exponentials(logits, keep, row_max, config)
    seconds = best_seconds({
        "float32": lambda: float32_softmax(scores),
        "loop1": loop1,
        "exponentials": lambda: softmax_exponentials(logits, keep, row_max, config),
        "requantize": lambda: exponentials_to_operand(exponentials, config),
    })
    figures = {f"softmax_{step}_seconds{suffix}": value for step, value in seconds.items()}
    integer_seconds = sum(seconds.values()) - seconds["float32"]
    figures[f"softmax_ratio{suffix}"] = integer_seconds / seconds["float32"]
    return figures


def run():
    cores = len(os.sched_getaffinity(0))
    figures = {"cores": cores, "softmax_shape": f"{SOFTMAX_ROWS}x{SOFTMAX_LENGTH}"}
    for count in sorted({1, cores}):
        suffix = "_1_thread" if count == 1 else f"_{count}_threads"
        rng = np.random.default_rng(SEED)
        with threads(count):
            figures.update(matmul_figures(rng, suffix))
            figures.update(softmax_figures(rng, suffix))
    return figures
