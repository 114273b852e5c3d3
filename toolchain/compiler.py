"""Lowers the encoder tiles (SA, MHSA, FFN) to command lists and the host's buffer images.

The host's work happens here, once: weights quantized per output channel, X quantized,
float scales turned into the PPU's integer parameters (`golden.ppu_params`), tensors
placed in regions of the buffers (`toolchain.builder`). Linear layers stream their
weights (`toolchain.linear`); attention runs in blocks of query rows
(`toolchain.attention`). V is produced transposed, V^T = Wv^T X^T (X is loaded into both
buffers), so that it lands as P V's right operand with vectors along the tokens, and
every requantization runs along a row of the array's output.
"""

import contextlib
import dataclasses
import types

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.entries import operand_entries
from vsq_accel.golden.gelu import gelu_unit
from vsq_accel.golden.ppu_params import requantize_float
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.tile_weights import pad_heads, tile_input
from vsq_accel.spec.commands import Buffer, End, buffer_size
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import format_config, layer_formats
from vsq_accel.toolchain.attention import attention_head
from vsq_accel.toolchain.builder import Builder, CompileError, Program, Region
from vsq_accel.toolchain.interpreter import stored_rows
from vsq_accel.toolchain.linear import linear_operand, output_rows, row_block

__all__ = ["HostStepError", "CompileError", "Region", "Program", "compile_attention_head",
           "compile_multi_head", "compile_feed_forward", "compile_linear", "ShapeCalibration",
           "COMPILERS"]


def _start(x, config, bounded, format=None):
    """A builder with X quantized and loaded into both buffers, in `format` (the
    entries' own if None)."""
    b = Builder(config, bounded)
    x_q = quantize(x, format_config(config, format or config.own_format))
    b.load_operand("x", Buffer.LEFT, x_q, format)
    b.load_operand("x.right", Buffer.RIGHT, x_q, format)
    return b, x_q


def _finish(b, output, columns, unit):
    store = b.store(b.regions[output])
    b.emit(End())
    return Program(b.commands, b.images, b.regions, output, columns, unit, b.allocations,
                   (store,))


def compile_attention_head(x, head, config, calibration, bounded=True, formats=None,
                           layer=0):
    """SA, one head: O as y (OUTPUT), tokens x dv. `formats`: a precision policy
    (`spec.precision.policy_for`): the projections in the format of "qkv" in layer
    `layer`, Q K^T in that of "scores"; P V in the entries' own."""
    x = tile_input("sa", x, head, config)
    places = layer_formats(formats, config, layer)
    b, x_q = _start(x, config, bounded, places["qkv"])
    _, unit, columns = attention_head(b, x, x_q, head, calibration, "", places=places)
    return _finish(b, "o", columns, unit)


