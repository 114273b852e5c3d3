"""The accelerator's bit-exact arithmetic for a user's own model, one call per operation.

    emulator = Emulator(AcceleratorConfig())          # or any configuration
    w = emulator.weight(w_float)                      # in x out, quantized once
    y = emulator.linear(x, w, bias)                   # x @ w + bias, bias optional
    o = emulator.attention(q, k, v, mask)             # softmax(q k^T / sqrt(dk)) v
    h = emulator.gelu(y)                              # the PPU's GELU (ppu_gelu)

and attention step by step: `logits` (Q K^T to the softmax unit's base-2 integer
logits), `softmax` (loop 1's max and sum, the exponentials as the P V operand, one
reciprocal per row) and `weighted_values` (P V, each row times its reciprocal), the
dataflow of the tile programs. Floats go in and out; inside, activations are quantized
per tensor, weights per output channel (with per-vector scales in VSQ formats), every
matmul is `vsq_matmul`'s accumulators and every attention step the softmax unit's
integers. With `record=True` each call appends its integers to `records`, so two runs
can be compared bit for bit.

A multi-format configuration (`formats`) runs each matmul in the format a precision
policy names for it (`spec.precision`):

    emulator = Emulator(AcceleratorConfig(formats=["int4_vsq", "int8"]),
                        formats={"default": "int4_vsq", "ffn2": "int8"})
    w2 = emulator.weight(w2_float, operation="ffn2", layer=3)   # INT8
    y = emulator.linear(h, w2)                                  # in the weight's format
"""

import dataclasses

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.gelu import gelu, gelu_unit
from vsq_accel.golden.key_blocks import softmax_in_blocks
from vsq_accel.golden.ppu_params import exponentials_to_operand, float_to_y, to_logits
from vsq_accel.golden.quantize import QuantizedRows, quantize
from vsq_accel.golden.softmax import softmax_reciprocal
from vsq_accel.golden.vsq_matmul import accumulator_scale, rescale_rows, vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import format_config, policy_for

__all__ = ["Emulator", "Weight", "Logits", "SoftmaxRows", "Record"]

LOG2_E = 1.4426950408889634


@dataclasses.dataclass(frozen=True)
class Weight:
    """A weight (inputs x outputs, for x @ w) quantized once: its transpose, one row per
    output channel, cut into vectors along the inputs, in `format` (the configuration's
    own if None)."""

    rows: QuantizedRows
    inputs: int
    outputs: int
    format: str | None = None


@dataclasses.dataclass(frozen=True)
class Logits:
    """Q K^T as the softmax unit takes it: base-2 logits with `frac_bits` fraction bits
    (queries x keys, softmax_logit_bits each), the score scale and log2(e) folded in."""

    values: np.ndarray
    frac_bits: int

    def to_float(self):
        """The scores in base e, as the integers represent them."""
        return self.values / (2.0 ** self.frac_bits * LOG2_E)


@dataclasses.dataclass(frozen=True)
class SoftmaxRows:
    """The softmax of logit rows as the tile programs carry it into P V: exponentials
    2^(x - m) requantized as the left operand, and one reciprocal r = 2^k / d per row.
    Rows longer than the softmax unit takes come in blocks of `block` keys, each block's
    exponentials against the max after it, and `rises` (blocks x rows) by how much each
    block raised the max (one-pass attention, `golden.attention_stream`). `format`: the
    exponentials', in which P V runs."""

    exponentials: QuantizedRows
    reciprocal: np.ndarray
    row_max: np.ndarray
    row_sum: np.ndarray
    normalization: float                      # 2^(E - k): exponential units times r
    rises: np.ndarray
    block: int
    format: str

    def probabilities(self):
        """The probabilities these integers stand for (rows x keys, float)."""
        later = np.cumsum(self.rises[::-1], axis=0)[::-1] - self.rises   # rises after each
        factor = np.repeat(2.0 ** -later.T, self.block, axis=1)[:, :self.exponentials.columns]
        return (self.exponentials.dequantize()[:, :self.exponentials.columns] * factor
                * self.reciprocal[:, None] * self.normalization)


@dataclasses.dataclass(frozen=True)
class Record:
    """One call's integers: its operation and named integer arrays."""

    operation: str
    integers: dict


