"""The integer program of the encoder tiles, written out directly: the reference that the
compiled command lists (`toolchain.compiler`, run by `toolchain.interpreter`) are held to, bit
for bit (`toolchain.tile_run` runs a tile the compiled way).

Every matmul runs on the MAC array in the configuration's format (INT4-VSQ, INT4 or INT8
with per-tensor activation and per-channel weight scales) and leaves it through the PPU:

| step | left operand, vectors along K | right operand B^T | K | PPU output |
|---|---|---|---|---|
| Q, K, V = X W + b | X, quantized on the host | W^T, per output channel | d_model | y; requantized: Q, K with vectors along dk, V with vectors along the tokens |
| S = Q K^T | Q | K | dk | base-2 logits (softmax_logit_bits), log2(e)/sqrt(dk) folded into the scale |
| softmax(S) | (softmax unit, loop 1; loop 2 without its multiply) | | | per row m, d, r = floor(2^k / d); E = 2^(x - m), 14 fraction bits |
| O = softmax(S) V | E, requantized with vectors along the keys | V^T | n | y, each row times r: the division by d comes after P V |
| MHSA | concat of the heads' O, requantized along h*dv | Wo^T | h*dv | y + bo |
| FFN | X | W1^T | d_model | ReLU(y + b1), requantized along d_ff |
|  | hidden | W2^T | d_ff | y + b2 |

So the array keeps one format for the whole tile: the only conversions are the PPU's
requantizations. The softmax is normalized after P V, not before: probabilities of a
long row (1/n each for diffuse attention) fall below Q0.7's step and would all be 0,
while the exponentials relative to the row max keep E fraction bits, and their
per-vector scales cover each vector's own range. The softmax unit's reciprocal then
scales O's rows in the PPU. The output leaves as y and its unit (LayerNorm and residuals are on the
host). Per-tensor units and coarse scales are calibrated on the float model with the
hardware's substitutions, run on the same input.
"""

import dataclasses

import numpy as np

from vsq_accel.golden import tile_float
from vsq_accel.golden.gelu import gelu_unit
from vsq_accel.golden.key_blocks import keys_per_block, one_pass
from vsq_accel.golden.ppu_params import (exponentials_to_operand, requantize, requantize_float,
                                         scale_columns, to_logits)
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.softmax import (softmax_exponentials, softmax_loop1, softmax_reciprocal,
                                      softmax_start)
from vsq_accel.golden.tile_weights import pad_heads, tile_input
from vsq_accel.golden.trace import Trace
from vsq_accel.golden.vsq_matmul import accumulator_unit, vsq_matmul
from vsq_accel.spec.precision import format_config, layer_formats

__all__ = ["Calibration", "Trace", "TILES", "calibrate", "attention_head_program",
           "head_operands", "score_logits", "ppu_output", "normalized_output",
           "multi_head_program", "feed_forward_program"]


class Calibration:
    """Per-tensor scales from a float run: the PPU's output unit (the largest magnitude
    fills ppu_bits) and the coarse scale of a requantized operand."""

    def __init__(self, tensors, config):
        self._peaks = {name: float(np.abs(value).max()) for name, value in tensors.items()}
        self._config = config

    def unit(self, name):
        return self._peak(name) / ((1 << (self._config.ppu_bits - 1)) - 1)

    def gamma(self, name, operands=None):
        """The coarse scale of tensor `name` as an operand in the format of `operands`
        (a configuration; this calibration's if None)."""
        return self._peak(name) / (operands or self._config).operand_levels

    def _peak(self, name):
        """The largest magnitude; 1 for an all-zero tensor, which any scale keeps zero."""
        return self._peaks[name] or 1.0


def _record_operand(trace, name, operand, config):
    trace.add(f"{name}.values", operand.values, f"{config.format_name} values")
    if operand.scales is not None:
        trace.add(f"{name}.scales", operand.scales, f"unsigned {config.scale_bits}-bit "
                  "per-vector scales")


def _linear(x_q, w, bias, relu, name, calibration, config, trace, gelu=False):
    """y = PPU(x_q @ W + b) in the calibrated unit of tensor `name`; W is quantized per
    output channel, as weights are offline."""
    return _matmul(x_q, quantize(w.T, config, per_row=True), bias, relu, name, calibration,
                   config, trace, gelu)


def _matmul(left, right_t, bias, relu, name, calibration, config, trace, gelu=False):
    """y = PPU(left @ right + bias): returns y and its unit."""
    acc = vsq_matmul(left, right_t, config)
    return ppu_output(acc, left, right_t, bias, relu, name, calibration, config, trace,
                      gelu=gelu)


