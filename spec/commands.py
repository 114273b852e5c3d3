"""The accelerator's command set: what the controller executes, one word per command.

A tile is a list of commands over the on-chip buffers; the compiler (`toolchain.compiler`)
writes it, the interpreter (`toolchain.interpreter`) executes it with the golden integer
functions, the performance model costs it, and the RTL controller decodes it.

Buffers, addressed in entries:

| buffer | entry | size |
|---|---|---|
| LEFT, RIGHT | one V-element operand vector and its scale | left/right_buffer_vectors |
| OUTPUT | V PPU outputs y (ppu_bits each), for the host | output_buffer_vectors |
| PARAMS | multiplier, shift and bias of one output column or row | param_entries |
| SCORES | one row of up to softmax_max_row logits | score_rows (2 L) |
| STATE | one softmax row's running max, sum, reciprocal, and the max's rise in its last SOFTMAX | state_rows (2 L) |
| ACC | a column of L accumulators, one per row of a result of at most L rows | accumulator_entries |

A tensor of R rows with K elements along its reduction is R x ceil(K / V) entries,
row r's vector k at base + r * stride + k. Commands run in order; one whose `wait` bit
is set starts only once every earlier command has retired, one without may start as
soon as its units are free. The compiler sets `wait` exactly where a command touches an
entry that a command since the last wait writes (or writes one such a command reads):
`footprint` says what each command reads and writes, and the interpreter rejects a list
that breaks the rule.
"""

import dataclasses
import enum

__all__ = ["DIM_BITS", "SHIFT_BITS", "Op", "Buffer", "Output", "RESULT_BUFFERS", "End", "Load",
           "Store", "Matmul", "Softmax", "COMMANDS", "CommandError", "field_widths",
           "command_bits", "encode", "decode", "buffer_size", "entry_bits", "address_bits",
           "footprint", "hazard", "operand_entries_per_vector", "encoding_table"]


class CommandError(ValueError):
    """A command that names a region outside its buffer, a shape the hardware cannot
    run, or a field that does not fit its encoding."""


class Op(enum.IntEnum):
    END = 0
    LOAD = 1
    STORE = 2
    MATMUL = 3
    SOFTMAX = 4


class Buffer(enum.IntEnum):
    LEFT = 0
    RIGHT = 1
    OUTPUT = 2
    PARAMS = 3
    SCORES = 4
    STATE = 5
    ACC = 6


class Output(enum.IntEnum):
    """Where a matmul's results go, and through which part of the PPU."""

    ACC = 0        # raw accumulators into ACC (a reduction continued by a later matmul)
    Y = 1          # y = scaled + bias (+ ReLU), ppu_bits, into OUTPUT
    OPERAND = 2    # y requantized, vectors along each output row, into LEFT or RIGHT
    LOGITS = 3     # base-2 logits (softmax_logit_bits), one row per SCORES entry


# The buffers each kind of result may go to (the BUFFER check of the engine and of the
# golden interpreter); a SOFTMAX's exponentials are operands.
RESULT_BUFFERS = {Output.ACC: (Buffer.ACC,), Output.Y: (Buffer.OUTPUT,),
                  Output.OPERAND: (Buffer.LEFT, Buffer.RIGHT), Output.LOGITS: (Buffer.SCORES,)}


# A dimension of a command (rows, columns, vectors along the reduction).
DIM_BITS = 16
# A rounding shift of the PPU; the host's fixed-point scales never shift by more than 62.
SHIFT_BITS = 6
# Field kinds and their widths; `addr` holds any entry index or count of any buffer.
_KIND_BITS = {"op": lambda c: 3, "flag": lambda c: 1, "buffer": lambda c: 3,
              "output": lambda c: 2, "dim": lambda c: DIM_BITS, "shift": lambda c: SHIFT_BITS,
              "mult": lambda c: c.ppu_mult_bits, "format": lambda c: 2,
              "addr": lambda c: max(buffer_size(c, b) for b in Buffer).bit_length()}


def _field(kind, doc):
    return dataclasses.field(default=0, metadata={"kind": kind, "doc": doc})