class Emulator:
    """Calls in one configuration's arithmetic (default: the default configuration).
    `passes=2` runs rows longer than the softmax unit takes in the two-pass schedule
    instead of the accelerator's one pass (`golden.attention_stream`), for comparison.
    `formats`: a precision policy (a `PrecisionPolicy` or its dict) naming formats the
    configuration's array runs; without a "default" entry, the entries' own format."""

    def __init__(self, config=None, record=False, passes=1, formats=None):
        self.config = (AcceleratorConfig() if config is None
                       else arguments.instance("config", config, AcceleratorConfig))
        self.records = [] if arguments.flag("record", record) else None
        if passes not in (1, 2):
            raise ValueError(f"passes={passes!r} must be 1 or 2")
        self.passes = passes
        self.policy = policy_for(formats, self.config)

    def format_of(self, operation=None, layer=0):
        """The format the policy names for `operation` (one of `spec.precision.OPERATIONS`)
        in layer `layer`; without an operation, the policy's default."""
        if operation is None:
            return self.policy.entries["default"]
        return self.policy.format_of(layer, operation)

    def weight(self, w, operation=None, layer=0):
        """Quantize w (inputs x outputs) once, per output channel, in the format of
        `operation` in layer `layer` (see `format_of`)."""
        w = arguments.real_matrix("w", w)
        format = self.format_of(operation, layer)
        return Weight(quantize(w.T, format_config(self.config, format), per_row=True),
                      *w.shape, format)

    def linear(self, x, weight, bias=None):
        """x (rows x inputs) @ weight + bias, in the weight's format; weight a `Weight` or
        a float matrix (quantized in the policy's default format)."""
        if not isinstance(weight, Weight):
            weight = self.weight(weight)
        x = arguments.real_matrix("x", x)
        if x.shape[1] != weight.inputs:
            raise ValueError(f"x has {x.shape[1]} columns; the weight takes {weight.inputs} "
                             f"inputs")
        config = format_config(self.config, weight.format or self.config.own_format)
        a = quantize(x, config)
        acc = vsq_matmul(a, weight.rows, config)
        self._record("linear", a, accumulators=acc)
        y = acc * accumulator_scale(a, weight.rows, config)
        return y if bias is None else y + arguments.real_vector("bias", bias, weight.outputs)

    def gelu(self, y):
        """The PPU's GELU (`golden.gelu`, a configuration with `ppu_gelu`) on a linear's
        output: y in the power of two above the unit that fits its largest positive value
        in ppu_bits (as the compiler calibrates it), saturated there, then GELU'd."""
        if not self.config.ppu_gelu:
            raise ValueError("this configuration's PPU has no GELU (set ppu_gelu)")
        y = arguments.real_matrix("y", y)
        limit = 1 << (self.config.ppu_bits - 1)
        unit, shift = gelu_unit(max(float(y.max()), 0.0) / (limit - 1) or 1.0)
        integers = float_to_y(y, unit, self.config)
        values = gelu(integers, shift)
        self._record("gelu", y=integers, gelu=values)
        return values * unit

    def logits(self, q, k, scale=None, layer=0):
        """Q K^T times `scale` (default 1 / sqrt(dk)) as base-2 integer logits, in the
        format of "scores" in layer `layer`."""
        q, k = arguments.real_matrix("q", q), arguments.real_matrix("k", k)
        if q.shape[1] != k.shape[1]:
            raise ValueError(f"q has {q.shape[1]} columns and k {k.shape[1]}; they must "
                             f"agree (dk)")
        scale = 1 / np.sqrt(q.shape[1]) if scale is None else scale
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale={scale} must be a positive finite number")
        operands = format_config(self.config, self.format_of("scores", layer))
        a, b_t = quantize(q, operands), quantize(k, operands)
        acc = vsq_matmul(a, b_t, operands)
        unit = float(accumulator_scale(a, b_t, operands)[0, 0])      # per tensor
        values = to_logits(acc, unit, LOG2_E * scale, self.config)
        self._record("logits", a, b_t, accumulators=acc, logits=values)
        return Logits(values, self.config.softmax_frac_bits)

    def softmax(self, logits, mask=None, layer=0):
        """The softmax unit on `logits` (a `Logits`); `mask`: booleans, keys x or queries
        x keys, True where a key takes part (default: all); the exponentials in the
        format of "pv" in layer `layer`."""
        arguments.instance("logits", logits, Logits)
        values, config = logits.values, self.config
        keep = np.ones(values.shape, bool) if mask is None else _keep(mask, values.shape)
        terms, row_max, row_sum, rises, block = softmax_in_blocks(values, keep, config,
                                                                  self.passes)
        format = self.format_of("pv", layer)
        exponentials = exponentials_to_operand(terms, format_config(config, format))
        reciprocal = softmax_reciprocal(row_sum, config)
        self._record("softmax", exponentials, row_max=row_max, row_sum=row_sum)
        return SoftmaxRows(exponentials, reciprocal, row_max, row_sum,
                           2.0 ** (config.softmax_exp_bits - config.softmax_recip_shift),
                           rises, block, format)

    def weighted_values(self, softmax, v):
        """P V (rows x dv): the exponentials times V, each row then times r; in the
        exponentials' format."""
        arguments.instance("softmax", softmax, SoftmaxRows)
        config = format_config(self.config, softmax.format)
        v = arguments.real_matrix("v", v)
        keys = softmax.exponentials.columns
        if len(v) != keys:
            raise ValueError(f"v has {len(v)} rows; the softmax has {keys} keys")
        v_t = quantize(v.T, config)
        acc = None
        for index, start in enumerate(range(0, keys, softmax.block)):
            stop = start + softmax.block if start + softmax.block < keys else v_t.values.shape[1]
            if acc is not None:
                acc = rescale_rows(acc, softmax.rises[index], config)
            acc = vsq_matmul(softmax.exponentials.take_columns(start, stop),
                             v_t.take_columns(start, stop), config, acc)
        self._record("weighted_values", v_t, accumulators=acc)
        unit = accumulator_scale(softmax.exponentials, v_t, config)
        return acc * unit * (softmax.reciprocal * softmax.normalization)[:, None]

    def attention(self, q, k, v, mask=None, scale=None, layer=0):
        """softmax(q k^T * scale) v, scale 1 / sqrt(dk) by default, over the keys `mask`
        keeps; Q K^T and P V in the formats of layer `layer`."""
        logits = self.logits(q, k, scale, layer)
        return self.weighted_values(self.softmax(logits, mask, layer), v)

    def _record(self, operation, *operands, **integers):
        if self.records is None:
            return
        for index, operand in enumerate(operands):
            integers[f"operand{index}.values"] = operand.values
            if operand.scales is not None:
                integers[f"operand{index}.scales"] = operand.scales
        self.records.append(Record(operation, integers))


def _keep(mask, shape):
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"mask must hold booleans (True: the key takes part), not "
                        f"{mask.dtype}")
    if mask.shape not in (shape[1:], shape):
        raise ValueError(f"mask has shape {mask.shape}; it must be {shape[1:]} (keys) or "
                         f"{shape} (queries x keys)")
    return np.ascontiguousarray(np.broadcast_to(mask, shape))
