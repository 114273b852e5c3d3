"""Lowers the encoder tiles (SA, MHSA, FFN) to command lists and the host's buffer images.

The host's work happens here, once: weights quantized per output channel, X quantized,
float scales turned into the PPU's integer parameters (`golden.ppu_params`), tensors
placed in regions of the buffers. Attention runs in blocks of L query rows: S's block
into one half of the score buffer while the softmax reads the other, the exponentials
into one of two LEFT regions, then P V with each row scaled by its reciprocal. V is
produced transposed, V^T = Wv^T X^T (X is loaded into both buffers), so that it lands
as P V's right operand with vectors along the tokens, and every requantization runs
along a row of the array's output.
"""

import dataclasses
import math
import types

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.ppu_params import (column_scaling, exponential_requantization, logit_scaling,
                                         requantization, requantize_float)
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.tile_weights import pad_heads, tile_input
from vsq_accel.golden.vsq_matmul import accumulator_unit
from vsq_accel.spec.commands import (Buffer, End, Load, Matmul, Output, Softmax, Store,
                                     buffer_size, footprint, hazard)
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.interpreter import stored_rows

__all__ = ["CompileError", "Region", "Program", "compile_attention_head",
           "compile_multi_head", "compile_feed_forward", "compile_linear", "ShapeCalibration",
           "COMPILERS"]


class CompileError(ValueError):
    """A tile that does not fit the configuration's buffers."""


@dataclasses.dataclass(frozen=True)
class Region:
    """rows x vectors entries of a buffer, row r's vector k at base + r * stride + k."""

    buffer: int
    base: int
    rows: int
    vectors: int
    stride: int

    @property
    def stop(self):
        return self.base + (self.rows - 1) * self.stride + self.vectors

    def at(self, row=0, vector=0):
        return self.base + row * self.stride + vector

    def sub(self, row):
        """The region from `row` on."""
        return dataclasses.replace(self, base=self.at(row), rows=self.rows - row)


@dataclasses.dataclass
class Program:
    """A compiled tile: commands, the LOADs' images in order, the regions by name, and
    the output (`output` region of OUTPUT, `columns` wide, in `unit`); `allocations`
    lists every region the program used, (name, Region), in order."""

    commands: list
    images: list
    regions: dict
    output: str
    columns: int
    unit: float
    allocations: list = dataclasses.field(default_factory=list)
    output_stores: int = 1


class _Builder:
    """Regions (first fit, freed by name) and commands (waits set from `hazard`)."""

    def __init__(self, config, bounded=True):
        self.config = config
        self.bounded = bounded
        self.commands, self.images, self.regions, self.allocations = [], [], {}, []
        self._free = {buffer: [(0, buffer_size(config, buffer) if bounded else 1 << 62)]
                      for buffer in Buffer}
        self._in_flight = []

    def allocate(self, name, buffer, rows, vectors):
        """A region of rows x vectors entries: the first free place that no command
        since the last wait touches (so the command filling it need not wait), else the
        first free place."""
        size = rows * vectors
        touched = [(first, stop) for command in self._in_flight
                   for where, first, stop, _ in footprint(command, self.config)
                   if where == buffer]
        place = self._place(buffer, size, touched) or self._place(buffer, size, [])
        if place is None:
            used = buffer_size(self.config, buffer) - sum(b - a for a, b in self._free[buffer])
            raise CompileError(f"{name} ({rows} x {vectors} = {size} entries) does not fit "
                               f"{Buffer(buffer).name}: {used} of its "
                               f"{buffer_size(self.config, buffer)} entries are in use")
        index, base = place
        first, stop = self._free[buffer][index]
        self._free[buffer][index:index + 1] = [
            span for span in ((first, base), (base + size, stop)) if span[1] > span[0]]
        region = Region(buffer, base, rows, vectors, vectors)
        self.regions[name] = region
        self.allocations.append((name, region))
        return region

    def _place(self, buffer, size, avoid):
        """(index of a free span, base) of the first `size` entries free and clear of
        the `avoid` ranges, or None."""
        for index, (first, stop) in enumerate(self._free[buffer]):
            for base in [first] + [end for _, end in avoid if first < end]:
                if base + size <= stop and not any(start < base + size and base < end
                                                   for start, end in avoid):
                    return index, base
        return None

    def largest_free(self, buffer):
        """Entries of the largest free span of a buffer."""
        return max((stop - first for first, stop in self._free[buffer]), default=0)

    def free(self, *names):
        for name in names:
            region = self.regions.pop(name)
            size = region.rows * region.vectors
            spans = sorted(self._free[region.buffer] + [(region.base, region.base + size)])
            merged = [spans[0]]
            for first, stop in spans[1:]:
                if first == merged[-1][1]:
                    merged[-1] = (merged[-1][0], stop)
                else:
                    merged.append((first, stop))
            self._free[region.buffer] = merged

    def emit(self, command):
        if hazard(command, self._in_flight, self.config) is not None:
            command = dataclasses.replace(command, wait=1)
            self._in_flight = []
        self._in_flight.append(command)
        self.commands.append(command)

    def load(self, name, buffer, rows, vectors, image):
        region = self.allocate(name, buffer, rows, vectors)
        self.images.append(image)
        self.emit(Load(buffer=buffer, base=region.base, count=rows * vectors,
                       trace={"op": "load"}))
        return region

    def load_operand(self, name, buffer, operand):
        rows, vectors = operand.vectors.shape[:2]
        scales = (np.zeros((rows, vectors), np.int64) if operand.scales is None
                  else operand.scales)
        image = {"values": operand.vectors.reshape(-1, self.config.vector_size),
                 "scales": scales.reshape(-1)}
        return self.load(name, buffer, rows, vectors, image)

    def load_params(self, name, scaling):
        image = {"mult": scaling.mult, "shift": scaling.shift, "bias": scaling.bias}
        return self.load(name, Buffer.PARAMS, len(scaling.mult), 1, image)

    def store(self, region):
        self.emit(Store(buffer=region.buffer, base=region.base,
                        count=region.rows * region.vectors, trace={"op": "store"}))


