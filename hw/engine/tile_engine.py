"""The tile engine: the operand, parameter, output and state buffers around the MAC
array, the PPU, the requantizers and the softmax, run by the controller from a command
list."""

from amaranth import Cat, Const, Module, Mux, Shape, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.array.mac_array import VsqMacArray
from vsq_accel.hw.array.operand_feeder import OperandFeeder
from vsq_accel.hw.engine.controller import Controller, command_layout
from vsq_accel.hw.engine.exp_writer import ExpWriter
from vsq_accel.hw.engine.host_port import HostLoader, HostStorer
from vsq_accel.hw.engine.row_gather import RowGather
from vsq_accel.hw.engine.row_writer import RowWriter
from vsq_accel.hw.lib.arith import equals, table_lookup
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.ppu.column_params import ColumnParams, column_place_layout
from vsq_accel.hw.ppu.requantizer import Requantizer
from vsq_accel.hw.ppu.row_requantizer import RowRequantizer
from vsq_accel.hw.ppu.scale import PpuScale
from vsq_accel.hw.softmax.corner_turn import CornerTurn
from vsq_accel.hw.softmax.unit import SoftmaxUnit
from vsq_accel.spec import ports
from vsq_accel.spec.commands import (SHIFT_BITS, Buffer, Load, Matmul, Op, Output, Softmax,
                                     address_bits, buffer_size)
from vsq_accel.spec.host_interface import Slot
from vsq_accel.spec.timing import ppu_latency, ppu_waiting_columns

__all__ = ["TileEngine"]

_REQUANT_FIELDS = ("element_mult", "element_shift", "scale_mult", "scale_shift")


