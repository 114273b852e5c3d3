"""One attention head over many tokens without the n x n score matrix.

Rows longer than the softmax unit takes run in blocks of keys, in one pass (the
hardware's schedule): for each block of queries and each block of keys, S is computed
once; loop 1 continues each row's running max m and sum d over the block; loop 2 forms
the block's exponentials 2^(x - m) against the max so far; and P V's partial sums, kept
in the array's accumulators, first move to the new max: each row is divided by 2^(m_now
- m_before), rounded half up (`rescale_rows`), since the max is a whole number of base-2
units. After the last block the PPU divides each row by d. A row that fits one block has
the bits of `attention_head_program`.

`passes=2` runs the other schedule, for comparison: loop 1 over every block of keys
first, then the exponentials against the row's final max and P V accumulated without a
rescale; it computes S twice on the array.
"""

import math

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.ppu_params import exponentials_to_operand
from vsq_accel.golden.softmax import softmax_exponentials, softmax_loop1, softmax_start
from vsq_accel.golden.tile_program import Trace, head_operands, normalized_output, score_logits
from vsq_accel.golden.tile_weights import tile_input
from vsq_accel.golden.vsq_matmul import rescale_rows, vsq_matmul

__all__ = ["attention_head_streamed", "keys_per_block", "softmax_in_blocks"]


def keys_per_block(tokens, config):
    """Keys per block of S: all of them when a row fits the softmax, else the most that
    fit and are whole softmax beats and whole vectors (the bits depend on the beats).
    Raises ValueError when no such block fits."""
    if tokens <= config.softmax_max_row:
        return tokens
    if tokens > config.softmax_max_keys:
        raise ValueError(f"rows of {tokens} keys are longer than softmax_max_keys="
                         f"{config.softmax_max_keys}, the longest the running sum holds")
    step = math.lcm(config.softmax_lanes, config.vector_size)
    if step > config.softmax_max_row:
        raise ValueError(f"rows of {tokens} keys are longer than softmax_max_row="
                         f"{config.softmax_max_row}, and a block of them must be whole "
                         f"beats of {config.softmax_lanes} and vectors of "
                         f"{config.vector_size}: at least {step} keys")
    return config.softmax_max_row // step * step


def softmax_in_blocks(logits, keep, config, passes=1):
    """Loops 1 and 2 of one-pass attention over whole rows of logits (R x n), in blocks
    of `keys_per_block`: (the exponentials, R x n, each block's against the max after
    it; the final max and sum; the rises, blocks x R: by how much each block raised its
    rows' max, at most acc_bits, 0 for the first; the block's width). `passes=2`: every
    block's exponentials against the final max, and no rises."""
    rows, length = logits.shape
    width = keys_per_block(length, config)
    blocks = [slice(start, start + width) for start in range(0, length, width)]
    row_max, row_sum = softmax_start(rows, config)
    exponentials, rises = [], []
    for block in blocks:
        before = row_max
        row_max, row_sum = softmax_loop1(logits[:, block], keep[:, block], row_max, row_sum,
                                         config)
        rises.append(np.minimum(row_max - before, config.acc_bits) if block.start
                     and passes == 1 else np.zeros(rows, np.int64))
        if passes == 1:
            exponentials.append(softmax_exponentials(logits[:, block], keep[:, block],
                                                     row_max, config))
    if passes == 2:
        exponentials = [softmax_exponentials(logits[:, block], keep[:, block], row_max,
                                             config) for block in blocks]
    return (np.concatenate(exponentials, axis=1), row_max, row_sum, np.array(rises),
            width)


def attention_head_streamed(x, head, config, calibration, query_block=1024, key_block=None,
                            passes=1):
    """O of one head as PPU integers and their unit, like attention_head_program, in
    blocks of queries and of keys (default: the compiler's, `keys_per_block`)."""
    x = tile_input("sa", x, head, config)
    arguments.integer("query_block", query_block, 1, 2 ** 31)
    if passes not in (1, 2):
        raise ValueError(f"passes={passes!r} must be 1 or 2")
    if key_block is None:
        key_block = keys_per_block(len(x), config)
    arguments.integer("key_block", key_block, 1, 2 ** 31)
    step = math.lcm(config.softmax_lanes, config.vector_size)
    if key_block % step and key_block < len(x):
        raise ValueError(f"key_block={key_block} must be a multiple of {step}, the softmax "
                         f"width and the vector size")
    scratch = Trace()
    operands = head_operands(x, head, config, calibration, scratch)
    del scratch.entries[:]                       # the projections' trace is not kept
    queries, keys, values = operands["q"], operands["k"], operands["v"]
    blocks = range(0, len(keys.values), key_block)
    outputs, unit = [], None
    for first in range(0, len(queries.values), query_block):
        q_block = _take_rows(queries, slice(first, first + query_block))

        def logits_of(start):
            key_rows = _take_rows(keys, slice(start, start + key_block))
            return score_logits(vsq_matmul(q_block, key_rows, config),
                                {"q": q_block, "k": key_rows}, head.dk, config)

        schedule = _one_pass if passes == 1 else _two_passes
        acc, e_op, row_sum = schedule(logits_of, blocks, key_block, values,
                                      softmax_start(len(q_block.values), config), config)
        y, unit = normalized_output(acc, e_op, values, row_sum, "o", calibration, config,
                                    scratch)
        outputs.append(y)
    return np.concatenate(outputs), unit


def _one_pass(logits_of, blocks, key_block, values, state, config):
    """(P V's accumulators, the last block's exponentials as an operand, d) of a block of
    queries: each block of keys once, the partial sums rescaled as the max rises."""
    row_max, row_sum = state
    acc = None
    for start in blocks:
        logits = logits_of(start)
        keep = np.ones(logits.shape, bool)
        before = row_max
        row_max, row_sum = softmax_loop1(logits, keep, row_max, row_sum, config)
        e_op = exponentials_to_operand(softmax_exponentials(logits, keep, row_max, config),
                                       config)
        if acc is not None:
            acc = rescale_rows(acc, row_max - before, config)
        acc = vsq_matmul(e_op, values.take_columns(start, start + key_block), config, acc)
    return acc, e_op, row_sum


def _two_passes(logits_of, blocks, key_block, values, state, config):
    """The same from loop 1 over every block first, then the exponentials against the
    final max; the logits are kept (queries x n, int16) rather than computed again."""
    row_max, row_sum = state
    logits = []
    for start in blocks:
        block = logits_of(start)
        row_max, row_sum = softmax_loop1(block, np.ones(block.shape, bool), row_max,
                                         row_sum, config)
        logits.append(block.astype(np.int16))   # softmax_logit_bits <= 16
    acc = None
    for start, block in zip(blocks, logits):
        exponentials = softmax_exponentials(block.astype(np.int64),
                                            np.ones(block.shape, bool), row_max, config)
        e_op = exponentials_to_operand(exponentials, config)
        acc = vsq_matmul(e_op, values.take_columns(start, start + key_block), config, acc)
    return acc, e_op, row_sum


def _take_rows(q, rows):
    return type(q)(q.values[rows], None if q.scales is None else q.scales[rows],
                   q.gamma[rows], q.vector_size, q.columns)
