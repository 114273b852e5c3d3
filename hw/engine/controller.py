"""The tile engine's controller: the command memory, fetch and check, status and cycles."""

import enum

from amaranth import Array, Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import equals
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.commands import (RESULT_BUFFERS, Buffer, End, Load, Matmul, Op, Output,
                                     Softmax, buffer_size, command_bits, field_widths)
from vsq_accel.spec.host_interface import EngineError, Slot, command_word_bits
from vsq_accel.spec.timing import COMMAND_CHECK_STAGES, COMMAND_ENTRIES, check_stages

__all__ = ["Controller", "command_layout"]

# The buffers a LOAD writes; a STORE also reads OUTPUT.
LOADABLE = (Buffer.LEFT, Buffer.RIGHT, Buffer.PARAMS)


class _State(enum.IntEnum):
    STOPPED = 0
    FETCH = 1
    LATCH = 2
    CHECK = 3
    DECIDE = 4


def command_layout(cls, config):
    """The fields of a command word, as `spec.commands.encode` places them."""
    return data.StructLayout({"op": 3, **{name: bits for name, bits, _
                                          in field_widths(cls, config)}})


class Controller(wiring.Component):
    """Runs the command list from entry 0, in order: fetches a command, checks it, and
    hands it to the engine (`dispatch`, with the word on `command`) once its slot is
    free (`Slot`: the slot's previous command has retired; with the command's `wait`
    bit, every earlier command has). The check is a pipeline of `COMMAND_CHECK_STAGES`
    registers (`command_error`) through which the latched word settles. While a command
    runs, the next is fetched and checked, so the next weights load beside the current
    matmul, and the next block of logits is computed beside the softmax of this one. A
    command that fails its check stops the engine with the reason in the status, End
    with `done`, each once the commands before it have retired. The cycle counter
    counts from `start` to the stop.

    Members
    -------
    start : In(1)
    write_addr, write_data, write_en : In
        The host's writes into the command memory, a 32-bit word at a time.
    command : Out(command_bits(config))
    dispatch : Out(1)
    idle : In(len(Slot))
        Per `Slot`: its units have no job left.
    retire : Out(len(Slot))
        Per `Slot`: its command retired this cycle (the command `running[slot]`).
    running : Out(ArrayLayout(command index, len(Slot)))
        Per `Slot`: the index of the command it runs (or last ran).
    status : Out(ports.status())
    cycles : Out(64)
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "start": In(1),
            "write_addr": In((COMMAND_ENTRIES - 1).bit_length() + command_word_bits(config)),
            "write_data": In(32),
            "write_en": In(1),
            "command": Out(command_bits(config)),
            "dispatch": Out(1),
            "idle": In(len(Slot)),
            "retire": Out(len(Slot)),
            "running": Out(data.ArrayLayout(range(COMMAND_ENTRIES), len(Slot))),
            "status": Out(layout(ports.status())),
            "cycles": Out(64),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        words = command_bits(config) // 32
        m.submodules.commands = commands = Memory(shape=unsigned(command_bits(config)),
                                                  depth=COMMAND_ENTRIES, init=[])
        write = commands.write_port(granularity=32)
        read = commands.read_port(transparent_for=())
        word_bits = command_word_bits(config)
        word = self.write_addr[:word_bits] if word_bits else 0
        m.d.comb += [write.addr.eq(self.write_addr[word_bits:]),
                     write.data.eq(self.write_data.replicate(words)),
                     write.en.eq(Mux(self.write_en, 1 << word, 0)[:words])]

        pc = Signal(range(COMMAND_ENTRIES))
        status = self.status
        m.d.comb += [read.addr.eq(pc), status.command.eq(pc)]
        with m.If(status.busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)

        # A slot's command may retire from the second cycle after its dispatch (its
        # units see their jobs the cycle after).
        occupied, started = Signal(len(Slot)), Signal(len(Slot))
        m.d.comb += self.retire.eq(occupied & started & self.idle)
        m.d.sync += started.eq(occupied & ~self.retire)
        m.d.sync += occupied.eq(occupied & ~self.retire)

        op = self.command[:3]
        slot = Signal(Slot)
        with m.If(equals(op, Op.LOAD) | (op == Op.STORE)):
            m.d.comb += slot.eq(Slot.HOST)
        with m.Elif(op == Op.SOFTMAX):
            m.d.comb += slot.eq(Slot.SOFTMAX)
        # What SCORES and STATE hold, kept across starts as the buffers are (a long
        # program runs as several lists, `command_lists`) and cleared by reset: the
        # blocks of logits, and the STATE rows a SOFTMAX has started.
        blocks = _scores_blocks()
        started_rows = Signal(config.state_rows)
        error = command_error(m, self.command, config, blocks, started_rows)
        waits = data.View(command_layout(End, config), self.command[:4]).wait
        stopping = error.any() | equals(op, Op.END)
        free = Mux(waits | stopping, ~occupied.any(), ~Array(occupied)[slot])

        # The states as a register decoded by a Switch (Amaranth's FSM compares the
        # state with 0 as a logical not, which Verilator's lint rejects).
        state = Signal(_State)
        checking = Signal(range(COMMAND_CHECK_STAGES))
        with m.Switch(state):
            with m.Case(_State.STOPPED):
                m.d.comb += read.en.eq(0)
                with m.If(self.start):
                    m.d.sync += [pc.eq(0), self.cycles.eq(0), status.busy.eq(1),
                                 status.done.eq(0), status.error.eq(0), status.code.eq(0),
                                 state.eq(_State.FETCH)]
            with m.Case(_State.FETCH):
                m.d.sync += state.eq(_State.LATCH)
            with m.Case(_State.LATCH):
                m.d.sync += [self.command.eq(read.data), checking.eq(0),
                             state.eq(_State.CHECK)]
            with m.Case(_State.CHECK):
                m.d.sync += checking.eq(checking + 1)
                with m.If(checking == COMMAND_CHECK_STAGES - 1):
                    m.d.sync += state.eq(_State.DECIDE)
            with m.Case(_State.DECIDE):
                with m.If(free & error.any()):
                    m.d.sync += [status.busy.eq(0), status.error.eq(1), status.code.eq(error),
                                 state.eq(_State.STOPPED)]
                with m.Elif(free & equals(op, Op.END)):
                    m.d.sync += [status.busy.eq(0), status.done.eq(1), state.eq(_State.STOPPED)]
                with m.Elif(free):
                    m.d.comb += self.dispatch.eq(1)
                    m.d.sync += [pc.eq(pc + 1), state.eq(_State.FETCH)]
                    with m.Switch(slot):
                        for index in Slot:
                            with m.Case(index):
                                m.d.sync += [occupied[index].eq(1),
                                             self.running[index].eq(pc)]
                    self._track_blocks(m, blocks, config)
                    self._track_started_rows(m, started_rows, config)
        return m

    def _track_started_rows(self, m, started_rows, config):
        """A dispatched SOFTMAX starts (or continues) its rows in STATE."""
        softmax = data.View(command_layout(Softmax, config),
                            self.command[:command_layout(Softmax, config).size])
        with m.If(self.command[:3] == Op.SOFTMAX):
            m.d.sync += started_rows.eq(started_rows | _rows_mask(softmax.state_base,
                                                                  softmax.rows, config))

    def _track_blocks(self, m, blocks, config):
        """A dispatched LOGITS matmul leaves a block in SCORES; a SOFTMAX takes the
        oldest."""
        matmul = data.View(command_layout(Matmul, config),
                           self.command[:command_layout(Matmul, config).size])
        logits = (self.command[:3] == Op.MATMUL) & (matmul.output == Output.LOGITS)
        for index, block in enumerate(blocks):
            newest = ~block.valid if index == 0 else blocks[0].valid    # the first free
            with m.If(logits & newest):
                m.d.sync += [block.valid.eq(1), block.base.eq(matmul.dest_base),
                             block.rows.eq(matmul.m), block.length.eq(matmul.n)]
        with m.If(self.command[:3] == Op.SOFTMAX):
            m.d.sync += [blocks[0].eq(blocks[1]), blocks[1].valid.eq(0)]


class _ScoresBlock(data.Struct):
    """A block of logits a LOGITS matmul put into SCORES for a SOFTMAX to read."""

    valid: 1
    base: 16
    rows: 16
    length: 16


def _scores_blocks():
    """The blocks in SCORES, oldest first: the corner turn holds two, and gives their
    rows in the order they came."""
    return [Signal(_ScoresBlock, name=f"scores_block{index}") for index in range(2)]


def _rows_between(base, end, config):
    """The STATE rows base .. end - 1, one bit each."""
    return Cat(*((base <= row) & (row < end) for row in range(config.state_rows)))


def _rows_mask(base, count, config):
    """The STATE rows base .. base + count - 1, one bit each."""
    return _rows_between(base, base + count, config)


def command_error(m, word, config, blocks, started_rows):
    """The EngineError of a command word, a pipeline of `COMMAND_CHECK_STAGES` registers
    that runs every cycle: the products and entry counts (``check_terms``), the ends of
    the regions (``check_ends``), each rule's condition (``check_rules``) and the error
    (``command_check``). The word, `blocks` and `started_rows` hold still while it
    settles. `blocks`: the blocks of logits in SCORES, oldest first (`_ScoresBlock`);
    the next SOFTMAX must read the oldest, and a LOGITS matmul needs a free one.
    `started_rows`: the STATE rows a SOFTMAX has started, which a resumed SOFTMAX and a
    rescaling MATMUL read."""
    block = blocks[0]
    views = {cls: data.View(command_layout(cls, config), word[:command_layout(cls, config).size])
             for cls in (Matmul, Softmax, Load)}
    matmul, softmax, host = views[Matmul], views[Softmax], views[Load]
    size = {buffer: buffer_size(config, buffer) for buffer in Buffer}

    # The registers before the error's, in order; a value of one reads only the word and
    # the values of the stages before it.
    stages = ("terms", "ends", "rules")
    check_stages("Controller's command check", len(stages) + 1, COMMAND_CHECK_STAGES)

    def registered(stage, name, value):
        register = Signal.like(value, name=f"check_{stage}_{name}", reset_less=True)
        m.d.sync += register.eq(value)
        return register

    def term(name, value):
        return registered("terms", name, value)

    def end(name, value):
        return registered("ends", name, value)

    def entries_of(name, buffer):
        """The entries of a buffer named by a field (0 for the ones no rule allows)."""
        result = Signal(range(max(size.values()) + 1), name=f"{name}_entries")
        with m.Switch(buffer):
            for code, entries in size.items():
                with m.Case(code):
                    m.d.comb += result.eq(entries)
        return term(f"{name}_entries", result)

    def region_end(name, base, stride, rows, vectors):
        """base + (rows - 1) x stride + vectors: one past the region's last entry."""
        product = term(f"{name}_product", rows * stride)
        return end(name, base + product - stride + vectors)

    def vectors_of(length):
        return (length + config.vector_size - 1) >> (config.vector_size.bit_length() - 1)

    def one_of(buffer, buffers):
        return Cat(*(equals(buffer, each) for each in buffers)).any()

    matmul_dest_allowed = 0
    for output, buffers in RESULT_BUFFERS.items():
        matmul_dest_allowed = Mux(equals(matmul.output, output), one_of(matmul.dest, buffers),
                                  matmul_dest_allowed)

    host_entries, matmul_dest, softmax_dest = (entries_of("host", host.buffer),
                                               entries_of("matmul_dest", matmul.dest),
                                               entries_of("softmax_dest", softmax.dest))
    lanes, max_row = config.lanes, config.softmax_max_row
    loadable = one_of(host.buffer, LOADABLE)
    logits = matmul.output == Output.LOGITS
    to_acc = equals(matmul.output, Output.ACC)
    uses_acc = to_acc | matmul.accumulate
    params_rows = Mux(matmul.per_row, matmul.m, matmul.n)
    # An INT8 operand in nibble passes takes two entries a vector.
    operand_entries, result_vectors = matmul.k, vectors_of(matmul.n)
    exp_entries = vectors_of(softmax.length)
    if config.nibble_passes:
        int8 = config.format_code("int8")
        operand_entries = Mux(equals(matmul.format, int8), matmul.k << 1, matmul.k)
        result_vectors = Mux(equals(matmul.out_format, int8) & (matmul.output == Output.OPERAND),
                             result_vectors << 1, result_vectors)
        exp_entries = Mux(equals(softmax.format, int8), exp_entries << 1, exp_entries)
    operand_entries, result_vectors, exp_entries = (
        term("operand_entries", operand_entries), term("result_vectors", result_vectors),
        term("exp_entries", exp_entries))
    host_end = end("host", host.base + host.count)
    left_end = region_end("left", matmul.left_base, matmul.left_stride, matmul.m,
                          operand_entries)
    right_end = region_end("right", matmul.right_base, matmul.right_stride, matmul.n,
                           operand_entries)
    matmul_dest_end = region_end("matmul_dest", matmul.dest_base, matmul.dest_stride,
                                 matmul.m, result_vectors)
    softmax_dest_end = region_end("softmax_dest", softmax.dest_base, softmax.dest_stride,
                                  softmax.rows, exp_entries)
    matmul_state_end = end("matmul_state", matmul.state_base + matmul.m)
    softmax_state_end = end("softmax_state", softmax.state_base + softmax.rows)
    checks = {
        Op.END: [],
        Op.LOAD: [(~loadable, EngineError.BUFFER),
                  (host_end > host_entries, EngineError.BOUNDS)],
        Op.STORE: [(~loadable & ~(host.buffer == Buffer.OUTPUT), EngineError.BUFFER),
                   (host_end > host_entries, EngineError.BOUNDS)],
        Op.MATMUL: [
            ((matmul.format >= len(config.supported_formats))
             | (matmul.out_format >= len(config.supported_formats)), EngineError.FORMAT),
            (~matmul.m.any() | ~matmul.n.any() | ~matmul.k.any(), EngineError.SHAPE),
            ((uses_acc & (matmul.m > lanes)) | (matmul.rescale & ~matmul.accumulate)
             | (logits & ((matmul.m > lanes) | blocks[1].valid))
             | (matmul.gelu & (logits | to_acc)), EngineError.UNSUPPORTED),
            *([] if config.ppu_gelu else [(matmul.gelu, EngineError.ACTIVATION)]),
            (~matmul_dest_allowed, EngineError.BUFFER),
            (logits & (matmul.n > max_row), EngineError.SHAPE),
            ((left_end > size[Buffer.LEFT]) | (right_end > size[Buffer.RIGHT])
             | (end("params", matmul.params_base + params_rows) > size[Buffer.PARAMS])
             | ((matmul.row_scale | matmul.rescale) & (matmul_state_end > size[Buffer.STATE]))
             | (uses_acc & (end("acc", matmul.acc_base + matmul.n) > size[Buffer.ACC]))
             | Mux(logits, end("scores", matmul.dest_base + matmul.m) > size[Buffer.SCORES],
                   ~to_acc & (matmul_dest_end > matmul_dest)), EngineError.BOUNDS),
            (matmul.rescale & (_rows_between(matmul.state_base, matmul_state_end, config)
                               & ~started_rows).any(), EngineError.STATE),
        ],
        Op.SOFTMAX: [
            (softmax.format >= len(config.supported_formats), EngineError.FORMAT),
            (~softmax.rows.any() | ~softmax.length.any() | (softmax.length > max_row),
             EngineError.SHAPE),
            (~(softmax.loop1 & softmax.loop2) | (softmax.rows > lanes)
             | ~block.valid | (softmax.src_base != block.base) | (softmax.rows != block.rows)
             | (softmax.length != block.length), EngineError.UNSUPPORTED),
            (~one_of(softmax.dest, RESULT_BUFFERS[Output.OPERAND]), EngineError.BUFFER),
            ((end("src", softmax.src_base + softmax.rows) > size[Buffer.SCORES])
             | (softmax_state_end > size[Buffer.STATE])
             | (softmax_dest_end > softmax_dest), EngineError.BOUNDS),
            (~softmax.first & (_rows_between(softmax.state_base, softmax_state_end, config)
                               & ~started_rows).any(), EngineError.STATE),
        ],
    }
    held = {op: [(registered("rules", f"{op.name.lower()}{index}", condition), code)
                 for index, (condition, code) in enumerate(rules)]
            for op, rules in checks.items()}
    error = Signal(EngineError, name="command_check", reset_less=True)
    with m.Switch(word[:3]):
        for op, rules in held.items():
            with m.Case(op):
                m.d.sync += error.eq(EngineError.NONE)
                for index, (holds, code) in enumerate(rules):
                    with (m.If(holds) if index == 0 else m.Elif(holds)):
                        m.d.sync += error.eq(code)
        with m.Default():
            m.d.sync += error.eq(EngineError.OPCODE)
    return error