def ppu_output(acc, left, right_t, bias, relu, name, calibration, config, trace,
               row_factor=None, gelu=False):
    """The PPU on the accumulators of left @ right: y in the calibrated unit of `name`
    (row_factor: see `scale_columns`); with `gelu`, GELU(y) in the power of two above
    that unit (`golden.gelu.gelu_unit`)."""
    unit, shift = calibration.unit(name), None
    if gelu:
        unit, shift = gelu_unit(unit)
    column_units = accumulator_unit(left.gamma[:1], right_t.gamma, config)[0]   # A per tensor
    y, _ = scale_columns(acc, column_units, unit, bias, relu, config, row_factor, shift)
    trace.add(f"{name}.acc", acc, f"signed {config.acc_bits}-bit accumulators")
    trace.add(name, y, f"signed {config.ppu_bits}-bit PPU output", unit)
    return y, unit


def attention_head_program(x, head, config, calibration, trace, prefix="", formats=None,
                           layer=0):
    """One head: returns O as PPU integers and their unit. Rows longer than the softmax
    unit takes run in blocks of keys, in one pass (`golden.key_blocks`). `formats`: a
    precision policy (`spec.precision.policy_for`): the projections in the format of
    "qkv" in layer `layer`, Q K^T in that of "scores", P V (the exponentials and V) in
    that of "pv"."""
    operands = head_operands(x, head, config, calibration, trace, prefix, formats, layer)
    places = _formats(formats, config, layer)
    scores, mix = places["scores"], places["pv"]
    acc = vsq_matmul(operands["q"], operands["k"], scores)
    logits = score_logits(acc, operands, head.dk, scores)
    trace.add(f"{prefix}s.acc", acc, f"signed {config.acc_bits}-bit accumulators")
    trace.add(f"{prefix}logits", logits,
              f"{config.softmax_logit_bits}-bit base-2 logits, "
              f"{config.softmax_frac_bits} fraction bits")
    tokens = logits.shape[1]
    key_block = keys_per_block(tokens, config)
    if key_block < tokens:
        acc, e_op, row_sum = one_pass(lambda start: logits[:, start:start + key_block],
                                      range(0, tokens, key_block), key_block, operands["v"],
                                      softmax_start(len(logits), config), mix)
        return normalized_output(acc, e_op, operands["v"], row_sum, prefix + "o",
                                 calibration, mix, trace)
    keep = np.ones(logits.shape, bool)
    row_max, row_sum = softmax_loop1(logits, keep, *softmax_start(len(logits), config),
                                     config)
    exponentials = softmax_exponentials(logits, keep, row_max, config)
    trace.add(f"{prefix}row_max", row_max, "softmax running max, whole units")
    trace.add(f"{prefix}row_sum", row_sum,
              f"softmax denominator, {config.softmax_exp_bits} fraction bits")
    trace.add(f"{prefix}exponentials", exponentials,
              f"2^(x - m), {config.softmax_exp_bits} fraction bits")
    e_op = exponentials_to_operand(exponentials, mix)
    _record_operand(trace, f"{prefix}e_op", e_op, mix)
    acc = vsq_matmul(e_op, operands["v"], mix)
    return normalized_output(acc, e_op, operands["v"], row_sum, prefix + "o", calibration,
                             mix, trace)


def normalized_output(acc, e_op, v_op, row_sum, name, calibration, config, trace):
    """The PPU on P V's accumulators (in the format of `config`), each row divided by
    its softmax denominator: 1 / d (E fraction bits) ~ r * 2^(E - k) with
    r = floor(2^k / d)."""
    reciprocal = softmax_reciprocal(row_sum, config)
    trace.add(f"{name}.reciprocal", reciprocal,
              f"floor(2^{config.softmax_recip_shift} / d), {config.softmax_recip_bits} bits")
    row_shift = config.softmax_recip_shift - config.softmax_exp_bits
    return ppu_output(acc, e_op, v_op, None, False, name, calibration, config, trace,
                      (reciprocal, row_shift))