@dataclasses.dataclass(frozen=True)
class End:
    """The list is done: the engine stops and reports done in its status."""

    OP = Op.END
    SUMMARY = "stop; the status reports done"
    wait: int = _field("flag", "start after every earlier command has retired")
    trace: dict | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Load:
    """`count` entries from the host's data stream into buffer[base ..]."""

    OP = Op.LOAD
    SUMMARY = "host data stream -> buffer"
    wait: int = _field("flag", "start after every earlier command has retired")
    buffer: int = _field("buffer", "LEFT, RIGHT or PARAMS")
    base: int = _field("addr", "first entry")
    count: int = _field("addr", "entries")
    trace: dict | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Store:
    """`count` entries of buffer[base ..] to the host's data stream."""

    OP = Op.STORE
    SUMMARY = "buffer -> host data stream"
    wait: int = _field("flag", "start after every earlier command has retired")
    buffer: int = _field("buffer", "OUTPUT (or any buffer, for debugging)")
    base: int = _field("addr", "first entry")
    count: int = _field("addr", "entries")
    trace: dict | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Matmul:
    """C (m x n) = A (m x k vectors, LEFT) @ B (k vectors x n; B^T's rows in RIGHT),
    then the PPU: y = saturate(relu?(rhu(acc [* r_i] * mult, shift) + bias)), GELU'd if
    asked (`golden.gelu`), its output as `output` says."""

    OP = Op.MATMUL
    SUMMARY = "A (LEFT) @ B (RIGHT) on the array, then the PPU"
    wait: int = _field("flag", "start after every earlier command has retired")
    left_base: int = _field("addr", "LEFT entry of A's row 0, vector 0")
    left_stride: int = _field("addr", "LEFT entries from one row of A to the next")
    right_base: int = _field("addr", "RIGHT entry of B^T's row 0, vector 0")
    right_stride: int = _field("addr", "RIGHT entries from one row of B^T to the next")
    m: int = _field("dim", "rows of the result")
    n: int = _field("dim", "columns of the result")
    k: int = _field("dim", "vectors along the reduction")
    output: int = _field("output", "ACC, Y, OPERAND or LOGITS")
    relu: int = _field("flag", "y = max(y, 0) before saturation")
    gelu: int = _field("flag", "y = GELU(y) after saturation (Y or OPERAND, on a PPU with "
                       "ppu_gelu)")
    gelu_shift: int = _field("shift", "GELU: y's unit is 2^-gelu_shift")
    row_scale: int = _field("flag",
                            "multiply row i by the softmax reciprocal STATE[state_base + i]")
    per_row: int = _field("flag", "PPU parameters per result row (a result produced transposed)")
    accumulate: int = _field("flag", "start from ACC[acc_base ..] instead of 0 (m <= L)")
    rescale: int = _field("flag", "ACC's row i first divided by 2^(STATE[state_base + i].rise)")
    params_base: int = _field("addr", "PARAMS entry of column (or row) 0")
    state_base: int = _field("addr", "STATE entry of row 0 (row_scale)")
    acc_base: int = _field("addr", "ACC entry of C's column 0, C[i, j] in entry acc_base + j, "
                           "lane i")
    dest: int = _field("buffer", "LEFT or RIGHT (OPERAND), OUTPUT (Y), SCORES, ACC")
    dest_base: int = _field("addr", "first entry written")
    dest_stride: int = _field("addr", "entries from one result row to the next")
    element_mult: int = _field("mult", "requantization: y's unit / gamma")
    element_shift: int = _field("shift", "its shift")
    scale_mult: int = _field("mult", "requantization: y's unit / (qmax gamma), VSQ")
    scale_shift: int = _field("shift", "its shift")
    format: int = _field("format", "A's and B's format: formats[format] of the configuration "
                         "(`supported_formats`), 0 the entries' own; INT8 on a 4-bit array "
                         "is two entries a vector")
    out_format: int = _field("format", "OPERAND: the format of the requantized result, as "
                             "`format`")
    trace: dict | None = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Softmax:
    """Rows of logits SCORES[src_base ..][:length]: loop 1 continues each row's running
    max and sum in STATE (from the start values when `first`), and records by how much
    the max rose (`rise`, at most acc_bits; 0 when `first`); loop 2 forms r = floor(2^k / d)
    into STATE and the exponentials 2^(x - m), requantized with vectors along the keys
    into `dest`, in `format`."""

    OP = Op.SOFTMAX
    SUMMARY = "softmax loops over SCORES rows; exponentials requantized into LEFT"
    wait: int = _field("flag", "start after every earlier command has retired")
    src_base: int = _field("addr", "SCORES row of the first row")
    rows: int = _field("dim", "rows")
    length: int = _field("dim", "logits per row")
    loop1: int = _field("flag", "run loop 1 (max and sum) over these logits")
    first: int = _field("flag", "loop 1 starts the rows afresh")
    loop2: int = _field("flag", "run loop 2 (reciprocal, exponentials)")
    state_base: int = _field("addr", "STATE entry of the first row")
    dest: int = _field("buffer", "LEFT (loop 2's exponentials)")
    dest_base: int = _field("addr", "first entry written")
    dest_stride: int = _field("addr", "entries from one row to the next")
    element_mult: int = _field("mult", "requantization of the exponentials, as Matmul's")
    element_shift: int = _field("shift", "its shift")
    scale_mult: int = _field("mult", "as Matmul's")
    scale_shift: int = _field("shift", "its shift")
    format: int = _field("format", "the exponentials' format, as MATMUL's out_format (P V "
                         "reads them in it)")
    trace: dict | None = dataclasses.field(default=None, compare=False)


