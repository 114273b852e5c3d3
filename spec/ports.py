"""The payloads of the emitted designs' streams and of the buffers' entries, as plain
descriptions: the RTL builds its Amaranth layouts from them (`hw.lib.layouts`), and the
testbenches pack and unpack words with them, so that both read one definition of every
port and neither needs the other.

A description is `Unsigned(bits)`, `Signed(bits)`, `Array(element, length)` (element 0
in the lowest bits) or `Struct({name: description, ...})` (the first field lowest).
`pack` turns a value (an int, a list, a dict) into the word; `unpack` turns a word back,
a struct into `Fields`, whose fields read as attributes.
"""

import enum
import types

from vsq_accel.spec.commands import SHIFT_BITS, Buffer
from vsq_accel.spec.timing import HOST_DATA_BITS

__all__ = ["Unsigned", "Signed", "Array", "Struct", "Fields", "OperandPart", "vsq_vector",
           "a_vector", "b_vector", "lane_vector", "lane_b_vector",
           "output_column", "softmax_beat", "softmax_input", "softmax_buffered_beat",
           "softmax_probs", "softmax_row_max", "softmax_state", "softmax_row", "score_column",
           "ppu_column", "gelu_fields", "ppu_y", "requant_parameter_fields",
           "operand_format_fields", "requant_column", "requant_vectors",
           "vectors_per_group", "row_beat", "row_vectors", "param_entry", "output_entry",
           "state_entry", "buffer_entry", "host_beat", "status"]


class Unsigned:
    signed = False

    def __init__(self, width):
        self.width = width

    def pack(self, value):
        value = int(value)
        low, high = (-(1 << (self.width - 1)), (1 << (self.width - 1)) - 1) if self.signed \
            else (0, (1 << self.width) - 1)
        if not low <= value <= high:
            raise ValueError(f"{value} does not fit {type(self).__name__.lower()}"
                             f"({self.width})")
        return value & ((1 << self.width) - 1)

    def unpack(self, bits):
        bits &= (1 << self.width) - 1
        if self.signed and bits >> (self.width - 1):
            bits -= 1 << self.width
        return bits


class Signed(Unsigned):
    signed = True


class Array:
    def __init__(self, element, length):
        self.element, self.length = element, length
        self.width = element.width * length

    def pack(self, values):
        values = list(values)
        if len(values) != self.length:
            raise ValueError(f"{len(values)} values for an array of {self.length}")
        word = 0
        for index, value in enumerate(values):
            word |= self.element.pack(value) << (index * self.element.width)
        return word

    def unpack(self, bits):
        return [self.element.unpack(bits >> (index * self.element.width))
                for index in range(self.length)]


class Fields(types.SimpleNamespace):
    """An unpacked struct: its fields as attributes (and items); equal to a dict of the
    same fields."""

    def __getitem__(self, name):
        return vars(self)[name]

    def __eq__(self, other):
        return vars(self) == (vars(other) if isinstance(other, Fields) else other)


class Struct:
    def __init__(self, fields):
        self.fields = dict(fields)
        self.width = sum(field.width for field in self.fields.values())

    def pack(self, values):
        unknown = set(values) - set(self.fields)
        if unknown:
            raise ValueError(f"no field {sorted(unknown)}; the fields are {list(self.fields)}")
        word, offset = 0, 0
        for name, field in self.fields.items():
            word |= field.pack(values.get(name, 0)) << offset
            offset += field.width
        return word

    def unpack(self, bits):
        fields, offset = {}, 0
        for name, field in self.fields.items():
            fields[name] = field.unpack(bits >> offset)
            offset += field.width
        return Fields(**fields)


def _flag():
    return Unsigned(1)


# -- MAC array --------------------------------------------------------------------------

class OperandPart(enum.IntEnum):
    """What an entry on its way to a lane is: a whole operand, or on a 4-bit array that
    runs INT8 (`config.nibble_passes`), the signed high or the unsigned low nibbles of an
    INT8 vector, the high one first."""

    WHOLE = 0
    HIGH = 1
    LOW = 2


