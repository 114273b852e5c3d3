"""Executes a command list on the accelerator's buffers with the golden integer functions.

This is what the RTL tile engine must compute: every buffer entry a command writes is
the interpreter's, bit for bit. The interpreter also checks what the hardware would
refuse: a region outside its buffer, a shape the units cannot run, reading an entry no
command wrote, and a command without `wait` that conflicts with one still in flight.
"""

import numpy as np

from vsq_accel.golden.entries import operand_entries, operand_values
from vsq_accel.golden.ppu import Requantization, Scaling, requantize_rows, scale
from vsq_accel.golden.quantize import QuantizedRows
from vsq_accel.golden.softmax import (softmax_exponentials, softmax_loop1, softmax_reciprocal,
                                      softmax_start)
from vsq_accel.golden.trace import Trace
from vsq_accel.golden.vsq_matmul import rescale_rows, vsq_matmul
from vsq_accel.spec.commands import (RESULT_BUFFERS, Buffer, CommandError, End, Load, Matmul,
                                     Output, Softmax, Store, buffer_size, footprint, hazard)
from vsq_accel.spec.precision import format_config

__all__ = ["Machine", "Host", "TraceRecorder", "interpret", "run_program", "program_output",
           "read_operand"]


class Machine:
    """The buffers' contents; each array's first axis is the entry."""

    def __init__(self, config):
        self.config = config
        vector = config.vector_size

        def zeros(buffer, *shape):
            return np.zeros((buffer_size(config, buffer),) + shape, np.int64)

        self.memory = {
            Buffer.LEFT: {"values": zeros(Buffer.LEFT, vector), "scales": zeros(Buffer.LEFT)},
            Buffer.RIGHT: {"values": zeros(Buffer.RIGHT, vector),
                           "scales": zeros(Buffer.RIGHT)},
            Buffer.OUTPUT: {"y": zeros(Buffer.OUTPUT, vector)},
            Buffer.PARAMS: {"mult": zeros(Buffer.PARAMS), "shift": zeros(Buffer.PARAMS),
                            "bias": zeros(Buffer.PARAMS)},
            Buffer.SCORES: {"logits": zeros(Buffer.SCORES, config.softmax_max_row)},
            Buffer.STATE: {"row_max": zeros(Buffer.STATE), "row_sum": zeros(Buffer.STATE),
                           "reciprocal": zeros(Buffer.STATE), "rise": zeros(Buffer.STATE)},
            Buffer.ACC: {"acc": zeros(Buffer.ACC, config.lanes)},
        }
        self.written = {buffer: np.zeros(buffer_size(config, buffer), bool) for buffer in Buffer}

    def read(self, buffer, entries, what):
        entries = np.asarray(entries)
        if entries.size and not self.written[buffer][entries].all():
            raise CommandError(f"{what} reads {Buffer(buffer).name} entries that no command "
                               f"wrote")
        return {name: array[entries] for name, array in self.memory[buffer].items()}

    def write(self, buffer, entries, **fields):
        entries = np.asarray(entries)
        for name, values in fields.items():
            self.memory[buffer][name][entries] = values
        self.written[buffer][entries] = True


class Host:
    """The host end of the data stream: LOADs take `images` in order (an image is a dict
    of arrays, or a function of everything stored so far, for a step the host computes);
    STOREs append to `stored`."""

    def __init__(self, images):
        self._images = list(images)
        self.stored = []

    def next_image(self):
        if not self._images:
            raise CommandError("a LOAD found no more data from the host")
        image = self._images.pop(0)
        return image(self.stored) if callable(image) else image