COMMANDS = {cls.OP: cls for cls in (End, Load, Store, Matmul, Softmax)}


def address_bits(config):
    """Width of an `addr` field: holds any entry index or count of any buffer."""
    return _KIND_BITS["addr"](config)


def buffer_size(config, buffer):
    """Entries of a buffer."""
    return {Buffer.LEFT: config.left_buffer_vectors, Buffer.RIGHT: config.right_buffer_vectors,
            Buffer.OUTPUT: config.output_buffer_vectors, Buffer.PARAMS: config.param_entries,
            Buffer.SCORES: config.score_rows, Buffer.STATE: config.state_rows,
            Buffer.ACC: config.accumulator_entries}[Buffer(buffer)]


def entry_bits(config, buffer):
    """Bits of one entry of a buffer."""
    operand = config.vector_size * config.data_bits + (
        config.scale_bits if config.vector_scales else 0)
    return {Buffer.LEFT: operand, Buffer.RIGHT: operand,
            Buffer.OUTPUT: config.vector_size * config.ppu_bits,
            Buffer.PARAMS: config.ppu_mult_bits + SHIFT_BITS + config.ppu_bits,
            Buffer.SCORES: config.softmax_max_row * config.softmax_logit_bits,
            Buffer.STATE: config.softmax_logit_bits + config.softmax_sum_bits
            + config.softmax_recip_bits + SHIFT_BITS,
            Buffer.ACC: config.lanes * config.acc_bits}[Buffer(buffer)]


def field_widths(cls, config):
    """[(field, bits, description)] of a command, in encoding order after the opcode."""
    return [(field.name, _KIND_BITS[field.metadata["kind"]](config), field.metadata["doc"])
            for field in dataclasses.fields(cls) if "kind" in field.metadata]