def _operand_format(config, scaled):
    """The fields a multi-format array needs beside an operand: its `part`, with INT8 in
    nibble passes, and on B whether the vector scales apply (`scaled`, with VSQ among
    other formats)."""
    fields = {"part": Unsigned(2)} if config.nibble_passes else {}
    if scaled and config.vector_scales and len(config.supported_formats) > 1:
        fields["scaled"] = _flag()
    return fields


def vsq_vector(config):
    """V signed elements, element 0 at the least significant bits, then the vector's scale
    (absent without vector scales): a LEFT or RIGHT entry, and the array's A stream."""
    fields = {"data": Array(Signed(config.data_bits), config.vector_size)}
    if config.vector_scales:
        fields["scale"] = Unsigned(config.scale_bits)
    return Struct(fields)


def a_vector(config):
    """The array's A stream: an entry, and what part of its operand it is."""
    return Struct({"vector": vsq_vector(config), **_operand_format(config, scaled=False)})


def b_vector(config):
    """A B vector and `last`: it belongs to the final reduction slice of its tile; on the
    vectors of a tile's first slice, `init`: the column's accumulators start from these
    (0 but for a matmul that continues a reduction); and its format's fields."""
    return Struct({"vector": vsq_vector(config), "last": _flag(),
                   "init": output_column(config), **_operand_format(config, scaled=True)})


def lane_vector(config):
    """The A vector a lane holds: an entry's, with 8-bit elements on a 4-bit array that
    runs INT8 in nibble passes."""
    fields = {"data": Array(Signed(config.lane_data_bits), config.vector_size)}
    if config.vector_scales:
        fields["scale"] = Unsigned(config.scale_bits)
    return Struct(fields)


def lane_b_vector(config):
    """The B vector a lane takes: an entry's, with nibble passes its elements extended to
    5 bits as their part reads them (the high nibbles signed, the low ones not), so
    that no choice stands before the lanes' multipliers."""
    bits = config.data_bits + 1 if config.nibble_passes else config.data_bits
    fields = {"data": Array(Signed(bits), config.vector_size)}
    if config.vector_scales:
        fields["scale"] = Unsigned(config.scale_bits)
    return Struct(fields)


def output_column(config):
    """One finished column of an output tile: the accumulators of lanes 0..L-1."""
    return Array(Signed(config.acc_bits), config.lanes)


# -- Softmax unit -----------------------------------------------------------------------

def softmax_beat(config):
    """P logits of softmax_logit_bits, element 0 lowest; keep[i] = 0 masks logit i
    (padding); `last` ends the row; `exponentials` asks for the row's 2^(x - m) and r
    instead of its probabilities (the same on every beat of a row)."""
    lanes = config.softmax_lanes
    return Struct({"logits": Array(Signed(config.softmax_logit_bits), lanes),
                   "keep": Unsigned(lanes), "last": _flag(), "exponentials": _flag()})


def softmax_input(config):
    """A beat into the softmax unit: `resume` (on a row's first beat) continues the row
    from `start_max` and `start_sum` instead of the start values, as a SOFTMAX does that
    is not `first`."""
    return Struct({"beat": softmax_beat(config), "resume": _flag(),
                   "start_max": softmax_row_max(config),
                   "start_sum": Unsigned(config.softmax_sum_bits)})


def softmax_buffered_beat(config):
    """A beat as the logit buffer keeps it: `piece_end` closes the part of the row one
    reciprocal serves (the row, or a max_row piece of an overlong row)."""
    return Struct({"beat": softmax_beat(config), "piece_end": _flag()})


