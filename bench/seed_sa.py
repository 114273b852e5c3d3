"""The seed's self-attention head at full scale: n = 25000 tokens, d_model = 512, dk = 64.

The bit-exact integer head (`golden.attention_stream`, default INT4-VSQ configuration)
runs in one pass over blocks of keys and never holds the n x n scores; beside it, in the
same run, a float32 numpy head computed over query blocks, both on every core.
Reported: both times and their ratio, the integer head's peak traced memory (numpy
allocations included; measured on a second run, since tracing slows allocations)
against the n x n int64 score matrix it avoids, and its error against the float32
head. A small head runs first, so that the compiled kernels are loaded before the clock
starts. Then the compiler's program for the same head (buffers as large as the
configuration allows) runs in the interpreter, and its output must equal the streamed
head's bit for bit.
"""

import dataclasses
import os
import time
import tracemalloc

import numpy as np

from vsq_accel.golden.attention_stream import attention_head_streamed
from vsq_accel.golden.tile_program import Calibration
from vsq_accel.golden.tile_weights import random_attention_head
from vsq_accel.spec.config import BUFFER_SIZE_KEYS, AcceleratorConfig
from vsq_accel.toolchain.compiler import compile_attention_head
from vsq_accel.toolchain.interpreter import run_program

SEED = 20261126
TOKENS = int(os.environ.get("SEED_SA_TOKENS", "25000"))
D_MODEL, DK = 512, 64
QUERY_BLOCK = 1024
# The largest buffers a configuration takes: the whole head's tensors fit them.
LARGEST_BUFFERS = {key: 1 << 20 for key in BUFFER_SIZE_KEYS}


def float32_head(x, head):
    """softmax(Q K^T / sqrt(dk)) V in float32, a block of queries at a time."""
    x = x.astype(np.float32)
    q, k, v = (x @ w.astype(np.float32) + b.astype(np.float32)
               for w, b in ((head.wq, head.bq), (head.wk, head.bk), (head.wv, head.bv)))
    out = np.empty((len(x), v.shape[1]), np.float32)
    scale = np.float32(1 / np.sqrt(head.dk))
    for first in range(0, len(x), QUERY_BLOCK):
        scores = (q[first:first + QUERY_BLOCK] @ k.T) * scale
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        out[first:first + QUERY_BLOCK] = scores @ v
    return out, {"q": q, "k": k, "v": v, "o": out}


def run():
    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(TOKENS, D_MODEL))
    head = random_attention_head(rng, D_MODEL, DK)

    start = time.perf_counter()
    reference, tensors = float32_head(x, head)
    float_seconds = time.perf_counter() - start

    calibration = Calibration(tensors, config)

    def integer_head(tokens=TOKENS):
        return attention_head_streamed(x[:tokens], head, config, calibration, QUERY_BLOCK)

    integer_head(256)                                        # warm-up
    start = time.perf_counter()
    y, unit = integer_head()
    int_seconds = time.perf_counter() - start
    tracemalloc.start()
    integer_head()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    error = np.linalg.norm(y * unit - reference) / np.linalg.norm(reference)
    results = {"tokens": TOKENS, "d_model": D_MODEL, "dk": DK, "config": config.format_name,
               "float32_seconds": float_seconds, "integer_seconds": int_seconds,
               "time_ratio_vs_float32": int_seconds / float_seconds,
               "peak_mem_bytes": peak, "scores_int64_bytes": TOKENS * TOKENS * 8,
               "rel_rms_err_vs_float32": float(error)}
    return results | _interpreted(x, head, calibration, y, unit)


def _interpreted(x, head, calibration, streamed, unit):
    """The compiled program in the interpreter, against the streamed head."""
    config = dataclasses.replace(AcceleratorConfig(), **LARGEST_BUFFERS)
    start = time.perf_counter()
    program = compile_attention_head(x, head, config, calibration)
    output, _ = run_program(program, config)
    if not (np.array_equal(output, streamed) and program.unit == unit):
        raise AssertionError("the interpreted program differs from the streamed head")
    return {"interpreter_commands": len(program.commands),
            "interpreter_seconds": time.perf_counter() - start}