def head_operands(x, head, config, calibration, trace, prefix="", formats=None, layer=0):
    """The projections of one head as array operands (in the formats of `formats`, as
    `attention_head_program`): Q and K with vectors along dk, in the format of the
    scores; V^T with vectors along the tokens, in P V's."""
    places = _formats(formats, config, layer)
    x_q = quantize(x, places["qkv"])
    _record_operand(trace, f"{prefix}x", x_q, places["qkv"])
    operands = {}
    for name, w, b in (("q", head.wq, head.bq), ("k", head.wk, head.bk),
                       ("v", head.wv, head.bv)):
        y, unit = _linear(x_q, w, b, False, prefix + name, calibration, places["qkv"], trace)
        result = places["pv" if name == "v" else "scores"]
        operands[name] = requantize(y.T if name == "v" else y, unit,
                                    calibration.gamma(prefix + name, result), result)
        _record_operand(trace, f"{prefix}{name}_op", operands[name], result)
    return operands


def _formats(formats, config, layer):
    """The configuration of each matmul of layer `layer` (`spec.precision.layer_formats`)."""
    return {op: format_config(config, name)
            for op, name in layer_formats(formats, config, layer).items()}


def score_logits(acc, operands, dk, config):
    """S's accumulators as softmax logits: log2(e)/sqrt(dk) folded into the PPU scale."""
    q, k = operands["q"], operands["k"]
    acc_unit = float(accumulator_unit(q.gamma[:1], k.gamma[:1], config)[0, 0])   # per tensor
    return to_logits(acc, acc_unit, np.log2(np.e) / np.sqrt(dk), config)


def multi_head_program(x, mha, config, calibration, trace, formats=None, layer=0):
    """h heads, concatenated, times Wo + bo: returns y and its unit. `formats`: as
    `attention_head_program`'s, and Wo and the concatenation in the format of "wo"."""
    heads = [attention_head_program(x, head, config, calibration, trace, f"head{index}.",
                                    formats, layer)
             for index, head in enumerate(mha.heads)]
    wo_config = _formats(formats, config, layer)["wo"]
    # Each head's requantization brings its O to the concatenation's coarse scale.
    gamma = calibration.gamma("concat", wo_config)
    concat = _concatenate([requantize(y, unit, gamma, wo_config) for y, unit in heads])
    _record_operand(trace, "concat_op", concat, wo_config)
    wo = pad_heads(mha.wo, len(mha.heads), config)
    return _linear(concat, wo, mha.bo, False, "out", calibration, wo_config, trace)


def feed_forward_program(x, ffn, config, calibration, trace, activation=None, formats=None,
                         layer=0):
    """ReLU(X W1 + b1) requantized, times W2 + b2: returns y and its unit. With
    activation "gelu" the PPU's GELU instead of the ReLU (`golden.gelu`); with a function
    (a float GELU, say) X W1 + b1 goes to the host as y, which applies it in float and
    quantizes the result (`requantize_float`) for W2. `formats`: a precision policy
    (`spec.precision.policy_for`): W1 and X in the format of "ffn1" in layer `layer`,
    W2 and the hidden layer in that of "ffn2"."""
    places = _formats(formats, config, layer)
    first, second = places["ffn1"], places["ffn2"]
    x_q = quantize(x, first)
    _record_operand(trace, "x", x_q, first)
    gamma = calibration.gamma("hidden", second)
    if activation is None or activation == "gelu":
        hidden, unit = _linear(x_q, ffn.w1, ffn.b1, activation is None, "hidden", calibration,
                               first, trace, gelu=activation == "gelu")
        hidden_op = requantize(hidden, unit, gamma, second)
    else:
        pre, unit = _linear(x_q, ffn.w1, ffn.b1, False, "pre", calibration, first, trace)
        hidden_op = requantize_float(activation(pre * unit), calibration.unit("hidden"),
                                     gamma, second)
    _record_operand(trace, "hidden_op", hidden_op, second)
    return _linear(hidden_op, ffn.w2, ffn.b2, False, "out", calibration, second, trace)


def _concatenate(parts):
    """Side by side along K, each part padded to whole vectors (as requantized)."""
    first = parts[0]
    values = np.concatenate([p.values for p in parts], 1)
    scales = None if first.scales is None else np.concatenate([p.scales for p in parts], 1)
    return dataclasses.replace(first, values=values, scales=scales, columns=values.shape[1])


TILES = {
    "sa": (tile_float.attention_head, attention_head_program),
    "mhsa": (tile_float.multi_head, multi_head_program),
    "ffn": (tile_float.feed_forward, feed_forward_program),
}


def calibrate(tile, x, weights, config):
    """(exact float output, friendly float output, Calibration) of a tile."""
    x = tile_input(tile, x, weights, config)
    float_model, _ = TILES[tile]
    exact, _ = float_model(x, weights, friendly=False)
    friendly, tensors = float_model(x, weights, friendly=True)
    return exact, friendly, Calibration(tensors, config)