def softmax_probs(config):
    """P values: probabilities Q0.(out_bits-1), or in exponential mode 2^(x - m) with
    softmax_exp_bits fraction bits; `keep` as in the input (a masked value is 0); the
    row's reciprocal r = floor(2^k / d), and its state after it (`softmax_state`), on
    every beat; `last` as in the input; `error`: the row was longer than
    softmax_max_row, and its values (and r) are 0."""
    return Struct({"values": Array(Unsigned(config.softmax_value_bits), config.softmax_lanes),
                   "keep": Unsigned(config.softmax_lanes),
                   "reciprocal": Unsigned(config.softmax_recip_bits),
                   **softmax_state(config).fields, "last": _flag(), "error": _flag()})


def softmax_row_max(config):
    """The running max: an integer (whole units) in the logits' range."""
    return Signed(config.softmax_logit_bits)


def softmax_state(config):
    """What a row carries from one SOFTMAX to the next: its running max (whole units), its
    running sum (E fraction bits) and the max's rise over the last SOFTMAX (at most
    acc_bits; 0 for a row started afresh)."""
    return Struct({"row_max": softmax_row_max(config),
                   "row_sum": Unsigned(config.softmax_sum_bits), "rise": Unsigned(SHIFT_BITS)})


def softmax_row(config):
    """What loop 2 needs of a row besides its logits, and passes on: the row's state
    after loop 1, and whether the row was too long."""
    return Struct({**softmax_state(config).fields, "error": _flag()})


def score_column(config):
    """A column of S (one logit of each of L query rows) into the corner turn, as the
    controller marks it: `keep` (a key of the block, not a column the array padded),
    `last` (the block's last key), the block's query `rows` (at most L) and the softmax
    mode of its rows."""
    return Struct({"logits": Array(Signed(config.softmax_logit_bits), config.lanes),
                   "keep": _flag(), "last": _flag(),
                   "rows": Unsigned(config.lanes.bit_length()), "exponentials": _flag()})


# -- Post-processing unit ---------------------------------------------------------------

def ppu_column(config):
    """A column of L accumulators with each lane's parameters, as the controller gives
    them: the multiplier, shift and bias of the column (the same in every lane) or of
    each lane's row (a result produced transposed), the row's softmax reciprocal r (1
    when rows are not scaled), and the matmul's mode: ReLU, and logits (saturate to the
    logit width instead of ppu_bits), and on a PPU with a GELU (`ppu_gelu`) the GELU
    and y's unit 2^-gelu_shift. `last` passes through."""
    lanes = config.lanes
    return Struct({"acc": Array(Signed(config.acc_bits), lanes),
                   "mult": Array(Unsigned(config.ppu_mult_bits), lanes),
                   "shift": Array(Unsigned(SHIFT_BITS), lanes),
                   "bias": Array(Signed(config.ppu_bits), lanes),
                   "reciprocal": Array(Unsigned(config.softmax_recip_bits), lanes),
                   "relu": _flag(), "logits": _flag(), **gelu_fields(config), "last": _flag()})


def gelu_fields(config):
    """A matmul's GELU and its shift, on a PPU that has one."""
    return {"gelu": _flag(), "gelu_shift": Unsigned(SHIFT_BITS)} if config.ppu_gelu else {}


def ppu_y(config):
    """A column of L outputs y (logits, sign-extended, in logits mode) and `last`."""
    return Struct({"y": Array(Signed(config.ppu_bits), config.lanes), "last": _flag()})


def requant_parameter_fields(config):
    """The requantization's parameters (`golden.ppu.Requantization`), as fields of a
    stream's payload."""
    return {"element_mult": Unsigned(config.ppu_mult_bits),
            "element_shift": Unsigned(SHIFT_BITS),
            "scale_mult": Unsigned(config.ppu_mult_bits), "scale_shift": Unsigned(SHIFT_BITS)}


def operand_format_fields(config):
    """The format a requantizer makes its operands in, where it has a choice: `wide`,
    INT8 (in nibble passes), and `scaled`, with vector scales."""
    fields = {"wide": _flag()} if config.nibble_passes else {}
    if config.vector_scales and len(config.supported_formats) > 1:
        fields["scaled"] = _flag()
    return fields


