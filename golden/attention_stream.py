"""One attention head over many tokens without the n x n score matrix.

The two-pass schedule of the hardware for rows longer than the softmax unit's buffer:
for each block of queries, loop 1 of the softmax runs over the keys block by block (S
recomputed per block on the array), then loop 2 goes over each S block again, forms its
exponentials and accumulates them times V into the accumulators the array keeps across
key blocks; the PPU divides the rows by the softmax denominator at the end. Working memory grows with query_block x key_block, never with n x n. With key
blocks a whole number of softmax beats and of vectors, the bits are those of
`attention_head_program`; rows need not fit softmax_max_row, since the logits are
recomputed instead of buffered.
"""

import math

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.ppu_params import exponentials_to_operand
from vsq_accel.golden.softmax import softmax_exponentials, softmax_loop1, softmax_start
from vsq_accel.golden.tile_program import Trace, head_operands, normalized_output, score_logits
from vsq_accel.golden.tile_weights import tile_input
from vsq_accel.golden.vsq_matmul import vsq_matmul

__all__ = ["attention_head_streamed"]


def attention_head_streamed(x, head, config, calibration, query_block=1024, key_block=2048):
    """O of one head as PPU integers and their unit, like attention_head_program."""
    x = tile_input("sa", x, head, config)
    arguments.integer("query_block", query_block, 1, 2 ** 31)
    arguments.integer("key_block", key_block, 1, 2 ** 31)
    step = math.lcm(config.softmax_lanes, config.vector_size)
    if key_block % step:
        raise ValueError(f"key_block={key_block} must be a multiple of {step}, the softmax "
                         f"width and the vector size")
    scratch = Trace()
    operands = head_operands(x, head, config, calibration, scratch)
    del scratch.entries[:]                       # the projections' trace is not kept
    queries, keys, values = operands["q"], operands["k"], operands["v"]
    tokens = len(keys.values)
    outputs, unit = [], None
    for first in range(0, len(queries.values), query_block):
        rows = slice(first, first + query_block)
        q_block = _take_rows(queries, rows)

        # Loop 1 over the key blocks; the logits of this block of queries are kept
        # (query_block x n, int16) so that loop 2 need not recompute them as the array does.
        row_max, row_sum = softmax_start(len(q_block.values), config)
        logits = []
        for start in range(0, tokens, key_block):
            key_rows = _take_rows(keys, slice(start, start + key_block))
            block = score_logits(vsq_matmul(q_block, key_rows, config),
                                 {"q": q_block, "k": key_rows}, head.dk, config)
            keep = np.ones(block.shape, bool)
            row_max, row_sum = softmax_loop1(block, keep, row_max, row_sum, config)
            logits.append(block.astype(np.int16))   # softmax_logit_bits <= 16
        acc = None
        for start, block in zip(range(0, tokens, key_block), logits):
            exponentials = softmax_exponentials(block.astype(np.int64),
                                                np.ones(block.shape, bool), row_max, config)
            e_op = exponentials_to_operand(exponentials, config)
            acc = vsq_matmul(e_op, values.take_columns(start, start + key_block), config, acc)
        y, unit = normalized_output(acc, e_op, values, row_sum, "o", calibration, config,
                                    scratch)
        outputs.append(y)
    return np.concatenate(outputs), unit


def _take_rows(q, rows):
    return type(q)(q.values[rows], None if q.scales is None else q.scales[rows],
                   q.gamma[rows], q.vector_size, q.columns)