def command_bits(config):
    """Width of a command word: the longest command, rounded up to 32-bit words."""
    longest = max(3 + sum(bits for _, bits, _ in field_widths(cls, config))
                  for cls in COMMANDS.values())
    return -(-longest // 32) * 32


def encode(command, config):
    """The command word: opcode in bits 0..2, then the fields in order, LSB first."""
    word, offset = int(command.OP), 3
    for name, bits, _ in field_widths(type(command), config):
        value = getattr(command, name)
        if not 0 <= value < (1 << bits):
            raise CommandError(f"{type(command).__name__}.{name}={value} does not fit its "
                               f"{bits}-bit field")
        word |= int(value) << offset
        offset += bits
    return word


def decode(word, config):
    """The command of a word (inverse of `encode`)."""
    op = word & 7
    if op not in COMMANDS:
        raise CommandError(f"opcode {op} is not a command")
    cls, offset, values = COMMANDS[op], 3, {}
    for name, bits, _ in field_widths(cls, config):
        values[name] = (word >> offset) & ((1 << bits) - 1)
        offset += bits
    return cls(**values)


def footprint(command, config):
    """[(buffer, first, stop, writes)]: the entry ranges a command reads and writes
    (strided rows counted as the whole span they cover)."""
    vectors = -(-command.n // config.vector_size) if isinstance(command, Matmul) else 0
    if isinstance(command, Load):
        return [(command.buffer, command.base, command.base + command.count, True)]
    if isinstance(command, Store):
        return [(command.buffer, command.base, command.base + command.count, False)]
    if isinstance(command, Matmul):
        entries = command.k * operand_entries_per_vector(command, config)
        spans = [_rows(Buffer.LEFT, command.left_base, command.left_stride, command.m,
                       entries, False),
                 _rows(Buffer.RIGHT, command.right_base, command.right_stride, command.n,
                       entries, False)]
        columns = command.m if command.per_row else command.n
        if command.output != Output.ACC:
            spans.append((Buffer.PARAMS, command.params_base, command.params_base + columns,
                          False))
        if command.row_scale or command.rescale:
            spans.append((Buffer.STATE, command.state_base, command.state_base + command.m,
                          False))
        if command.accumulate:
            spans.append((Buffer.ACC, command.acc_base, command.acc_base + command.n, False))
        if command.output == Output.ACC:
            spans.append((Buffer.ACC, command.acc_base, command.acc_base + command.n, True))
        elif command.output == Output.LOGITS:
            spans.append((Buffer.SCORES, command.dest_base, command.dest_base + command.m,
                          True))
        else:
            if command.output == Output.OPERAND:
                vectors *= _entries_per_vector(command.out_format, config)
            spans.append(_rows(command.dest, command.dest_base, command.dest_stride,
                               command.m, vectors, True))
        return spans
    if isinstance(command, Softmax):
        spans = [(Buffer.SCORES, command.src_base, command.src_base + command.rows, False),
                 (Buffer.STATE, command.state_base, command.state_base + command.rows,
                  bool(command.loop1 or command.loop2))]
        if command.loop2:
            vectors = -(-command.length // config.vector_size)
            spans.append(_rows(command.dest, command.dest_base, command.dest_stride,
                               command.rows, vectors * _entries_per_vector(command.format,
                                                                          config), True))
        return spans
    return []


def operand_entries_per_vector(command, config):
    """Entries of each of a MATMUL's operand vectors (1 for a format it cannot run)."""
    return _entries_per_vector(command.format, config)


def _entries_per_vector(code, config):
    formats = config.supported_formats
    return config.entries_per_vector(formats[code]) if code < len(formats) else 1


def _rows(buffer, base, stride, rows, vectors, writes):
    stop = base + (rows - 1) * stride + vectors if rows and vectors else base
    return (buffer, base, stop, writes)


def hazard(command, in_flight, config):
    """The first command of `in_flight` (started, maybe not retired) that `command`
    conflicts with: it writes what `command` touches, or reads what `command` writes."""
    mine = footprint(command, config)
    for other in in_flight:
        for buffer, first, stop, writes in footprint(other, config):
            for my_buffer, my_first, my_stop, my_writes in mine:
                if (buffer == my_buffer and (writes or my_writes)
                        and first < my_stop and my_first < stop):
                    return other
    return None


def encoding_table(config):
    """The encoding as a Markdown table: each command's fields, bits and meaning."""
    lines = [f"Command words of {command_bits(config)} bits; opcode in bits 0..2, then the "
             "fields in order, LSB first.", "",
             "| command | field | bits | meaning |", "|---|---|---|---|"]
    for op, cls in COMMANDS.items():
        lines.append(f"| {cls.__name__} ({int(op)}) | | | {cls.SUMMARY} |")
        lines += [f"| | {name} | {bits} | {doc} |" for name, bits, doc in field_widths(cls, config)]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    from vsq_accel.spec.config import AcceleratorConfig

    print(encoding_table(AcceleratorConfig.load_for_command_line(
        sys.argv[1] if len(sys.argv) > 1 else None)))
