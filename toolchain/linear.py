"""The commands of linear layers: weights streamed through RIGHT in blocks of output
columns (two regions in turn, the next loading while the array reads this one), results
requantized into an operand buffer or, as y, into OUTPUT in blocks of rows for the host."""

import math
import types

from vsq_accel.golden.ppu_params import column_scaling, requantization
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.vsq_matmul import accumulator_unit
from vsq_accel.spec.commands import Buffer, Matmul, Output
from vsq_accel.spec.precision import format_config
from vsq_accel.toolchain.builder import CompileError

__all__ = ["requant_fields", "operand_trace", "matmul", "weight_blocks", "linear_operand",
           "output_rows", "row_block"]


def requant_fields(params):
    return {"element_mult": params.element_mult, "element_shift": params.element_shift,
            "scale_mult": params.scale_mult, "scale_shift": params.scale_shift}


def operand_trace(name):
    return {"acc": f"{name}.acc", "y": name, "values": f"{name}_op.values",
            "scales": f"{name}_op.scales"}


def matmul(b, left, right, m, n, params, dest, *, left_row=0, right_row=0, right_vector=0,
            k=None, reduction, op, trace=None, trace_row=0, trace_column=0, per_row=False,
            **fields):
    """A Matmul command over regions: left's rows from left_row, right's from
    (right_row, right_vector), k vectors (all of left's by default) holding `reduction`
    elements, in the format whose entries the regions hold (`format`, a name; the
    entries' own if None); `op` names its kind (for the performance model), `trace`
    what it computes."""
    format = fields.pop("format", None)
    if format is not None:
        fields["format"] = b.config.format_code(format)
    b.emit(Matmul(left_base=left.at(left_row), left_stride=left.stride,
                  right_base=right.at(right_row, right_vector * right.passes),
                  right_stride=right.stride,
                  m=m, n=n, k=left.vectors // left.passes if k is None else k,
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
    while block and not b.fit_one_after_another(Buffer.RIGHT, block * vectors, 2):
        block -= step
    if block == 0:
        raise CompileError(f"no block of {step} weight columns ({step} x {vectors} entries) "
                           f"fits RIGHT twice: {free} entries are free")
    return [(first, min(block, columns - first)) for first in range(0, columns, block)]


def weight_blocks(b, name, w_q, format=None):
    """Loads W^T's blocks of output columns into RIGHT (two regions in turn, the next
    loading while the array reads this one), in `format` (the entries' own if None);
    yields (first column, columns, region)."""
    passes = b.config.entries_per_vector(format or b.config.own_format)
    rows, vectors = w_q.vectors.shape[:2]
    chunks = _column_chunks(b, rows, vectors * passes)

    def load(index):
        first, count = chunks[index]
        part = types.SimpleNamespace(
            vectors=w_q.vectors[first:first + count],
            scales=None if w_q.scales is None else w_q.scales[first:first + count])
        return b.load_operand(f"{name}.w{index % 2}", Buffer.RIGHT, part, format)

    regions = {0: load(0)}
    for index, (first, count) in enumerate(chunks):
        if index + 1 < len(chunks):
            regions[index + 1] = load(index + 1)
        yield first, count, regions.pop(index)
        b.free(f"{name}.w{index % 2}")


def linear_operand(b, x_region, x_gamma, weights_t, bias, y_unit, gamma, dest_buffer, name,
                    op, relu=False, trace_row=0, format=None, out_format=None, gelu_shift=None):
    """y = X W + b requantized (vectors along W's outputs) into dest_buffer, a region
    named after the tensor (`name`_op), which it returns. X and W in `format`, the
    result in `out_format` (the entries' own if None); with `gelu_shift` (y_unit =
    2^-gelu_shift) the PPU's GELU of y."""
    config = b.config
    format, out_format = (name_ or config.own_format for name_ in (format, out_format))
    operands, results = (format_config(config, name_) for name_ in (format, out_format))
    rows = x_region.rows
    w_q = quantize(weights_t, operands, per_row=True)
    columns = len(weights_t)
    params = b.load_params(f"{name}.params", column_scaling(
        accumulator_unit(x_gamma, w_q.gamma, operands)[0], y_unit, bias, columns, config))
    passes = config.entries_per_vector(out_format)
    gelu = {} if gelu_shift is None else {"gelu": 1, "gelu_shift": gelu_shift}
    dest = b.allocate(f"{name}_op", dest_buffer, rows, -(-columns // config.vector_size),
                      out_format)
    for first, count, w_region in weight_blocks(b, name, w_q, format):
        matmul(b, x_region, w_region, rows, count, params.sub(first), dest,
                output=Output.OPERAND, reduction=weights_t.shape[1], relu=int(relu),
                dest_base=dest.at(0, first // config.vector_size * passes), op=op,
                trace=operand_trace(name), trace_row=trace_row, trace_column=first,
                format=format, out_format=config.format_code(out_format), **gelu,
                **requant_fields(requantization(y_unit, gamma, results)))
    b.free(f"{name}.params")
    return dest


def output_rows(b, left, left_gamma, w, bias, unit, op, reduction=None, trace_row=0,
                 name="out", format=None):
    """y = left W + bias into OUTPUT (region `name`) and STOREd to the host, in blocks of
    rows when OUTPUT holds fewer (each block stored before the next), left and W in
    `format` (the entries' own if None); returns the STOREs' numbers."""
    config = b.config
    operands = format_config(config, format or config.own_format)
    w_q = quantize(w.T, operands, per_row=True)
    columns = w.shape[1]
    vectors = -(-columns // config.vector_size)
    params = b.load_params(f"{name}.params", column_scaling(
        accumulator_unit(left_gamma, w_q.gamma, operands)[0], unit, bias, columns, config))
    rows = row_block(b, Buffer.OUTPUT, left.rows, vectors, name)
    stores = []
    for first_row in range(0, left.rows, rows):
        count = min(rows, left.rows - first_row)
        out = b.allocate(name, Buffer.OUTPUT, count, vectors)
        for first, width, w_region in weight_blocks(b, name, w_q, format):
            matmul(b, left, w_region, count, width, params.sub(first), out,
                    output=Output.Y, left_row=first_row, format=format,
                    reduction=w.shape[0] if reduction is None else reduction,
                    dest_base=out.at(0, first // config.vector_size), op=op,
                    trace={"acc": f"{name}.acc", "y": name}, trace_row=trace_row + first_row,
                    trace_column=first)
        stores.append(b.store(out))
        b.free(name)
    b.free(f"{name}.params")
    return stores


def row_block(b, buffer, rows, vectors, what):
    """Rows of a block of `vectors` entries a row (of the tensors `what` names) that
    fits `buffer`: all, or whole tiles of L."""
    free = b.largest_free(buffer)
    if not b.bounded or rows * vectors <= free:
        return rows
    block = free // vectors // b.config.lanes * b.config.lanes
    if block == 0:
        raise CompileError(f"{what}: no {b.config.lanes} rows of {vectors} entries fit "
                           f"{Buffer(buffer).name}: {free} entries are free")
    return block