class TraceRecorder:
    """Assembles what the commands compute, block by block, into whole tensors: a
    command's `trace` names each kind of result and the row where its block starts."""

    def __init__(self):
        self.tensors = {}
        self.kinds = {}

    def to_trace(self, config):
        """The tensors as a `Trace`, each with the format of its kind."""
        formats = {
            "acc": f"signed {config.acc_bits}-bit accumulators",
            "y": f"signed PPU output (ppu_bits={config.ppu_bits}, or logits of "
                 f"{config.softmax_logit_bits} bits with {config.softmax_frac_bits} fraction bits)",
            "values": f"{config.format_name} values",
            "scales": f"unsigned {config.scale_bits}-bit per-vector scales",
            "row_max": "softmax running max, whole units",
            "row_sum": f"softmax denominator, {config.softmax_exp_bits} fraction bits",
            "reciprocal": f"floor(2^{config.softmax_recip_shift} / d), "
                          f"{config.softmax_recip_bits} bits",
            "exponentials": f"2^(x - m), {config.softmax_exp_bits} fraction bits",
        }
        trace = Trace()
        for name, values in self.tensors.items():
            trace.add(name, values, formats[self.kinds[name]])
        return trace

    def add(self, names, row, columns=None, **results):
        """Put each result's block at `row` and at the column `columns[kind]` (0 when
        not given: a block of whole rows)."""
        for kind, values in results.items():
            name = (names or {}).get(kind)
            if name is None or values is None:
                continue
            self.kinds[name] = kind
            values = np.asarray(values)
            column = (columns or {}).get(kind, 0)
            have = self.tensors.get(name)
            shape = (row + len(values),) + values.shape[1:]
            if values.ndim > 1:
                shape = shape[:1] + (column + values.shape[1],) + shape[2:]
            if have is None:
                have = np.zeros(shape, values.dtype)
            elif have.shape[:2] < shape[:2] or any(a < b for a, b in zip(have.shape, shape)):
                grown = np.zeros(tuple(max(a, b) for a, b in zip(have.shape, shape)),
                                 have.dtype)
                grown[tuple(slice(0, n) for n in have.shape)] = have
                have = grown
            if values.ndim > 1:
                have[row:row + len(values), column:column + values.shape[1]] = values
            else:
                have[row:row + len(values)] = values
            self.tensors[name] = have


def interpret(commands, host, config, recorder=None, after=None):
    """Run the commands to their End on a fresh Machine; returns the Machine.
    `after(index, command, machine)` is called as each command finishes (a testbench
    compares the hardware's buffers with the machine's there)."""
    machine = Machine(config)
    in_flight = []
    for index, command in enumerate(commands):
        where = f"command {index} ({type(command).__name__})"
        _check_bounds(command, config, where)
        if command.wait:
            in_flight = []
        conflict = hazard(command, in_flight, config)
        if conflict is not None:
            raise CommandError(f"{where} has no wait but conflicts with a "
                               f"{type(conflict).__name__} still in flight")
        in_flight.append(command)
        if isinstance(command, End):
            return machine
        names = (command.trace or {}).get("names")
        row = (command.trace or {}).get("row", 0)
        columns = (command.trace or {}).get("columns")
        results = _EXECUTE[type(command)](machine, command, host, where)
        if recorder is not None:
            recorder.add(names, row, columns, **results)
        if after is not None:
            after(index, command, machine)
    raise CommandError("the command list has no End")


def _check_bounds(command, config, where):
    for buffer, first, stop, _ in footprint(command, config):
        size = buffer_size(config, buffer)
        if first < 0 or stop > size:
            raise CommandError(f"{where} reaches {Buffer(buffer).name} entries "
                               f"{first}..{stop - 1}, beyond its {size} entries")
    for name in {Matmul: ("format", "out_format"), Softmax: ("format",)}.get(type(command), ()):
        if getattr(command, name) >= len(config.supported_formats):
            raise CommandError(f"{where} names {name} {getattr(command, name)}; this array "
                               f"runs {', '.join(config.supported_formats)} (0..."
                               f"{len(config.supported_formats) - 1})")
    if isinstance(command, Matmul):
        if command.output == Output.LOGITS and command.n > config.softmax_max_row:
            raise CommandError(f"{where} writes rows of {command.n} logits, longer than "
                               f"softmax_max_row={config.softmax_max_row}")
        if command.dest not in RESULT_BUFFERS[command.output]:
            raise CommandError(f"{where} writes {Output(command.output).name} into "
                               f"{Buffer(command.dest).name}")
        if command.rescale and not command.accumulate:
            raise CommandError(f"{where} rescales ACC but does not accumulate")
        if command.gelu and command.output in (Output.ACC, Output.LOGITS):
            raise CommandError(f"{where} asks for a GELU of {Output(command.output).name}: "
                               "only Y and OPERAND go through it")
        if command.gelu and not config.ppu_gelu:
            raise CommandError(f"{where} asks for a GELU; this configuration's PPU has none "
                               "(ppu_gelu)")
        if (command.accumulate or command.output == Output.ACC) and command.m > config.lanes:
            raise CommandError(f"{where} keeps {command.m} rows in ACC, whose entries hold "
                               f"columns of {config.lanes}")
    if isinstance(command, Softmax):
        if command.dest not in RESULT_BUFFERS[Output.OPERAND]:
            raise CommandError(f"{where} writes exponentials into {Buffer(command.dest).name}")
        if command.length > config.softmax_max_row:
            raise CommandError(f"{where} has rows of {command.length} logits, longer than "
                               f"softmax_max_row={config.softmax_max_row}")
    if isinstance(command, (Load, Store)) and command.buffer in (Buffer.SCORES, Buffer.STATE,
                                                                   Buffer.ACC):
        raise CommandError(f"{where} moves {Buffer(command.buffer).name}, which the host "
                           f"cannot reach")


