"""Encoder layers as the performance model's operations, from the compiler's command
lists on shapes alone (zero tensors, buffers as large as needed): what the model costs
is what the controller will run.

One head is compiled and its operations counted heads x sequences x batch times (the
heads of a layer have equal shapes); the output projection and the FFN run on the rows
of every sequence and input at once. Equal commands merge into one operation with a
count; a matmul's MACs count its reduction without the padding to whole vectors, its
cycles the padded vectors (`perf.model`).
"""

import functools

import numpy as np

from vsq_accel.golden.tile_weights import AttentionHead, FeedForward
from vsq_accel.perf.workloads import EncoderLayer, Matmul, SoftmaxRows
from vsq_accel.spec.commands import Matmul as MatmulCommand
from vsq_accel.spec.commands import Softmax as SoftmaxCommand
from vsq_accel.toolchain.compiler import (ShapeCalibration, compile_attention_head,
                                          compile_feed_forward, compile_linear)

__all__ = ["ATTENTION_OPS", "program_ops", "lower", "encoder_ops", "encoder_programs"]

# The attention matmuls, beside which the softmax unit works.
ATTENTION_OPS = ("scores", "P V")


def program_ops(commands, count=1):
    """The Matmul and SoftmaxRows operations of a command list, each `count` times."""
    matmuls, softmax = {}, {}
    for command in commands:
        if isinstance(command, MatmulCommand):
            key = (command.trace["op"], command.m, command.trace["reduction"], command.n)
            matmuls[key] = matmuls.get(key, 0) + count
        elif isinstance(command, SoftmaxCommand):
            key = (command.trace["op"], command.length)
            softmax[key] = softmax.get(key, 0) + count * command.rows
    return ([Matmul(op, m, k, n, times, attention=op in ATTENTION_OPS)
             for (op, m, k, n), times in matmuls.items()]
            + [SoftmaxRows(op, rows, length) for (op, length), rows in softmax.items()])


def lower(ops, config):
    """The operations of a group with its encoder layers lowered."""
    lowered = []
    for op in ops:
        lowered += encoder_ops(op, config) if isinstance(op, EncoderLayer) else [op]
    return lowered


@functools.cache
def encoder_ops(layer, config):
    return tuple(op for program, times in encoder_programs(layer, config)
                 for op in program_ops(program.commands, times))


@functools.cache
def encoder_programs(layer, config, format=None):
    """[(program, times it runs)] of an encoder layer, every matmul in `format` (the
    entries' own if None): one head's attention (heads x sequences x batch times), the
    output projection and the FFN on every row."""
    tokens, hidden, mlp = layer.tokens, layer.hidden, layer.mlp
    dk, rows = hidden // layer.heads, layer.batch * layer.sequences * tokens
    calibration, zeros = ShapeCalibration(config), np.zeros
    policy = None if format is None else {"default": format}
    head = AttentionHead(zeros((hidden, dk)), zeros((hidden, dk)), zeros((hidden, dk)),
                         zeros(dk), zeros(dk), zeros(dk))
    attention = compile_attention_head(zeros((tokens, hidden)), head, config, calibration,
                                       bounded=False, formats=policy)
    concat = layer.heads * -(-dk // config.vector_size) * config.vector_size
    output = compile_linear(zeros((rows, concat)), zeros((concat, hidden)), None, config,
                            calibration, "output projection", bounded=False, reduction=hidden,
                            format=format)
    ffn = compile_feed_forward(zeros((rows, hidden)), FeedForward(
        zeros((hidden, mlp)), zeros(mlp), zeros((mlp, hidden)), zeros(hidden)), config,
        calibration, bounded=False, formats=policy)
    return ((attention, layer.heads * layer.sequences * layer.batch), (output, 1), (ffn, 1))