def requant_column(config):
    """A column of y (one element of each lane's row) into the requantizer and where it
    stands, as the controller marks it: `keep` (a column of the result, not one the array
    padded), `vector_end` (it closes its rows' vectors: the V-th kept column, or the
    row's last), `last` (the matmul's last column); and the requantization's parameters,
    the same for the whole matmul, and the format of the operands (on a multi-format
    array)."""
    return Struct({"y": Array(Signed(config.ppu_input_bits), config.lanes),
                   "keep": _flag(), "vector_end": _flag(), "last": _flag(),
                   **requant_parameter_fields(config), **operand_format_fields(config)})


def requant_vectors(config):
    """One operand vector (V elements, its scale) per lane, and `last`."""
    return Struct({"vectors": Array(vsq_vector(config), config.lanes), "last": _flag()})


def vectors_per_group(config):
    """Q = ceil(P / V): the vectors a beat of P values can complete."""
    return -(-config.softmax_lanes // config.vector_size)


def row_beat(config):
    """A beat of the softmax unit's output into the row requantizer (`keep`: which values
    belong to the row, a prefix of the beat) and the requantization's parameters and
    format, which the controller attaches, the same for the whole command."""
    return Struct({"beat": softmax_probs(config), **requant_parameter_fields(config),
                   **operand_format_fields(config)})


def row_vectors(config):
    """Q vector slots of which the first `count` hold the row's next vectors (with their
    scales; 8-bit elements where INT8 runs in nibble passes); `row_end`: the group holds
    the row's last vector, with the row's reciprocal r and `error` from the softmax."""
    slots = vectors_per_group(config)
    return Struct({"vectors": Array(lane_vector(config), slots),
                   "count": Unsigned(slots.bit_length()), "row_end": _flag(),
                   "reciprocal": Unsigned(config.softmax_recip_bits),
                   **softmax_state(config).fields, "error": _flag()})


# -- Buffer entries and the host ---------------------------------------------------------

def param_entry(config):
    """A PARAMS entry: the multiplier, shift and bias of one output column (or row)."""
    return Struct({"mult": Unsigned(config.ppu_mult_bits), "shift": Unsigned(SHIFT_BITS),
                   "bias": Signed(config.ppu_bits)})


def output_entry(config):
    """An OUTPUT entry: V outputs y of one row, element 0 lowest."""
    return Array(Signed(config.ppu_bits), config.vector_size)


def state_entry(config):
    """A STATE entry: a softmax row's state (`softmax_state`) and its reciprocal r."""
    state = softmax_state(config).fields
    return Struct({"row_max": state["row_max"], "row_sum": state["row_sum"],
                   "reciprocal": Unsigned(config.softmax_recip_bits), "rise": state["rise"]})


def buffer_entry(config, buffer):
    """An entry of LEFT, RIGHT, PARAMS, OUTPUT, STATE or ACC as the RTL's memory holds it
    (and the host's streams carry it; SCORES lives inside the corner turn)."""
    entries = {Buffer.LEFT: vsq_vector, Buffer.RIGHT: vsq_vector, Buffer.PARAMS: param_entry,
               Buffer.OUTPUT: output_entry, Buffer.STATE: state_entry,
               Buffer.ACC: output_column}
    if buffer not in entries:
        raise ValueError(f"{Buffer(buffer).name} has no entries outside its unit")
    return entries[buffer](config)


def host_beat():
    """A beat of the host's data streams: HOST_DATA_BITS of an entry, and `last`."""
    return Struct({"data": Unsigned(HOST_DATA_BITS), "last": _flag()})


def status():
    """The status register: `busy` (started, not yet stopped), `done` (stopped at End),
    `error` (stopped on a command it refused, `code` saying why: `EngineError`),
    `command`: the index of the next command to start, or of the one that stopped the
    engine."""
    return Struct({"busy": _flag(), "done": _flag(), "error": _flag(),
                   "reserved": Unsigned(5), "code": Unsigned(8), "command": Unsigned(16)})
