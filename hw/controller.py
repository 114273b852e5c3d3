"""The tile engine's controller: the command memory, fetch and check, status and cycles."""

import enum

from amaranth import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.commands import (COMMANDS, Buffer, Matmul, Op, Output, address_bits, buffer_size,
                             command_bits, field_widths)
from hw.arith import equals

__all__ = ["Controller", "EngineError", "command_layout", "COMMAND_ENTRIES", "status_layout",
           "command_word_bits"]

# The buffers a LOAD writes; a STORE also reads OUTPUT.
LOADABLE = (Buffer.LEFT, Buffer.RIGHT, Buffer.PARAMS)
# Commands the command memory holds (a DeiT-Small MHSA layer compiles to about 500).
COMMAND_ENTRIES = 1024


class EngineError(enum.IntEnum):
    """Why the engine stopped on a command instead of running it."""

    NONE = 0
    OPCODE = 1        # no command has this opcode
    BUFFER = 2        # the command names a buffer it cannot use
    SHAPE = 3         # an empty dimension
    UNSUPPORTED = 4   # a command this engine does not run (see the README)
    BOUNDS = 5        # a region reaches past the end of its buffer


class _State(enum.IntEnum):
    STOPPED = 0
    FETCH = 1
    CHECK = 2
    DECIDE = 3
    STARTED = 4
    RUNNING = 5


def command_layout(cls, config):
    """The fields of a command word, as `golden.commands.encode` places them."""
    return data.StructLayout({"op": 3, **{name: bits for name, bits, _
                                          in field_widths(cls, config)}})


