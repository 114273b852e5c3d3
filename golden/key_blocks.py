"""Rows longer than the softmax unit takes, in blocks of keys.

One pass (the hardware's schedule): for each block of keys, S is computed once; loop 1
continues each row's running max m and sum d over the block; loop 2 forms the block's
exponentials 2^(x - m) against the max so far; and P V's partial sums, kept in the
array's accumulators, first move to the new max: each row is divided by 2^(m_now -
m_before), rounded half up (`rescale_rows`), since the max is a whole number of base-2
units. After the last block the PPU divides each row by d. A row that fits one block
has the bits of the whole-row softmax.

`two_passes`, for comparison: loop 1 over every block of keys first, then the
exponentials against the row's final max and P V accumulated without a rescale; it
computes S twice on the array.
"""

import math

import numpy as np

from vsq_accel.golden.ppu_params import exponentials_to_operand
from vsq_accel.golden.softmax import softmax_exponentials, softmax_loop1, softmax_start
from vsq_accel.golden.vsq_matmul import rescale_rows, vsq_matmul

__all__ = ["keys_per_block", "softmax_in_blocks", "one_pass", "two_passes"]


def keys_per_block(tokens, config):
    """Keys per block of S: all of them when a row fits the softmax, else the most that
    fit and are whole softmax beats and whole vectors (the bits depend on the beats).
    Raises ValueError for rows longer than the running sum holds."""
    if tokens <= config.softmax_max_row:
        return tokens
    if tokens > config.softmax_max_keys:
        raise ValueError(f"rows of {tokens} keys are longer than softmax_max_keys="
                         f"{config.softmax_max_keys}, the longest the running sum holds")
    step = math.lcm(config.softmax_lanes, config.vector_size)     # <= softmax_max_row
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


def one_pass(logits_of, blocks, key_block, values, state, config):
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


def two_passes(logits_of, blocks, key_block, values, state, config):
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
