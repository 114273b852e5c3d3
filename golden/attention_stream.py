"""One attention head over many tokens without the n x n score matrix: in blocks of
queries, and of keys (`golden.key_blocks`: one pass, or two for comparison), each block
of S computed when its turn comes. Its bits are `attention_head_program`'s."""

import math

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.key_blocks import keys_per_block, one_pass, two_passes
from vsq_accel.golden.softmax import softmax_start
from vsq_accel.golden.tile_program import Trace, head_operands, normalized_output, score_logits
from vsq_accel.golden.tile_weights import tile_input
from vsq_accel.golden.vsq_matmul import vsq_matmul

__all__ = ["attention_head_streamed"]


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

        schedule = one_pass if passes == 1 else two_passes
        acc, e_op, row_sum = schedule(logits_of, blocks, key_block, values,
                                      softmax_start(len(q_block.values), config), config)
        y, unit = normalized_output(acc, e_op, values, row_sum, "o", calibration, config,
                                    scratch)
        outputs.append(y)
    return np.concatenate(outputs), unit


def _take_rows(q, rows):
    return type(q)(q.values[rows], None if q.scales is None else q.scales[rows],
                   q.gamma[rows], q.vector_size, q.columns)