def _requant_fields(params):
    return {"element_mult": params.element_mult, "element_shift": params.element_shift,
            "scale_mult": params.scale_mult, "scale_shift": params.scale_shift}


def _operand_trace(name):
    return {"acc": f"{name}.acc", "y": name, "values": f"{name}_op.values",
            "scales": f"{name}_op.scales"}


def _matmul(b, left, right, m, n, params, dest, *, left_row=0, right_row=0, right_vector=0,
            k=None, reduction, op, trace=None, trace_row=0, trace_column=0, per_row=False,
            **fields):
    """A Matmul command over regions: left's rows from left_row, right's from
    (right_row, right_vector), k vectors (all of left's by default) holding `reduction`
    elements; `op` names its kind (for the performance model), `trace` what it
    computes."""
    b.emit(Matmul(left_base=left.at(left_row), left_stride=left.stride,
                  right_base=right.at(right_row, right_vector), right_stride=right.stride,
                  m=m, n=n, k=left.vectors if k is None else k,
                  params_base=params.base, per_row=int(per_row),
                  dest=dest.buffer, dest_stride=dest.stride,
                  trace={"op": op, "reduction": reduction, "names": trace or {},
                         "row": trace_row, "columns": _trace_columns(trace_column, b.config)},
                  **fields))