def compile_multi_head(x, mha, config, calibration, bounded=True, formats=None, layer=0):
    """MHSA: h heads, each O requantized into its columns of the concatenation (padded
    to whole vectors per head), times Wo + bo: y (OUTPUT), tokens x d_model. `formats`:
    as `compile_attention_head`'s, and the concatenation and Wo in the format of
    "wo"."""
    x = tile_input("mhsa", x, mha, config)
    places = layer_formats(formats, config, layer)
    b, x_q = _start(x, config, bounded, places["qkv"])
    size, heads = config.vector_size, len(mha.heads)
    head_vectors = -(-mha.heads[0].wv.shape[1] // size)
    concat = b.allocate("concat_op", Buffer.LEFT, len(x), heads * head_vectors, places["wo"])
    gamma = calibration.gamma("concat", format_config(config, places["wo"]))
    for index, head in enumerate(mha.heads):
        attention_head(b, x, x_q, head, calibration, f"head{index}.",
                        (concat, index * head_vectors, gamma), places)
    wo = pad_heads(mha.wo, heads, config)
    return _output_linear(b, concat, gamma, wo, mha.bo, calibration.unit("out"),
                          "output projection", len(mha.wo), places["wo"])


def _output_linear(b, left, left_gamma, w, bias, unit, op, reduction=None, format=None):
    """The tile's last matmul, y = left W + bias, stored to the host; the program."""
    stores = output_rows(b, left, left_gamma, w, bias, unit, op, reduction, format=format)
    return _end(b, w.shape[1], unit, stores)


def _end(b, columns, unit, stores):
    b.emit(End())
    return Program(b.commands, b.images, b.regions, "out", columns, unit, b.allocations,
                   tuple(stores))


def compile_feed_forward(x, ffn, config, calibration, bounded=True, activation=None,
                         formats=None, layer=0):
    """FFN: ReLU(X W1 + b1) requantized along d_ff, times W2 + b2: y (OUTPUT). With
    activation "gelu", the PPU's GELU instead of the ReLU (`golden.gelu`; the
    configuration needs `ppu_gelu`). With a function (a float GELU, say), X W1 + b1 is
    STOREd to the host, which applies it and quantizes the result (`requantize_float`),
    and LOADs it back for W2, in blocks of rows (`_host_step`). `formats`: a precision
    policy (`spec.precision.policy_for`): X and W1 in the format of "ffn1" in layer
    `layer`, the hidden layer and W2 in that of "ffn2"."""
    x = tile_input("ffn", x, ffn, config)
    on_chip = _on_chip(activation, config)
    places = layer_formats(formats, config, layer)
    first, second = places["ffn1"], places["ffn2"]
    b = Builder(config, bounded)
    x_rows = _InputRows(b, quantize(x, format_config(config, first)), first)
    gamma = calibration.gamma("hidden", format_config(config, second))
    unit = calibration.unit("out")
    hidden = -(-ffn.w1.shape[1] // config.vector_size) * config.entries_per_vector(second)
    if not on_chip:
        stores = _host_step(b, x_rows, ffn, calibration, activation, (first, second), gamma,
                            unit)
        return _end(b, ffn.w2.shape[1], unit, stores)
    # Blocks of rows when the hidden layer of all of them does not fit LEFT: each
    # block's hidden rows, then its output, the weights streamed again for each.
    rows = row_block(b, Buffer.LEFT, len(x), hidden + x_rows.entries_per_row,
                     "hidden_op" if x_rows.resident else "x and hidden_op")
    hidden_unit, shift = calibration.unit("hidden"), None
    if activation == "gelu":
        hidden_unit, shift = gelu_unit(hidden_unit)
    stores = []
    for start in range(0, len(x), rows):
        with x_rows.block(start, min(rows, len(x) - start)) as x_block:
            hidden_op = linear_operand(b, x_block, x_rows.gamma, ffn.w1.T, ffn.b1,
                                       hidden_unit, gamma, Buffer.LEFT, "hidden", "ffn 1",
                                       relu=activation is None, trace_row=start,
                                       format=first, out_format=second, gelu_shift=shift)
        stores += output_rows(b, hidden_op, gamma, ffn.w2, ffn.b2, unit, "ffn 2",
                              trace_row=start, format=second)
        if start + rows < len(x):
            b.free("hidden_op")
    return _end(b, ffn.w2.shape[1], unit, stores)


def _on_chip(activation, config):
    """Whether the FFN's activation runs in the PPU: None (ReLU) or "gelu" (on a
    configuration with `ppu_gelu`); a function runs on the host."""
    if callable(activation):
        return False
    if activation not in (None, "gelu"):
        raise ValueError(f"activation={activation!r}: None (ReLU), \"gelu\" (the PPU's) "
                         "or a function of X W1 + b1 (a host step)")
    if activation == "gelu" and not config.ppu_gelu:
        raise CompileError("activation=\"gelu\" runs in the PPU; this configuration has no "
                           "GELU (set ppu_gelu)")
    return True


class HostStepError(ValueError):
    """A host step's function returned what the requantizer cannot take."""


def _host_values(function, y, start):
    """function(y) for the rows from `start`, checked: the same shape as y and finite.
    Values past the calibrated range saturate, as the PPU's do (`requantize_float`)."""
    name = f"host step {getattr(function, '__name__', 'function')!r} on rows {start}.." \
           f"{start + len(y) - 1} of X W1 + b1"
    values = np.asarray(function(y), dtype=np.float64)
    if values.shape != y.shape:
        raise HostStepError(f"{name} returned shape {values.shape}, not {y.shape}")
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, column = bad[0]
        raise HostStepError(f"{name} returned {values[row, column]} at row {start + row}, "
                            f"column {column}")
    return values


class _InputRows:
    """The FFN's X: all its rows in LEFT (and RIGHT, as every tile loads it) when they
    take at most half of LEFT, else LOADed block by block just before W1 reads them
    (traced, so that the interpreter records X) and freed after."""

    def __init__(self, b, x_q, format):
        self.b, self.x_q, self.format, self.gamma = b, x_q, format, x_q.gamma
        rows, vectors = x_q.vectors.shape[:2]
        self.vectors = vectors
        entries = rows * vectors * b.config.entries_per_vector(format)
        self.resident = not b.bounded or 2 * entries <= buffer_size(b.config, Buffer.LEFT)
        # LEFT entries a streamed block takes per row beside the hidden layer's
        self.entries_per_row = 0 if self.resident else entries // rows
        if self.resident:
            b.load_operand("x", Buffer.LEFT, x_q, format)
            b.load_operand("x.right", Buffer.RIGHT, x_q, format)

    @contextlib.contextmanager
    def block(self, start, count):
        """The region of rows start .. start + count."""
        if self.resident:
            yield dataclasses.replace(self.b.regions["x"].sub(start), rows=count)
            return
        rows = slice(start, start + count)
        part = types.SimpleNamespace(
            vectors=self.x_q.vectors[rows],
            scales=None if self.x_q.scales is None else self.x_q.scales[rows])
        yield self.b.load_operand("x", Buffer.LEFT, part, self.format, trace={
            "names": {"values": "x.values", "scales": "x.scales"}, "row": start,
            "format": self.format, "vectors": self.vectors})
        self.b.free("x")


def _host_step(b, x_rows, ffn, calibration, activation, formats, gamma, unit):
    """X W1 + b1 (in format `formats[0]`) to the host and its activation back
    (quantized in `formats[1]`) for W2, in blocks of rows: a block's rows STOREd (in
    smaller blocks when OUTPUT holds fewer), the host's result LOADed into LEFT
    "hidden_op", W2 on it and its output STOREd; the next block's X W1 + b1 runs before
    this block's LOAD, so the array works while the host does. A block is whole tiles
    of rows that fit LEFT twice (the next LOAD beside W2's reads), or all rows when they
    fit once. Returns the output's STOREs."""
    config, (first, second) = b.config, formats
    rows, columns = len(x_rows.x_q.values), ffn.w1.shape[1]
    vectors = -(-columns // config.vector_size)
    entries = vectors * config.entries_per_vector(second) + x_rows.entries_per_row
    block = rows
    if b.bounded and rows * entries > b.largest_free(Buffer.LEFT):
        # twice: the next block's LOAD beside W2's reads of this one
        block = row_block(b, Buffer.LEFT, rows, 2 * entries,
                          "hidden_op" if x_rows.resident else "x and hidden_op")
    spans = [(start, min(block, rows - start)) for start in range(0, rows, block)]
    pre_unit, hidden = calibration.unit("pre"), format_config(config, second)

    def pre(start, count):
        with x_rows.block(start, count) as x_block:
            return output_rows(b, x_block, x_rows.gamma, ffn.w1, ffn.b1, pre_unit, "ffn 1",
                               trace_row=start, name="pre", format=first)

    def activated(stores, start):
        def image(stored):
            y = stored_rows([stored[index] for index in stores], columns)
            values = _host_values(activation, y * pre_unit, start)
            operand = requantize_float(values, calibration.unit("hidden"), gamma, hidden)
            return operand_entries(operand.values, operand.scales, config, second)
        return image

    outputs, stores = [], pre(*spans[0])
    for index, (start, count) in enumerate(spans):
        ready = stores
        if index + 1 < len(spans):
            stores = pre(*spans[index + 1])
        region = b.load("hidden_op", Buffer.LEFT, count, vectors, activated(ready, start),
                        second,
                        trace={"names": {"values": "hidden_op.values",
                                         "scales": "hidden_op.scales"},
                               "row": start, "format": second, "vectors": vectors})
        outputs += output_rows(b, region, gamma, ffn.w2, ffn.b2, unit, "ffn 2",
                               trace_row=start, format=second)
        if index + 1 < len(spans):
            b.free("hidden_op")
    return outputs


def compile_linear(x, w, bias, config, calibration, op="linear", bounded=True,
                   reduction=None, format=None):
    """One layer y = X W + b into OUTPUT (calibrated as "out"), X and W in `format` (the
    entries' own if None); `reduction`: the MACs' reduction length when X's columns are
    padded (heads concatenated on vectors)."""
    arguments.instance("config", config, AcceleratorConfig)
    x = arguments.real_matrix("x", x)
    w = arguments.real_matrix("w", w)
    if len(w) != x.shape[1]:
        raise ValueError(f"w has {len(w)} rows; it must have one per column of x "
                         f"({x.shape[1]})")
    if bias is not None:
        bias = arguments.real_vector("bias", bias, w.shape[1])
    b, x_q = _start(x, config, bounded, format)
    return _output_linear(b, b.regions["x"], x_q.gamma, w, bias, calibration.unit("out"), op,
                          reduction, format)


class ShapeCalibration:
    """Units and coarse scales for compiling on shapes alone (zero tensors), as the
    performance model does: the commands depend on shapes, not on these values."""

    def __init__(self, config):
        self._config = config

    def unit(self, name):
        return 1.0 / ((1 << (self._config.ppu_bits - 1)) - 1)

    def gamma(self, name, operands=None):
        return 1.0 / (operands or self._config).operand_levels


COMPILERS = {"sa": compile_attention_head, "mhsa": compile_multi_head,
             "ffn": compile_feed_forward}