def command_word_bits(config):
    """log2 of the 32-bit words a command takes in the host's address space (a power of
    two, so that a command's words never straddle two commands)."""
    return (command_bits(config) // 32 - 1).bit_length()


def status_layout():
    """The status register: `busy` (started, not yet stopped), `done` (stopped at End),
    `error` (stopped on a command it refused, `code` saying why), `command`: the index
    of the command running, or the one that stopped the engine."""
    return data.StructLayout({"busy": 1, "done": 1, "error": 1, "reserved": 5, "code": 8,
                              "command": 16})


class Controller(wiring.Component):
    """Runs the command list from entry 0: fetches a command, checks it, hands it to
    the engine (`dispatch`, with the word on `command`), and fetches the next once the
    engine is `idle` again (every command retired before the next starts). A command
    that fails its check stops the engine with the reason in the status; End stops it
    with `done`. The cycle counter counts from `start` to the stop.

    Members
    -------
    start : In(1)
    write_addr, write_data, write_en : In
        The host's writes into the command memory, a 32-bit word at a time.
    command : Out(command_bits(config))
    dispatch : Out(1)
    idle : In(1)
    retire : Out(1)
        The running command (`status.command`) retired this cycle.
    status : Out(status_layout())
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
            "idle": In(1),
            "retire": Out(1),
            "status": Out(status_layout()),
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
        error = Signal(EngineError)
        m.d.comb += [read.addr.eq(pc), status.command.eq(pc)]
        with m.If(status.busy):
            m.d.sync += self.cycles.eq(self.cycles + 1)

        # The states as a register decoded by a Switch (Amaranth's FSM compares the
        # state with 0 as a logical not, which Verilator's lint rejects).
        state = Signal(_State)
        with m.Switch(state):
            with m.Case(_State.STOPPED):
                m.d.comb += read.en.eq(0)
                with m.If(self.start):
                    m.d.sync += [pc.eq(0), self.cycles.eq(0), status.busy.eq(1),
                                 status.done.eq(0), status.error.eq(0), status.code.eq(0),
                                 state.eq(_State.FETCH)]
            with m.Case(_State.FETCH):
                m.d.sync += state.eq(_State.CHECK)
            with m.Case(_State.CHECK):
                m.d.sync += [self.command.eq(read.data),
                             error.eq(command_error(m, read.data, config)),
                             state.eq(_State.DECIDE)]
            with m.Case(_State.DECIDE):
                with m.If(error.any()):
                    m.d.sync += [status.busy.eq(0), status.error.eq(1), status.code.eq(error),
                                 state.eq(_State.STOPPED)]
                with m.Elif(equals(self.command[:3], Op.END)):
                    m.d.sync += [status.busy.eq(0), status.done.eq(1), state.eq(_State.STOPPED)]
                with m.Else():
                    m.d.comb += self.dispatch.eq(1)
                    m.d.sync += state.eq(_State.STARTED)
            with m.Case(_State.STARTED):        # the engine's jobs are taken this cycle
                m.d.sync += state.eq(_State.RUNNING)
            with m.Case(_State.RUNNING):
                with m.If(self.idle):
                    m.d.comb += self.retire.eq(1)
                    m.d.sync += [pc.eq(pc + 1), state.eq(_State.FETCH)]
        return m


def command_error(m, word, config):
    """The EngineError of a command word (a combinational check)."""
    error = Signal(EngineError, name="command_check")
    op = word[:3]
    matmul = data.View(command_layout(Matmul, config), word[:command_layout(Matmul, config).size])
    host = data.View(command_layout(COMMANDS[Op.LOAD], config),
                     word[:command_layout(COMMANDS[Op.LOAD], config).size])
    size = {buffer: buffer_size(config, buffer) for buffer in Buffer}

    def size_of(buffer):
        """The entries of a buffer named by a field (0 for the buffers the rule
        excludes, caught as BUFFER first)."""
        result = Signal(range(max(size.values()) + 1), name="buffer_entries")
        with m.Switch(buffer):
            for code, entries in size.items():
                with m.Case(code):
                    m.d.comb += result.eq(entries)
        return result

    def rows_stop(base, stride, rows, vectors):
        return base + (rows - 1) * stride + vectors

    host_entries, dest_entries = size_of(host.buffer), size_of(matmul.dest)
    vectors = (matmul.n + config.vector_size - 1) >> (config.vector_size.bit_length() - 1)
    with m.Switch(op):
        with m.Case(Op.END):
            m.d.comb += error.eq(EngineError.NONE)
        with m.Case(Op.LOAD, Op.STORE):
            loadable = Cat(*(equals(host.buffer, b) for b in LOADABLE)).any()
            allowed = Mux(op == Op.LOAD, loadable, loadable | (host.buffer == Buffer.OUTPUT))
            with m.If(~allowed):
                m.d.comb += error.eq(EngineError.BUFFER)
            with m.Elif(host.base + host.count > host_entries):
                m.d.comb += error.eq(EngineError.BOUNDS)
        with m.Case(Op.MATMUL):
            dest_ok = Mux(matmul.output == Output.Y, matmul.dest == Buffer.OUTPUT,
                          equals(matmul.dest, Buffer.LEFT) | (matmul.dest == Buffer.RIGHT))
            unsupported = (equals(matmul.output, Output.ACC) | (matmul.output == Output.LOGITS)
                           | matmul.accumulate | matmul.row_scale | matmul.per_row)
            with m.If(~matmul.m.any() | ~matmul.n.any() | ~matmul.k.any()):
                m.d.comb += error.eq(EngineError.SHAPE)
            with m.Elif(unsupported):
                m.d.comb += error.eq(EngineError.UNSUPPORTED)
            with m.Elif(~dest_ok):
                m.d.comb += error.eq(EngineError.BUFFER)
            with m.Elif((rows_stop(matmul.left_base, matmul.left_stride, matmul.m, matmul.k)
                         > size[Buffer.LEFT])
                        | (rows_stop(matmul.right_base, matmul.right_stride, matmul.n, matmul.k)
                           > size[Buffer.RIGHT])
                        | (matmul.params_base + matmul.n > size[Buffer.PARAMS])
                        | (rows_stop(matmul.dest_base, matmul.dest_stride, matmul.m, vectors)
                           > dest_entries)):
                m.d.comb += error.eq(EngineError.BOUNDS)
        with m.Case(Op.SOFTMAX):
            m.d.comb += error.eq(EngineError.UNSUPPORTED)
        with m.Default():
            m.d.comb += error.eq(EngineError.OPCODE)
    return error
