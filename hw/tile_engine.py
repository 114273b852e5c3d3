"""The tile engine: the operand, parameter and output buffers around the MAC array,
the PPU and the requantizer, run by the controller from a command list."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.commands import Buffer, Load, Matmul, Op, Output, address_bits, buffer_size
from hw.arith import equals
from hw.column_params import ColumnParams, column_place_layout, param_entry_layout
from hw.controller import Controller, command_layout, status_layout
from hw.host_port import HostLoader, HostStorer, host_beat_layout
from hw.layouts import vsq_vector_layout
from hw.mac_array import VsqMacArray
from hw.operand_feeder import OperandFeeder
from hw.ppu_scale import PpuScale
from hw.requantizer import Requantizer, requant_parameter_fields
from hw.row_gather import RowGather, output_entry_layout
from hw.row_writer import RowWriter

__all__ = ["TileEngine"]


class TileEngine(wiring.Component):
    """Buffers, datapath and controller; the host reaches it through `Accelerator`.

    A MATMUL runs as four jobs: the A and B feeders read LEFT and RIGHT in the array's
    schedule, the column unit reads each output column's PARAMS entry ahead of the
    array, and a row writer puts the PPU's results into their rows, requantized into an
    operand buffer or gathered into OUTPUT. LOAD and STORE move entries between the
    host's streams and the buffers. Each buffer has one write port: a result written
    into an operand buffer goes first, a LOAD's entry waits for the port.

    Members
    -------
    start, write_addr, write_data, write_en, status, cycles
        The controller's (`hw.controller.Controller`).
    data_in : In(stream.Signature(host_beat_layout()))
    data_out : Out(stream.Signature(host_beat_layout()))
    retired : Out(1)
        The running command retired this cycle (for testbenches: its results are
        all in the buffers); `status.command` names it.
    """

    def __init__(self, config):
        self._config = config
        controller = Controller(config)
        self._controller = controller
        super().__init__({
            "start": In(1),
            "write_addr": In(len(controller.write_addr)),
            "write_data": In(32),
            "write_en": In(1),
            "status": Out(status_layout()),
            "cycles": Out(64),
            "data_in": In(stream.Signature(host_beat_layout())),
            "data_out": Out(stream.Signature(host_beat_layout())),
            "retired": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        addr_bits = address_bits(config)
        m.submodules.controller = controller = self._controller
        m.d.comb += [controller.start.eq(self.start), controller.write_addr.eq(self.write_addr),
                     controller.write_data.eq(self.write_data),
                     controller.write_en.eq(self.write_en), self.status.eq(controller.status),
                     self.cycles.eq(controller.cycles)]

        operand, params_entry = vsq_vector_layout(config), param_entry_layout(config)
        shapes = {Buffer.LEFT: operand, Buffer.RIGHT: operand, Buffer.PARAMS: params_entry,
                  Buffer.OUTPUT: output_entry_layout(config)}
        memories = {}
        for buffer, shape in shapes.items():
            memories[buffer] = Memory(shape=shape, depth=buffer_size(config, buffer), init=[])
            m.submodules[f"{buffer.name.lower()}_buffer"] = memories[buffer]
        writes = {buffer: self._write_port(m, memory, buffer) for buffer, memory
                  in memories.items()}

        units = self._units(m, config, addr_bits)
        a, b, columns, operand_writer, y_writer, loader, storer = (
            units[name] for name in ("feeder_a", "feeder_b", "columns", "operand_writer",
                                     "y_writer", "loader", "storer"))
        for reader, buffer in ((a, Buffer.LEFT), (b, Buffer.RIGHT), (columns, Buffer.PARAMS)):
            port = memories[buffer].read_port()
            m.d.comb += [port.addr.eq(reader.read.addr), port.en.eq(reader.read.en),
                         reader.read.data.eq(port.data)]
        mode = self._dispatch(m, config, controller, units)
        self._datapath(m, config, units, mode)

        # Writes: results into LEFT/RIGHT before a LOAD's entry; PARAMS only from LOADs.
        result_dest = Mux(operand_writer.dest, Buffer.RIGHT, Buffer.LEFT)
        for buffer in (Buffer.LEFT, Buffer.RIGHT):
            result = operand_writer.write.en & equals(result_dest, buffer)
            with m.If(result):
                m.d.comb += [writes[buffer].addr.eq(operand_writer.write.addr),
                             writes[buffer].data.eq(operand_writer.write.data),
                             writes[buffer].en.eq(1)]
            with m.Elif(loader.o.valid & equals(loader.o.payload.buffer, buffer)):
                self._load_into(m, writes[buffer], loader)
        with m.If(loader.o.valid & (loader.o.payload.buffer == Buffer.PARAMS)):
            self._load_into(m, writes[Buffer.PARAMS], loader)
        busy_port = operand_writer.write.en & (result_dest == loader.o.payload.buffer)
        m.d.comb += loader.o.ready.eq(~busy_port)
        output = writes[Buffer.OUTPUT]
        m.d.comb += [output.en.eq(y_writer.write.en), output.addr.eq(y_writer.write.addr),
                     output.data.eq(y_writer.write.data)]

        # STORE: every host buffer's second read port, selected by the job's buffer.
        data_bits = len(storer.read_data)
        with m.Switch(storer.read_buffer):
            for buffer, memory in memories.items():
                port = memory.read_port()
                m.d.comb += [port.addr.eq(storer.read_addr),
                             port.en.eq(storer.read_en & equals(storer.read_buffer, buffer))]
                with m.Case(buffer):
                    m.d.comb += storer.read_data.eq(port.data.as_value()[:data_bits])
        wiring.connect(m, wiring.flipped(self.data_in), loader.i)
        wiring.connect(m, storer.o, wiring.flipped(self.data_out))

        busy = Cat(*(unit.busy for unit in units.values() if hasattr(unit, "busy")))
        idle = Signal()
        m.d.comb += [idle.eq(~mode.pending.any() & ~busy.any()),
                     controller.idle.eq(idle)]
        return m

    def _write_port(self, m, memory, buffer):
        """The buffer's write port, behind signals named for the testbenches' monitors."""
        port = memory.write_port()
        name = buffer.name.lower()
        en = Signal(name=f"{name}_write_en")
        addr = Signal(len(port.addr), name=f"{name}_write_addr")
        value = Signal(memory.shape, name=f"{name}_write_data")
        m.d.comb += [port.en.eq(en), port.addr.eq(addr), port.data.eq(value)]
        return _Port(en, addr, value)

    @staticmethod
    def _load_into(m, port, loader):
        m.d.comb += [port.addr.eq(loader.o.payload.addr),
                     port.data.eq(loader.o.payload.data[:len(port.data.as_value())]),
                     port.en.eq(1)]

    def _units(self, m, config, addr_bits):
        units = {
            "feeder_a": OperandFeeder(config, addr_bits, "a"),
            "feeder_b": OperandFeeder(config, addr_bits, "b"),
            "columns": ColumnParams(config, addr_bits),
            "operand_writer": RowWriter(config, addr_bits, vsq_vector_layout(config)),
            "y_writer": RowWriter(config, addr_bits, output_entry_layout(config)),
            "loader": HostLoader(config, addr_bits),
            "storer": HostStorer(config, addr_bits),
            "array": VsqMacArray(config),
            "ppu": PpuScale(config),
            "requantizer": Requantizer(config),
            "gather": RowGather(config),
        }
        for name, unit in units.items():
            m.submodules[name] = unit
        return units

    def _dispatch(self, m, config, controller, units):
        """The command's jobs, each offered until its unit takes it; the matmul's mode
        (ReLU, where its results go, the requantization) held for its columns."""
        word = controller.command
        matmul = data.View(command_layout(Matmul, config),
                           word[:command_layout(Matmul, config).size])
        host = data.View(command_layout(Load, config), word[:command_layout(Load, config).size])
        jobs = ("feeder_a", "feeder_b", "columns", "operand_writer", "y_writer", "loader",
                "storer")
        mode = _Mode(config, len(jobs))
        requant = {name: getattr(matmul, name) for name in
                   ("element_mult", "element_shift", "scale_mult", "scale_shift")}
        for index, name in enumerate(jobs):
            job = units[name].job
            m.d.comb += job.valid.eq(mode.pending[index])
            with m.If(job.ready):
                m.d.sync += mode.pending[index].eq(0)
        vectors = (matmul.n + config.vector_size - 1) >> (config.vector_size.bit_length() - 1)
        op = word[:3]
        with m.If(controller.dispatch & (op == Op.MATMUL)):
            to_operand = matmul.output == Output.OPERAND
            m.d.sync += [
                *_assign(units["feeder_a"].job.payload, {"base": matmul.left_base,
                                                  "stride": matmul.left_stride,
                                                  "rows": matmul.m, "other_rows": matmul.n,
                                                  "k": matmul.k}),
                *_assign(units["feeder_b"].job.payload, {"base": matmul.right_base,
                                                  "stride": matmul.right_stride,
                                                  "rows": matmul.n, "other_rows": matmul.m,
                                                  "k": matmul.k}),
                *_assign(units["columns"].job.payload, {"params_base": matmul.params_base,
                                                 "m": matmul.m, "n": matmul.n}),
                mode.relu.eq(matmul.relu), mode.to_operand.eq(to_operand),
                *[getattr(mode, name).eq(value) for name, value in requant.items()],
            ]
            writer_job = {"dest": matmul.dest == Buffer.RIGHT, "base": matmul.dest_base,
                          "stride": matmul.dest_stride, "m": matmul.m, "vectors": vectors}
            for name in ("operand_writer", "y_writer"):
                m.d.sync += _assign(units[name].job.payload, writer_job)
            m.d.sync += [mode.pending[jobs.index(name)].eq(1)
                         for name in ("feeder_a", "feeder_b", "columns")]
            m.d.sync += [mode.pending[jobs.index("operand_writer")].eq(to_operand),
                         mode.pending[jobs.index("y_writer")].eq(~to_operand)]
        for name, op_code in (("loader", Op.LOAD), ("storer", Op.STORE)):
            with m.If(controller.dispatch & (op == op_code)):
                m.d.sync += _assign(units[name].job.payload, {
                    "buffer": host.buffer, "base": host.base, "count": host.count})
                m.d.sync += mode.pending[jobs.index(name)].eq(1)
        m.d.comb += self.retired.eq(controller.retire)
        return mode

    def _datapath(self, m, config, units, mode):
        """Array columns meet their parameters at the PPU; each column's place rides a
        queue beside the PPU to the requantizer or the gather."""
        array, columns, ppu = units["array"], units["columns"], units["ppu"]
        wiring.connect(m, units["feeder_a"].o, array.a)
        wiring.connect(m, units["feeder_b"].o, array.b)
        m.submodules.places = places = SyncFIFOBuffered(
            width=len(Signal(column_place_layout()).as_value()), depth=ppu.latency + 8)

        lanes = config.lanes
        params = columns.o.payload.params
        column = ppu.i.payload
        m.d.comb += [
            column.acc.eq(array.c.payload),
            column.relu.eq(mode.relu),
            column.last.eq(columns.o.payload.place.last),
            places.w_data.eq(columns.o.payload.place),
        ]
        for lane in range(lanes):
            m.d.comb += [column.mult[lane].eq(params.mult), column.shift[lane].eq(params.shift),
                         column.bias[lane].eq(params.bias), column.reciprocal[lane].eq(1)]
        both = array.c.valid & columns.o.valid & places.w_rdy
        m.d.comb += [ppu.i.valid.eq(both), places.w_en.eq(both & ppu.i.ready),
                     array.c.ready.eq(both & ppu.i.ready), columns.o.ready.eq(both & ppu.i.ready)]

        requantizer, gather = units["requantizer"], units["gather"]
        place = data.View(column_place_layout(), places.r_data)
        y = ppu.o.payload.y
        m.d.comb += [
            requantizer.i.payload.keep.eq(place.keep),
            requantizer.i.payload.vector_end.eq(place.vector_end),
            requantizer.i.payload.last.eq(place.last),
            gather.i.payload.place.eq(place),
            *[requantizer.i.payload.y[lane].eq(y[lane]) for lane in range(lanes)],
            *[gather.i.payload.y[lane].eq(y[lane]) for lane in range(lanes)],
            *[getattr(requantizer.i.payload, name).eq(getattr(mode, name))
              for name in ("element_mult", "element_shift", "scale_mult", "scale_shift")],
        ]
        out = ppu.o.valid & places.r_rdy
        taken = Mux(mode.to_operand, requantizer.i.ready, gather.i.ready)
        m.d.comb += [requantizer.i.valid.eq(out & mode.to_operand),
                     gather.i.valid.eq(out & ~mode.to_operand),
                     ppu.o.ready.eq(places.r_rdy & taken), places.r_en.eq(out & taken)]
        m.d.comb += [units["operand_writer"].i.payload.eq(requantizer.o.payload.vectors),
                     units["operand_writer"].i.valid.eq(requantizer.o.valid),
                     requantizer.o.ready.eq(units["operand_writer"].i.ready)]
        wiring.connect(m, gather.o, units["y_writer"].i)


def _assign(view, values):
    """Statements setting the fields of a view."""
    return [getattr(view, name).eq(value) for name, value in values.items()]


class _Port:
    """A write port's signals."""

    def __init__(self, en, addr, data):
        self.en, self.addr, self.data = en, addr, data


class _Mode:
    """Registers of the matmul in flight, and the jobs not yet taken."""

    def __init__(self, config, jobs):
        self.pending = Signal(jobs)
        self.relu = Signal()
        self.to_operand = Signal()
        for name, shape in requant_parameter_fields(config).items():
            setattr(self, name, Signal(shape, name=f"mode_{name}"))