class TileEngine(wiring.Component):
    """Buffers, datapath and controller; the host reaches it through `Accelerator`.

    A MATMUL runs as jobs of the units: the A and B feeders read LEFT and RIGHT in the
    array's schedule; the column unit gives each output column its PARAMS entry, or
    each lane its row's entry and softmax reciprocal; the PPU's results go, as the
    command says, to the requantizer and a row writer into an operand buffer, to the
    gather and a row writer into OUTPUT, or as logits into the corner turn (SCORES).
    A SOFTMAX lets the corner turn's block through the softmax unit and the row
    requantizer; the exponentials' writer puts the vectors into an operand buffer and
    each row's reciprocal into STATE. LOAD and STORE move entries between the host's
    streams and the buffers. A matmul, a softmax and a host transfer run side by side
    (the controller's slots); the corner turn holds two blocks of logits, so the array
    computes the next block while the softmax unit works on this one. Each buffer has
    one write port: a matmul's result goes first, the softmax's waits, a LOAD's entry
    waits for both, and a STORE reads LEFT, RIGHT or PARAMS through it when it is free.

    Members
    -------
    start, write_addr, write_data, write_en, status, cycles
        The controller's (`hw.engine.controller.Controller`).
    data_in : In(stream.Signature(ports.host_beat()))
    data_out : Out(stream.Signature(ports.host_beat()))
    retired : Out(2)
        Per `hw.engine.controller.Slot`: its command retired this cycle (for testbenches: its
        results are all in the buffers); the controller's `running` names it.
    """

    def __init__(self, config):
        self._config = config
        self._controller = Controller(config)
        super().__init__({
            "start": In(1),
            "write_addr": In(len(self._controller.write_addr)),
            "write_data": In(32),
            "write_en": In(1),
            "status": Out(layout(ports.status())),
            "cycles": Out(64),
            "data_in": In(stream.Signature(layout(ports.host_beat()))),
            "data_out": Out(stream.Signature(layout(ports.host_beat()))),
            "retired": Out(len(Slot)),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        addr_bits = address_bits(config)
        m.submodules.controller = controller = self._controller
        m.d.comb += [controller.start.eq(self.start), controller.write_addr.eq(self.write_addr),
                     controller.write_data.eq(self.write_data),
                     controller.write_en.eq(self.write_en), self.status.eq(controller.status),
                     self.cycles.eq(controller.cycles), self.retired.eq(controller.retire)]

        memories, writes = {}, {}
        for buffer in (Buffer.LEFT, Buffer.RIGHT, Buffer.PARAMS, Buffer.OUTPUT, Buffer.STATE,
                       Buffer.ACC):
            memories[buffer] = Memory(shape=layout(ports.buffer_entry(config, buffer)),
                                      depth=buffer_size(config, buffer), init=[])
            m.submodules[f"{buffer.name.lower()}_buffer"] = memories[buffer]
            writes[buffer] = _write_port(m, memories[buffer], buffer)

        units = _Units(m, config, addr_bits)
        for reader, buffer in ((units.feeder_a.read, Buffer.LEFT),
                               (units.feeder_b.read, Buffer.RIGHT),
                               (units.columns.params, Buffer.PARAMS),
                               (units.columns.state, Buffer.STATE),
                               (units.feeder_b.acc, Buffer.ACC)):
            port = memories[buffer].read_port(transparent_for=_stored_through(writes, buffer))
            m.d.comb += [port.addr.eq(reader.addr), port.en.eq(reader.en),
                         reader.data.eq(port.data)]
        rises = self._rises(m, units.exp_writer.state)
        mode, pending = self._dispatch(m, config, controller, units, rises)
        places = self._array_to_ppu(m, units, mode, writes[Buffer.ACC])
        self._ppu_results(m, units, mode, places)
        self._softmax(m, units, mode, memories[Buffer.STATE].read_port(),
                      controller.dispatch & (controller.command[:3] == Op.SOFTMAX),
                      self._softmax_view(controller.command))
        self._buffer_writes(m, units, writes)
        self._host_reads(m, units, memories, writes)

        def working(slot_units):
            jobs = units.with_jobs()
            return Cat(*(unit.busy for unit in slot_units if hasattr(unit, "busy")),
                       *(pending[_position(jobs, unit)] for unit in slot_units
                         if _position(jobs, unit) is not None)).any()

        m.d.comb += [
            controller.idle[Slot.HOST].eq(~working(units.of_slot(Slot.HOST))),
            controller.idle[Slot.SOFTMAX].eq(~working(units.of_slot(Slot.SOFTMAX))
                                             & ~mode.softmax_rows.any()),
            controller.idle[Slot.COMPUTE].eq(~working(units.of_slot(Slot.COMPUTE))
                                             & ~mode.scoring),
        ]
        return m

    def _rises(self, m, state):
        """A copy of STATE's rises, which a rescaling MATMUL reads for all its rows at
        once: a register per row, written with STATE."""
        rises = [Signal(SHIFT_BITS, name=f"rise{row}") for row in range(self._config.state_rows)]
        with m.If(state.en):
            with m.Switch(state.addr):
                for row, rise in enumerate(rises):
                    with m.Case(row):
                        m.d.sync += rise.eq(state.data.rise)
        return rises

    def _dispatch(self, m, config, controller, units, rises):
        """The command's jobs, each offered until its unit takes it, and the modes the
        datapath holds for the matmul and the softmax in flight."""
        word = controller.command
        matmul, softmax, host = (data.View(command_layout(cls, config),
                                           word[:command_layout(cls, config).size])
                                 for cls in (Matmul, Softmax, Load))
        mode = _Mode(config)
        jobs = units.with_jobs()
        pending = Signal(len(jobs))
        for index, unit in enumerate(jobs):
            m.d.comb += unit.job.valid.eq(pending[index])
            with m.If(unit.job.ready):
                m.d.sync += pending[index].eq(0)

        def start(*started):
            return [pending[_position(jobs, unit)].eq(1) for unit in started]

        op = word[:3]
        with m.If(controller.dispatch & (op == Op.MATMUL)):
            vectors = (matmul.n + config.vector_size - 1) >> (config.vector_size.bit_length() - 1)
            output = matmul.output
            m.d.sync += [
                *_assign(units.feeder_a.job.payload, base=matmul.left_base,
                         stride=matmul.left_stride, rows=matmul.m, other_rows=matmul.n,
                         k=matmul.k, **_format_fields(units.feeder_a, matmul, config)),
                *_assign(units.feeder_b.job.payload, base=matmul.right_base,
                         stride=matmul.right_stride, rows=matmul.n, other_rows=matmul.m,
                         k=matmul.k, accumulate=matmul.accumulate, acc_base=matmul.acc_base,
                         **_format_fields(units.feeder_b, matmul, config)),
                *[rise.eq(Mux(matmul.rescale, _row_of(rises, matmul.state_base + lane), 0))
                  for lane, rise in enumerate(units.feeder_b.rises)],
                mode.to_acc.eq(equals(output, Output.ACC)), mode.acc_base.eq(matmul.acc_base),
                mode.acc_rows.eq(matmul.m), mode.acc_column.eq(0),
                *_assign(units.columns.job.payload, params_base=matmul.params_base,
                         state_base=matmul.state_base, m=matmul.m, n=matmul.n,
                         per_row=matmul.per_row, row_scale=matmul.row_scale),
                mode.relu.eq(matmul.relu), mode.logits.eq(output == Output.LOGITS),
                *[getattr(mode, name).eq(getattr(matmul, name))
                  for name in ports.gelu_fields(config)],
                mode.to_operand.eq(output == Output.OPERAND),
                mode.scoring.eq(output == Output.LOGITS), mode.score_rows.eq(matmul.m),
                *[getattr(mode, name).eq(getattr(matmul, name)) for name in _REQUANT_FIELDS],
                *start(units.feeder_a, units.feeder_b, units.columns),
            ]
            out_format = _format_flags(matmul.out_format, config)
            m.d.sync += [getattr(mode, f"out_{name}").eq(value)
                         for name, value in out_format.items()
                         if name in ports.operand_format_fields(config)]
            # An INT8 result in nibble passes is two entries a vector.
            operand_vectors = Mux(out_format["wide"], vectors << 1, vectors)
            for writer, kind, count in ((units.operand_writer, Output.OPERAND, operand_vectors),
                                        (units.y_writer, Output.Y, vectors)):
                m.d.sync += _assign(writer.job.payload, dest=matmul.dest == Buffer.RIGHT,
                                    base=matmul.dest_base, stride=matmul.dest_stride,
                                    m=matmul.m, vectors=count)
                with m.If(output == kind):
                    m.d.sync += start(writer)
        with m.If(controller.dispatch & (op == Op.SOFTMAX)):
            exp_format = _format_flags(softmax.format, config)
            m.d.sync += [
                *_assign(units.exp_writer.job.payload, dest=softmax.dest == Buffer.RIGHT,
                         base=softmax.dest_base, stride=softmax.dest_stride,
                         rows=softmax.rows, state_base=softmax.state_base,
                         **({"wide": exp_format["wide"]} if config.nibble_passes else {})),
                *[getattr(mode, f"softmax_{name}").eq(exp_format[name])
                  for name in ports.operand_format_fields(config)],
                mode.softmax_rows.eq(softmax.rows), mode.softmax_row.eq(0),
                mode.softmax_resume.eq(~softmax.first),
                mode.softmax_state_base.eq(softmax.state_base),
                *[getattr(mode, f"softmax_{name}").eq(getattr(softmax, name))
                  for name in _REQUANT_FIELDS],
                *start(units.exp_writer),
            ]
        for port, op_code in ((units.loader, Op.LOAD), (units.storer, Op.STORE)):
            with m.If(controller.dispatch & (op == op_code)):
                m.d.sync += [*_assign(port.job.payload, buffer=host.buffer,
                                      base=host.base, count=host.count),
                             *start(port)]
        return mode, pending

    def _array_to_ppu(self, m, units, mode, acc_write):
        """The array's columns meet their lanes' parameters at the PPU; each column's
        place rides a queue beside the PPU (returned). A matmul into ACC writes its
        columns there instead, the lanes past its rows 0."""
        array, columns, ppu = units.array, units.columns, units.ppu
        wiring.connect(m, units.feeder_a.o, array.a)
        wiring.connect(m, units.feeder_b.o, array.b)
        m.submodules.places = places = SyncFIFOBuffered(
            width=column_place_layout().size,
            depth=ppu_latency(self._config) + ppu_waiting_columns(self._config) + 8)
        lanes = columns.o.payload
        m.d.comb += [
            ppu.i.payload.acc.eq(array.c.payload),
            *[getattr(ppu.i.payload, name).eq(getattr(lanes, name))
              for name in ("mult", "shift", "bias", "reciprocal")],
            ppu.i.payload.relu.eq(mode.relu), ppu.i.payload.logits.eq(mode.logits),
            *[getattr(ppu.i.payload, name).eq(getattr(mode, name))
              for name in ports.gelu_fields(self._config)],
            ppu.i.payload.last.eq(lanes.place.last),
            places.w_data.eq(lanes.place),
        ]
        both = array.c.valid & columns.o.valid & places.w_rdy
        taken = Mux(mode.to_acc, 1, ppu.i.ready)
        m.d.comb += [ppu.i.valid.eq(both & ~mode.to_acc),
                     places.w_en.eq(both & ~mode.to_acc & ppu.i.ready),
                     array.c.ready.eq(both & taken), columns.o.ready.eq(both & taken)]
        kept = both & mode.to_acc & lanes.place.keep
        with m.If(kept):
            _drive(m, acc_write, mode.acc_base + mode.acc_column,
                   Cat(*(Mux(lane < mode.acc_rows, value, 0)
                         for lane, value in enumerate(array.c.payload))))
            m.d.sync += mode.acc_column.eq(mode.acc_column + 1)
        return places

    def _ppu_results(self, m, units, mode, places):
        """y to the requantizer (operands), the gather (OUTPUT) or the corner turn
        (logits), as the matmul's output says; each column's place from `places`."""
        ppu = units.ppu
        requantizer, gather, turn = units.requantizer, units.gather, units.corner_turn
        place = data.View(column_place_layout(), places.r_data)
        y = ppu.o.payload.y
        m.d.comb += [
            requantizer.i.payload.keep.eq(place.keep),
            requantizer.i.payload.vector_end.eq(place.vector_end),
            requantizer.i.payload.last.eq(place.last),
            *[getattr(requantizer.i.payload, name).eq(getattr(mode, name))
              for name in _REQUANT_FIELDS],
            *[getattr(requantizer.i.payload, name).eq(getattr(mode, f"out_{name}"))
              for name in ports.operand_format_fields(self._config)],
            gather.i.payload.place.eq(place),
            turn.i.payload.keep.eq(place.keep), turn.i.payload.last.eq(place.row_end),
            turn.i.payload.rows.eq(mode.score_rows), turn.i.payload.exponentials.eq(1),
        ]
        for lane, value in enumerate(y):
            m.d.comb += [requantizer.i.payload.y[lane].eq(value),
                         gather.i.payload.y[lane].eq(value),
                         turn.i.payload.logits[lane].eq(value)]
        out = ppu.o.valid & places.r_rdy
        to_output = ~mode.to_operand & ~mode.logits
        taken = Mux(mode.to_operand, requantizer.i.ready,
                    Mux(mode.logits, turn.i.ready, gather.i.ready))
        m.d.comb += [requantizer.i.valid.eq(out & mode.to_operand),
                     gather.i.valid.eq(out & to_output), turn.i.valid.eq(out & mode.logits),
                     ppu.o.ready.eq(places.r_rdy & taken), places.r_en.eq(out & taken)]
        with m.If(turn.i.valid & turn.i.ready & place.last):
            m.d.sync += mode.scoring.eq(0)              # the LOGITS matmul is all in SCORES
        writer = units.operand_writer
        m.d.comb += [writer.i.payload.eq(requantizer.o.payload.vectors),
                     writer.i.valid.eq(requantizer.o.valid),
                     requantizer.o.ready.eq(writer.i.ready)]
        wiring.connect(m, gather.o, units.y_writer.i)

    def _softmax_view(self, word):
        layout_ = command_layout(Softmax, self._config)
        return data.View(layout_, word[:layout_.size])

    def _softmax(self, m, units, mode, state, dispatching, command):
        """The corner turn's rows pass to the softmax while a SOFTMAX command has rows
        left, each with its state from STATE when the command resumes its rows; its
        exponentials, with the command's requantization, to the writer. STATE is read a
        row ahead: the first row's at the dispatch, the next as a row's last beat goes."""
        turn, softmax, rows = units.corner_turn, units.softmax, units.row_requantizer
        open_ = mode.softmax_rows.any()
        row_done = softmax.i.valid & softmax.i.ready & turn.o.payload.last
        m.d.comb += [softmax.i.payload.beat.eq(turn.o.payload),
                     softmax.i.payload.resume.eq(mode.softmax_resume),
                     softmax.i.payload.start_max.eq(state.data.row_max),
                     softmax.i.payload.start_sum.eq(state.data.row_sum),
                     softmax.i.valid.eq(turn.o.valid & open_),
                     turn.o.ready.eq(softmax.i.ready & open_),
                     state.en.eq(1),
                     state.addr.eq(Mux(dispatching, command.state_base,
                                       mode.softmax_state_base + mode.softmax_row + row_done))]
        with m.If(row_done):
            m.d.sync += [mode.softmax_rows.eq(mode.softmax_rows - 1),
                         mode.softmax_row.eq(mode.softmax_row + 1)]
        m.d.comb += [rows.i.payload.beat.eq(softmax.o.payload),
                     *[getattr(rows.i.payload, name).eq(getattr(mode, f"softmax_{name}"))
                       for name in (*_REQUANT_FIELDS, *ports.operand_format_fields(self._config))],
                     rows.i.valid.eq(softmax.o.valid), softmax.o.ready.eq(rows.i.ready)]
        wiring.connect(m, rows.o, units.exp_writer.i)

    def _buffer_writes(self, m, units, writes):
        """One write port a buffer: into LEFT/RIGHT a matmul's results first, then the
        softmax's exponentials (held meanwhile), then a LOAD's entry (likewise)."""
        loader, operand_writer, exp_writer = units.loader, units.operand_writer, units.exp_writer
        m.d.comb += exp_writer.hold.eq(operand_writer.write.en
                                       & (operand_writer.dest == exp_writer.dest))
        results = [(operand_writer.write, operand_writer.dest),
                   (exp_writer.write, exp_writer.dest)]
        blocked = Signal()
        for buffer, code in ((Buffer.LEFT, 0), (Buffer.RIGHT, 1)):
            port = writes[buffer]
            chain = None
            for write, dest in results:
                condition = write.en & (dest == code)
                with (m.If(condition) if chain is None else m.Elif(condition)):
                    _drive(m, port, write.addr, write.data)
                chain = True
            with m.Elif(loader.o.valid & equals(loader.o.payload.buffer, buffer)):
                _drive(m, port, loader.o.payload.addr, loader.o.payload.data)
            with m.If(loader.o.valid & equals(loader.o.payload.buffer, buffer)
                      & Cat(*(write.en & (dest == code) for write, dest in results)).any()):
                m.d.comb += blocked.eq(1)
        m.d.comb += loader.o.ready.eq(~blocked)
        with m.If(loader.o.valid & (loader.o.payload.buffer == Buffer.PARAMS)):
            _drive(m, writes[Buffer.PARAMS], loader.o.payload.addr, loader.o.payload.data)
        y_writer = units.y_writer
        with m.If(y_writer.write.en):
            _drive(m, writes[Buffer.OUTPUT], y_writer.write.addr, y_writer.write.data)
        with m.If(exp_writer.state.en):
            _drive(m, writes[Buffer.STATE], exp_writer.state.addr, exp_writer.state.data)

    def _host_reads(self, m, units, memories, writes):
        """STORE: LEFT, RIGHT and PARAMS, which the engine reads too, are read at their
        write port's address in a cycle that does not write (the STORE waits out a
        write); OUTPUT, which only the host reads, has a read port of its own. A block
        RAM has two ports: the write and the STORE share one, the engine's reader takes
        the other, where a third port would make Yosys build the buffer twice."""
        storer = units.storer
        width = len(storer.read_data)
        for buffer in (Buffer.LEFT, Buffer.RIGHT, Buffer.PARAMS, Buffer.OUTPUT):
            port = memories[buffer].read_port()
            chosen = equals(storer.read_buffer, buffer)
            addr = storer.read_addr
            if _stored_through(writes, buffer):
                write = writes[buffer]
                with m.If(~write.en):
                    m.d.comb += write.addr.eq(storer.read_addr)
                with m.If(chosen):
                    m.d.comb += storer.hold.eq(write.en)
                addr = write.addr
            m.d.comb += [port.addr.eq(addr), port.en.eq(storer.read_en & chosen)]
            with m.If(chosen):
                m.d.comb += storer.read_data.eq(port.data.as_value()[:width])
        wiring.connect(m, wiring.flipped(self.data_in), units.loader.i)
        wiring.connect(m, units.storer.o, wiring.flipped(self.data_out))


class _Units:
    """The engine's units, each a submodule under its attribute's name."""

    def __init__(self, m, config, addr_bits):
        self.feeder_a = OperandFeeder(config, addr_bits, "a")
        self.feeder_b = OperandFeeder(config, addr_bits, "b")
        self.columns = ColumnParams(config, addr_bits)
        self.operand_writer = RowWriter(config, addr_bits, layout(ports.vsq_vector(config)))
        self.y_writer = RowWriter(config, addr_bits, layout(ports.output_entry(config)))
        self.exp_writer = ExpWriter(config, addr_bits)
        self.loader = HostLoader(config, addr_bits)
        self.storer = HostStorer(config, addr_bits)
        self.array = VsqMacArray(config)
        self.ppu = PpuScale(config)
        self.requantizer = Requantizer(config)
        self.gather = RowGather(config)
        self.corner_turn = CornerTurn(config)
        self.softmax = SoftmaxUnit(config)
        self.row_requantizer = RowRequantizer(config)
        for name, unit in vars(self).items():
            m.submodules[name] = unit

    def with_jobs(self):
        """The units that take a job from the dispatcher, in the order of the pending
        bits."""
        return (self.feeder_a, self.feeder_b, self.columns, self.operand_writer,
                self.y_writer, self.exp_writer, self.loader, self.storer)

    def of_slot(self, slot):
        """The units whose work a slot's command is: the host's and the softmax's own,
        every other unit the compute slot's."""
        own = {Slot.HOST: (self.loader, self.storer),
               Slot.SOFTMAX: (self.softmax, self.row_requantizer, self.exp_writer)}
        if slot in own:
            return own[slot]
        others = own[Slot.HOST] + own[Slot.SOFTMAX]
        return tuple(unit for unit in vars(self).values()
                     if _position(others, unit) is None)


def _position(units, unit):
    """The index of `unit` (by identity) in `units`, or None."""
    return next((index for index, other in enumerate(units) if other is unit), None)


def _stored_through(writes, buffer):
    """The write port a STORE of `buffer` reads through (LEFT, RIGHT and PARAMS, which
    the engine reads too), as a tuple for the engine's reader to be transparent for. No
    command reads an entry while another writes it (the command list's waits keep them
    apart), so transparency changes no result; a reader that is not transparent would
    need Yosys's read-first emulation, which cannot share the write's port."""
    return (writes[buffer].port,) if buffer in (Buffer.LEFT, Buffer.RIGHT,
                                                 Buffer.PARAMS) else ()


class _Port:
    """A buffer's write port, behind signals named for the testbenches' monitors."""

    def __init__(self, m, memory, name):
        self.port = port = memory.write_port()
        self.width = Shape.cast(memory.shape).width
        self.en = Signal(name=f"{name}_write_en")
        self.addr = Signal(len(port.addr), name=f"{name}_write_addr")
        self.data = Signal(self.width, name=f"{name}_write_data")
        m.d.comb += [port.en.eq(self.en), port.addr.eq(self.addr), port.data.eq(self.data)]


def _write_port(m, memory, buffer):
    return _Port(m, memory, buffer.name.lower())


def _drive(m, port, addr, value):
    """Write `value` (cut to the entry's width) at `addr` this cycle."""
    m.d.comb += [port.en.eq(1), port.addr.eq(addr),
                 port.data.eq(Value.cast(value)[:port.width])]


def _row_of(registers, row):
    """registers[row] for a row in a signal (0 past the last register)."""
    bits = (len(registers) - 1).bit_length()
    padded = list(registers) + [0] * ((1 << bits) - len(registers))
    return Mux(row < len(registers), table_lookup(padded, row[:bits]), 0)


def _format_flags(code, config):
    """A format code's `wide` (INT8 in nibble passes) and `scaled` (INT4-VSQ) bits."""
    def named(name):
        return Cat(*(equals(code, index) for index, each
                     in enumerate(config.supported_formats) if each == name)).any()

    return {"wide": named("int8") if config.nibble_passes else Const(0, 1),
            "scaled": named("int4_vsq")}


def _format_fields(feeder, matmul, config):
    """The feeder job's format fields for the MATMUL's format code."""
    return {key: value for key, value in _format_flags(matmul.format, config).items()
            if hasattr(feeder.job.payload, key)}


def _assign(view, **values):
    """Statements setting the fields of a view."""
    return [getattr(view, name).eq(value) for name, value in values.items()]


class _Mode:
    """What the datapath holds for the matmul and the softmax in flight: ReLU and GELU,
    where the results go, the requantizations; `to_acc`: the matmul's columns go to ACC
    (`acc_column` of them so far); `scoring`: a LOGITS matmul has columns still to come
    into SCORES; `softmax_rows`: rows the SOFTMAX command still lets through,
    `softmax_row` the one it is at, `softmax_resume`: its rows continue from STATE."""

    def __init__(self, config):
        self.relu = Signal()
        self.logits = Signal()
        self.to_operand = Signal()
        self.scoring = Signal()
        self.score_rows = Signal(config.lanes.bit_length())
        self.to_acc = Signal()
        self.acc_base = Signal(range(config.accumulator_entries))
        self.acc_rows = Signal(config.lanes.bit_length())
        self.acc_column = Signal(16)
        self.softmax_rows = Signal(16)
        self.softmax_row = Signal(16)
        self.softmax_resume = Signal()
        self.softmax_state_base = Signal(range(config.state_rows))
        for name, field in ports.gelu_fields(config).items():
            setattr(self, name, Signal(layout(field), name=f"matmul_{name}"))
        for name in ports.operand_format_fields(config):
            setattr(self, f"out_{name}", Signal(name=f"matmul_out_{name}"))
            setattr(self, f"softmax_{name}", Signal(name=f"softmax_{name}"))
        for name, field in ports.requant_parameter_fields(config).items():
            setattr(self, name, Signal(layout(field), name=f"matmul_{name}"))
            setattr(self, f"softmax_{name}", Signal(layout(field), name=f"softmax_{name}"))