def _row_entries(base, stride, rows, vectors):
    return (base + stride * np.arange(rows)[:, None] + np.arange(vectors)[None, :]).reshape(-1)


def _operand(machine, buffer, base, stride, rows, vectors, where, format):
    """A MATMUL's operand in `format` (`golden.entries`)."""
    config = machine.config
    entries = _row_entries(base, stride, rows, vectors * config.entries_per_vector(format))
    values, scales = operand_values(machine.read(buffer, entries, where), rows, vectors,
                                    config, format)
    return QuantizedRows(values, scales, np.ones((rows, 1)), config.vector_size,
                         vectors * config.vector_size)


def _write_operand(machine, buffer, base, stride, values, scales, format=None):
    """Rows of an operand in `format` (the entries' own if None) into their entries."""
    config = machine.config
    format = config.own_format if format is None else format
    fields = operand_entries(values, scales, config, format)
    entries = _row_entries(base, stride, len(values), len(fields["values"]) // len(values))
    machine.write(buffer, entries, **fields)


def _requantization(command):
    return Requantization(command.element_mult, command.element_shift, command.scale_mult,
                          command.scale_shift)


def _load(machine, command, host, where):
    image = host.next_image()
    entries = np.arange(command.base, command.base + command.count)
    fields = {name: np.asarray(values) for name, values in image.items()}
    for name, values in fields.items():
        if name not in machine.memory[command.buffer] or len(values) != command.count:
            raise CommandError(f"{where} expects {command.count} entries of "
                               f"{Buffer(command.buffer).name}, the host sent {name} "
                               f"of {len(values)}")
    machine.write(command.buffer, entries, **fields)
    format = (command.trace or {}).get("format")
    if format is None:
        return fields
    # An operand's rows, recorded as their values and scales (`golden.entries`).
    vectors = command.trace["vectors"]
    values, scales = operand_values(fields, command.count // (
        vectors * machine.config.entries_per_vector(format)), vectors, machine.config, format)
    return {"values": values, "scales": scales}


def _store(machine, command, host, where):
    data = machine.read(command.buffer, np.arange(command.base, command.base + command.count),
                        where)
    host.stored.append(data)
    return {}