def _trace_columns(column, config):
    """Where a block of result columns starts in each traced tensor."""
    return {"acc": column, "y": column, "values": column,
            "scales": column // config.vector_size}


def _column_chunks(b, columns, vectors):
    """[(first, count)]: the weight matrix's output columns (rows of W^T, `vectors`
    entries each) in blocks that fit RIGHT twice over, so the next block loads while
    the array reads this one; all at once when they fit. Blocks are whole tiles and
    whole vectors."""
    config = b.config
    free = b.largest_free(Buffer.RIGHT)
    if not b.bounded or columns * vectors <= free:
        return [(0, columns)]
    step = math.lcm(config.lanes, config.vector_size)
    block = free // 2 // vectors // step * step
    if block == 0:
        raise CompileError(f"no block of {step} weight columns ({step} x {vectors} entries) "
                           f"fits RIGHT twice: {free} entries are free")
    return [(first, min(block, columns - first)) for first in range(0, columns, block)]


def _weight_blocks(b, name, w_q):
    """Loads W^T's blocks of output columns into RIGHT (two regions in turn, the next
    loading while the array reads this one); yields (first column, columns, region)."""
    chunks = _column_chunks(b, *w_q.vectors.shape[:2])

    def load(index):
        first, count = chunks[index]
        part = types.SimpleNamespace(
            vectors=w_q.vectors[first:first + count],
            scales=None if w_q.scales is None else w_q.scales[first:first + count])
        return b.load_operand(f"{name}.w{index % 2}", Buffer.RIGHT, part)

    regions = {0: load(0)}
    for index, (first, count) in enumerate(chunks):
        if index + 1 < len(chunks):
            regions[index + 1] = load(index + 1)
        yield first, count, regions.pop(index)
        b.free(f"{name}.w{index % 2}")


def _linear_operand(b, x_region, x_gamma, weights_t, bias, y_unit, gamma, dest_buffer, name,
                    op, relu=False, trace_row=0):
    """y = X W + b requantized (vectors along W's outputs) into dest_buffer, a region
    named after the tensor (`name`_op), which it returns."""
    config = b.config
    rows = x_region.rows
    w_q = quantize(weights_t, config, per_row=True)
    columns = len(weights_t)
    params = b.load_params(f"{name}.params", column_scaling(
        accumulator_unit(x_gamma, w_q.gamma, config)[0], y_unit, bias, columns, config))
    dest = b.allocate(f"{name}_op", dest_buffer, rows, -(-columns // config.vector_size))
    for first, count, w_region in _weight_blocks(b, name, w_q):
        _matmul(b, x_region, w_region, rows, count, params.sub(first), dest,
                output=Output.OPERAND, reduction=weights_t.shape[1], relu=int(relu),
                dest_base=dest.at(0, first // config.vector_size), op=op,
                trace=_operand_trace(name), trace_row=trace_row, trace_column=first,
                **_requant_fields(requantization(y_unit, gamma, config)))
    b.free(f"{name}.params")
    return dest


def _attention_head(b, x, x_q, head, calibration, prefix, concat=None):
    """One head's commands: projections, then per block of L query rows S, the softmax
    and P V. Its O goes to OUTPUT as y, or (concat = (region, first vector, gamma))
    requantized into the concatenation. Returns O's region, unit and columns."""
    config = b.config
    lanes, size = config.lanes, config.vector_size
    tokens, dk, dv = len(x), head.wq.shape[1], head.wv.shape[1]
    x_left, x_right = b.regions["x"], b.regions["x.right"]
    q = _linear_operand(b, x_left, x_q.gamma, head.wq.T, head.bq, calibration.unit(prefix + "q"),
                        calibration.gamma(prefix + "q"), Buffer.LEFT, prefix + "q", "projection")
    k = _linear_operand(b, x_left, x_q.gamma, head.wk.T, head.bk, calibration.unit(prefix + "k"),
                        calibration.gamma(prefix + "k"), Buffer.RIGHT, prefix + "k", "projection")

    # V^T = Wv^T X^T: Wv^T in LEFT, parameters per row (V's channels).
    wv_q = quantize(head.wv.T, config, per_row=True)
    wv_region = b.load_operand(prefix + "v.w", Buffer.LEFT, wv_q)
    v_unit, v_gamma = calibration.unit(prefix + "v"), calibration.gamma(prefix + "v")
    v_params = b.load_params(prefix + "v.params", column_scaling(
        accumulator_unit(wv_q.gamma, x_q.gamma, config)[:, 0], v_unit, head.bv, dv, config))
    v_t = b.allocate(prefix + "v_op", Buffer.RIGHT, dv, -(-tokens // size))
    _matmul(b, wv_region, x_right, dv, tokens, v_params, v_t, output=Output.OPERAND,
            reduction=head.wv.shape[0],
            per_row=True, dest_base=v_t.base, op="projection",
            trace=_operand_trace(prefix + "v"),
            **_requant_fields(requantization(v_unit, v_gamma, config)))
    b.free(prefix + "v.w", prefix + "v.params")

    q_gamma, k_gamma = calibration.gamma(prefix + "q"), calibration.gamma(prefix + "k")
    s_params = b.load_params(prefix + "s.params", logit_scaling(
        float(accumulator_unit(q_gamma, k_gamma, config)[0, 0]), np.log2(np.e) / np.sqrt(dk), tokens,
        config))
    e_requant, e_gamma = exponential_requantization(config)
    o_unit = calibration.unit(prefix + "o")
    row_shift = config.softmax_recip_shift - config.softmax_exp_bits
    o_params = b.load_params(prefix + "o.params", column_scaling(
        accumulator_unit(e_gamma, v_gamma, config)[0], o_unit, None, dv, config, row_shift))
    key_block = _key_block(tokens, config)
    exps = [b.allocate(f"{prefix}e_op.{half}", Buffer.LEFT, lanes, -(-key_block // size))
            for half in range(2)]
    if concat is None:
        out = b.allocate(prefix + "o", Buffer.OUTPUT, tokens, -(-dv // size))
        out_fields = {"output": Output.Y, "dest_base": out.base}
    else:
        out, first_vector, gamma = concat
        out_fields = {"output": Output.OPERAND, "dest_base": out.at(0, first_vector),
                      **_requant_fields(requantization(o_unit, gamma, config))}
    keys = [(start, min(key_block, tokens - start)) for start in range(0, tokens, key_block)]
    single = len(keys) == 1
    acc = None if single else b.allocate(prefix + "acc", Buffer.ACC, lanes * dv, 1)
    slots = iter(range(1 << 62))         # S blocks alternate between the score halves
    softmax_names = {"row_max": prefix + "row_max", "row_sum": prefix + "row_sum",
                     "exponentials": prefix + "exponentials", "values": prefix + "e_op.values",
                     "scales": prefix + "e_op.scales", "reciprocal": prefix + "o.reciprocal"}

    def scores(first, rows, start, length, op):
        slot = next(slots) % 2 * lanes
        _matmul(b, q, k, rows, length, s_params.sub(start),
                Region(Buffer.SCORES, slot, rows, 1, 1), reduction=dk, left_row=first,
                right_row=start, output=Output.LOGITS, dest_base=slot, trace_row=first, op=op,
                trace=single and {"acc": prefix + "s.acc", "y": prefix + "logits"})
        return slot

    def softmax(block, first, rows, index, start, length, slot):
        exp = exps[(block * len(keys) + index) % 2]
        b.emit(Softmax(src_base=slot, rows=rows, length=length, loop1=int(single),
                       first=int(single), loop2=1, state_base=block % 2 * lanes,
                       dest=Buffer.LEFT, dest_base=exp.base, dest_stride=exp.stride,
                       **_requant_fields(e_requant),
                       trace={"op": "softmax", "row": first,
                              "names": softmax_names if single else {}}))
        return exp

    def p_v(block, first, rows, index, start, length, exp):
        last = index == len(keys) - 1
        continued = {} if single else {"accumulate": int(index > 0), "acc_base": acc.base}
        if last:
            fields = dict(out_fields, dest_base=out_fields["dest_base"] + first * out.stride)
            destination = out
        else:
            fields, destination = {"output": Output.ACC}, acc
        _matmul(b, exp, v_t, rows, dv, o_params, destination, right_vector=start // size,
                reduction=length, k=-(-length // size), row_scale=int(last),
                state_base=block % 2 * lanes, op="P V",
                trace=last and {"acc": prefix + "o.acc", "y": prefix + "o"},
                trace_row=first, **continued, **fields)

    blocks = [(block, first, min(lanes, tokens - first))
              for block, first in enumerate(range(0, tokens, lanes))]
    if single:
        # S of the next block is emitted before this block's P V, so the array computes
        # it while the softmax unit works on this block.
        (start, length), = keys
        slot = scores(0, blocks[0][2], start, length, "scores")
        for block, first, rows in blocks:
            exp = softmax(block, first, rows, 0, start, length, slot)
            if block + 1 < len(blocks):
                slot = scores(first + lanes, blocks[block + 1][2], start, length, "scores")
            p_v(block, first, rows, 0, start, length, exp)
    for block, first, rows in blocks if not single else ():
        for index, (start, length) in enumerate(keys):      # pass 1: loop 1 over the keys
            slot = scores(first, rows, start, length, "scores, loop 1")
            b.emit(Softmax(src_base=slot, rows=rows, length=length, loop1=1,
                           first=int(index == 0), state_base=block % 2 * lanes,
                           trace={"op": "softmax, loop 1"}))
        for index, (start, length) in enumerate(keys):
            slot = scores(first, rows, start, length, "scores")
            exp = softmax(block, first, rows, index, start, length, slot)
            p_v(block, first, rows, index, start, length, exp)
    b.free(prefix + "q_op", prefix + "k_op", prefix + "v_op", prefix + "s.params",
           prefix + "o.params", f"{prefix}e_op.0", f"{prefix}e_op.1",
           *([] if single else [prefix + "acc"]))
    return out, o_unit, dv


def _key_block(tokens, config):
    """Keys per block of S: all of them when a row fits the softmax, else the most that
    fit and are whole softmax beats and whole vectors (the bits depend on the beats)."""
    if tokens <= config.softmax_max_row:
        return tokens
    step = math.lcm(config.softmax_lanes, config.vector_size)
    if step > config.softmax_max_row:
        raise CompileError(f"rows of {tokens} keys are longer than softmax_max_row="
                           f"{config.softmax_max_row}, and a block of them must be whole "
                           f"beats of {config.softmax_lanes} and vectors of "
                           f"{config.vector_size}: at least {step} keys")
    return config.softmax_max_row // step * step


def _start(x, config, bounded):
    """A builder with X quantized and loaded into both buffers."""
    b = _Builder(config, bounded)
    x_q = quantize(x, config)
    b.load_operand("x", Buffer.LEFT, x_q)
    b.load_operand("x.right", Buffer.RIGHT, x_q)
    return b, x_q


def _finish(b, output, columns, unit):
    b.store(b.regions[output])
    b.emit(End())
    return Program(b.commands, b.images, b.regions, output, columns, unit, b.allocations)


def compile_attention_head(x, head, config, calibration, bounded=True):
    """SA, one head: O as y (OUTPUT), tokens x dv."""
    x = tile_input("sa", x, head, config)
    b, x_q = _start(x, config, bounded)
    _, unit, columns = _attention_head(b, x, x_q, head, calibration, "")
    return _finish(b, "o", columns, unit)


def compile_multi_head(x, mha, config, calibration, bounded=True):
    """MHSA: h heads, each O requantized into its columns of the concatenation (padded
    to whole vectors per head), times Wo + bo: y (OUTPUT), tokens x d_model."""
    x = tile_input("mhsa", x, mha, config)
    b, x_q = _start(x, config, bounded)
    size, heads = config.vector_size, len(mha.heads)
    head_vectors = -(-mha.heads[0].wv.shape[1] // size)
    concat = b.allocate("concat_op", Buffer.LEFT, len(x), heads * head_vectors)
    gamma = calibration.gamma("concat")
    for index, head in enumerate(mha.heads):
        _attention_head(b, x, x_q, head, calibration, f"head{index}.",
                        (concat, index * head_vectors, gamma))
    wo = pad_heads(mha.wo, heads, config)
    return _output_linear(b, concat, gamma, wo, mha.bo, calibration.unit("out"),
                          "output projection", len(mha.wo))


def _output_linear(b, left, left_gamma, w, bias, unit, op, reduction=None):
    """The tile's last matmul, y = left W + bias, stored to the host; the program."""
    stores = _output_rows(b, left, left_gamma, w, bias, unit, op, reduction)
    return _end(b, w.shape[1], unit, stores)


def _output_rows(b, left, left_gamma, w, bias, unit, op, reduction=None, trace_row=0,
                 name="out"):
    """y = left W + bias into OUTPUT (region `name`) and STOREd to the host, in blocks of
    rows when OUTPUT holds fewer (each block stored before the next); returns the
    number of STOREs."""
    config = b.config
    w_q = quantize(w.T, config, per_row=True)
    columns = w.shape[1]
    vectors = -(-columns // config.vector_size)
    params = b.load_params(f"{name}.params", column_scaling(
        accumulator_unit(left_gamma, w_q.gamma, config)[0], unit, bias, columns, config))
    rows = _row_block(b, Buffer.OUTPUT, left.rows, vectors)
    blocks = range(0, left.rows, rows)
    for first_row in blocks:
        count = min(rows, left.rows - first_row)
        out = b.allocate(name, Buffer.OUTPUT, count, vectors)
        for first, width, w_region in _weight_blocks(b, name, w_q):
            _matmul(b, left, w_region, count, width, params.sub(first), out,
                    output=Output.Y, left_row=first_row,
                    reduction=w.shape[0] if reduction is None else reduction,
                    dest_base=out.at(0, first // config.vector_size), op=op,
                    trace={"acc": f"{name}.acc", "y": name}, trace_row=trace_row + first_row,
                    trace_column=first)
        b.store(out)
        b.free(name)
    b.free(f"{name}.params")
    return len(blocks)


def _end(b, columns, unit, stores):
    b.emit(End())
    return Program(b.commands, b.images, b.regions, "out", columns, unit, b.allocations,
                   stores)


def _row_block(b, buffer, rows, vectors):
    """Rows of a block of `vectors` entries a row that fits `buffer`: all, or whole
    tiles of L."""
    free = b.largest_free(buffer)
    if not b.bounded or rows * vectors <= free:
        return rows
    block = free // vectors // b.config.lanes * b.config.lanes
    if block == 0:
        raise CompileError(f"no {b.config.lanes} rows of {vectors} entries fit "
                           f"{Buffer(buffer).name}: {free} entries are free")
    return block


def compile_feed_forward(x, ffn, config, calibration, bounded=True, activation=None):
    """FFN: ReLU(X W1 + b1) requantized along d_ff, times W2 + b2: y (OUTPUT). With an
    `activation` (a GELU, say), X W1 + b1 is STOREd to the host, which applies it and
    quantizes the result (`requantize_float`), and LOADs it back for W2."""
    x = tile_input("ffn", x, ffn, config)
    b, x_q = _start(x, config, bounded)
    gamma, unit = calibration.gamma("hidden"), calibration.unit("out")
    if activation is not None:
        hidden = _host_activation(b, x_q, ffn, calibration, activation)
        return _output_linear(b, hidden, gamma, ffn.w2, ffn.b2, unit, "ffn 2")
    # Blocks of rows when the hidden layer of all of them does not fit LEFT: each
    # block's hidden rows, then its output, the weights streamed again for each.
    rows = _row_block(b, Buffer.LEFT, len(x), -(-ffn.w1.shape[1] // config.vector_size))
    stores = 0
    for first in range(0, len(x), rows):
        x_rows = dataclasses.replace(b.regions["x"].sub(first), rows=min(rows, len(x) - first))
        hidden = _linear_operand(b, x_rows, x_q.gamma, ffn.w1.T, ffn.b1,
                                 calibration.unit("hidden"), gamma, Buffer.LEFT, "hidden",
                                 "ffn 1", relu=True, trace_row=first)
        stores += _output_rows(b, hidden, gamma, ffn.w2, ffn.b2, unit, "ffn 2",
                               trace_row=first)
        if first + rows < len(x):
            b.free("hidden_op")
    return _end(b, ffn.w2.shape[1], unit, stores)


def _host_activation(b, x_q, ffn, calibration, activation):
    """X W1 + b1 to the host (in blocks of rows when OUTPUT holds fewer) and its
    activation back, quantized, as LEFT "hidden_op"."""
    config, size = b.config, b.config.vector_size
    rows, columns = len(x_q.values), ffn.w1.shape[1]
    pre_unit = calibration.unit("pre")
    stores = _output_rows(b, b.regions["x"], x_q.gamma, ffn.w1, ffn.b1, pre_unit, "ffn 1",
                          name="pre")

    def activated(stored):
        y = stored_rows(stored[-stores:], columns)
        operand = requantize_float(activation(y * pre_unit), calibration.unit("hidden"),
                                   calibration.gamma("hidden"), config)
        scales = (np.zeros(operand.vectors.shape[:2], np.int64) if operand.scales is None
                  else operand.scales)
        return {"values": operand.vectors.reshape(-1, size), "scales": scales.reshape(-1)}

    return b.load("hidden_op", Buffer.LEFT, rows, -(-columns // size), activated)


def compile_linear(x, w, bias, config, calibration, op="linear", bounded=True,
                   reduction=None):
    """One layer y = X W + b into OUTPUT (calibrated as "out"); `reduction`: the MACs'
    reduction length when X's columns are padded (heads concatenated on vectors)."""
    arguments.instance("config", config, AcceleratorConfig)
    x = arguments.real_matrix("x", x)
    w = arguments.real_matrix("w", w)
    if len(w) != x.shape[1]:
        raise ValueError(f"w has {len(w)} rows; it must have one per column of x "
                         f"({x.shape[1]})")
    if bias is not None:
        bias = arguments.real_vector("bias", bias, w.shape[1])
    b, x_q = _start(x, config, bounded)
    return _output_linear(b, b.regions["x"], x_q.gamma, w, bias, calibration.unit("out"), op,
                          reduction)


class ShapeCalibration:
    """Units and coarse scales for compiling on shapes alone (zero tensors), as the
    performance model does: the commands depend on shapes, not on these values."""

    def __init__(self, config):
        self._config = config

    def unit(self, name):
        return 1.0 / ((1 << (self._config.ppu_bits - 1)) - 1)

    def gamma(self, name):
        return 1.0 / self._config.operand_levels


COMPILERS = {"sa": compile_attention_head, "mhsa": compile_multi_head,
             "ffn": compile_feed_forward}