def _matmul(machine, command, host, where):
    config = machine.config
    format = config.supported_formats[command.format]
    left = _operand(machine, Buffer.LEFT, command.left_base, command.left_stride, command.m,
                    command.k, where, format)
    right = _operand(machine, Buffer.RIGHT, command.right_base, command.right_stride,
                     command.n, command.k, where, format)
    initial = None
    columns_of_acc = command.acc_base + np.arange(command.n)
    if command.accumulate:
        initial = machine.read(Buffer.ACC, columns_of_acc, where)["acc"][:, :command.m].T
        if command.rescale:
            rises = machine.read(Buffer.STATE, command.state_base + np.arange(command.m),
                                 where)["rise"]
            initial = rescale_rows(initial, rises, config)
    acc = vsq_matmul(left, right, format_config(config, format), initial)
    if command.output == Output.ACC:
        words = np.zeros((command.n, config.lanes), np.int64)     # lanes past m hold 0
        words[:, :command.m] = acc.T
        machine.write(Buffer.ACC, columns_of_acc, acc=words)
        return {"acc": acc}
    columns = command.m if command.per_row else command.n
    params = machine.read(Buffer.PARAMS, command.params_base + np.arange(columns), where)
    scaling = Scaling(params["mult"], params["shift"], params["bias"])
    row_factor = None
    if command.row_scale:
        row_factor = machine.read(Buffer.STATE, command.state_base + np.arange(command.m),
                                  where)["reciprocal"]
    if command.output == Output.LOGITS:
        logits = scale(acc, scaling, command.relu, config.softmax_logit_bits, row_factor,
                       command.per_row)
        padded = np.zeros((command.m, config.softmax_max_row), np.int64)
        padded[:, :command.n] = logits
        machine.write(Buffer.SCORES, command.dest_base + np.arange(command.m), logits=padded)
        return {"acc": acc, "y": logits}
    y = scale(acc, scaling, command.relu, config.ppu_bits, row_factor, command.per_row,
              command.gelu_shift if command.gelu else None)
    if command.output == Output.Y:
        padded = np.pad(y, ((0, 0), (0, -command.n % config.vector_size)))
        entries = _row_entries(command.dest_base, command.dest_stride, command.m,
                               padded.shape[1] // config.vector_size)
        machine.write(Buffer.OUTPUT, entries, y=padded.reshape(-1, config.vector_size))
        return {"acc": acc, "y": y}
    out_format = config.supported_formats[command.out_format]
    values, scales = requantize_rows(y, _requantization(command),
                                     format_config(config, out_format))
    _write_operand(machine, command.dest, command.dest_base, command.dest_stride, values,
                   scales, out_format)
    return {"acc": acc, "y": y, "values": values, "scales": scales}


def _softmax(machine, command, host, where):
    config = machine.config
    rows = command.state_base + np.arange(command.rows)
    logits = machine.read(Buffer.SCORES, command.src_base + np.arange(command.rows),
                          where)["logits"][:, :command.length]
    keep = np.ones(logits.shape, bool)
    state = {}
    if command.loop1:
        if command.first:
            row_max, row_sum = softmax_start(command.rows, config)
        else:
            previous = machine.read(Buffer.STATE, rows, where)
            row_max, row_sum = previous["row_max"], previous["row_sum"]
        before = row_max
        row_max, row_sum = softmax_loop1(logits, keep, row_max, row_sum, config)
        rise = (np.zeros(command.rows, np.int64) if command.first
                else np.minimum(row_max - before, config.acc_bits))
        machine.write(Buffer.STATE, rows, row_max=row_max, row_sum=row_sum, rise=rise)
        state.update(row_max=row_max, row_sum=row_sum)
    if not command.loop2:
        return state
    current = machine.read(Buffer.STATE, rows, where)
    reciprocal = softmax_reciprocal(current["row_sum"], config)
    machine.write(Buffer.STATE, rows, reciprocal=reciprocal)
    exponentials = softmax_exponentials(logits, keep, current["row_max"], config)
    format = config.supported_formats[command.format]
    values, scales = requantize_rows(exponentials, _requantization(command),
                                     format_config(config, format))
    _write_operand(machine, command.dest, command.dest_base, command.dest_stride, values,
                   scales, format)
    return {**state, "reciprocal": reciprocal, "exponentials": exponentials, "values": values,
            "scales": scales}


_EXECUTE = {Load: _load, Store: _store, Matmul: _matmul, Softmax: _softmax}


def read_operand(machine, region):
    """(values rows x K, scales rows x K/V or None) of an operand region, in its format."""
    config = machine.config
    data = machine.read(region.buffer, _row_entries(region.base, region.stride, region.rows,
                                                    region.vectors), "read_operand")
    return operand_values(data, region.rows, region.vectors // region.passes, config,
                          region.format or config.own_format)


def run_program(program, config, recorder=None):
    """Run a compiled tile (`toolchain.compiler.Program`): its output y (rows x columns,
    in program.unit) as the host receives it, and the Machine afterwards."""
    host = Host(program.images)
    machine = interpret(program.commands, host, config, recorder)
    return program_output(program, host.stored), machine


def program_output(program, stored):
    """The output y of a program from what its STOREs sent: those of `output_stores`."""
    return stored_rows([stored[index] for index in program.output_stores], program.columns)


def stored_rows(blocks, columns):
    """A matrix's first `columns` (rows x columns) from the STOREs of its blocks of rows
    (each OUTPUT entries of y, whole vectors a row), in order."""
    blocks = [np.asarray(data["y"]) for data in blocks]
    width = -(-columns // blocks[0].shape[1]) * blocks[0].shape[1]
    return np.concatenate([block.reshape(-1, width) for block in blocks])[:, :columns]
