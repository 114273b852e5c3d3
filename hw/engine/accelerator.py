"""The accelerator as an SoC sees it: the tile engine behind AXI4-Lite registers and
two AXI4-Stream data ports, with the standards' signal names."""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.engine.tile_engine import TileEngine
from vsq_accel.hw.lib.arith import equals
from vsq_accel.spec.host_interface import Register, command_window, control_address_bits
from vsq_accel.spec.timing import COMMAND_ENTRIES, HOST_DATA_BITS

__all__ = ["Accelerator"]


class Accelerator(wiring.Component):
    """The host interface.

    ``s_axil_*`` (AXI4-Lite slave, 32-bit data): the registers of
    `spec.host_interface.Register` and, from `command_window`, the command memory.
    ``s_axis_*`` (AXI4-Stream slave, HOST_DATA_BITS-bit TDATA): the data each LOAD
    takes, in command order, an entry as whole beats LSB first; ``m_axis_*``
    (AXI4-Stream master): the entries each STORE sends, likewise, TLAST on its last
    beat. Responses are always OKAY; reads of the command window return 0.
    """

    def __init__(self, config):
        self._config = config
        address = control_address_bits(config)
        super().__init__({
            "s_axil_awaddr": In(address), "s_axil_awvalid": In(1), "s_axil_awready": Out(1),
            "s_axil_wdata": In(32), "s_axil_wstrb": In(4), "s_axil_wvalid": In(1),
            "s_axil_wready": Out(1),
            "s_axil_bresp": Out(2), "s_axil_bvalid": Out(1), "s_axil_bready": In(1),
            "s_axil_araddr": In(address), "s_axil_arvalid": In(1), "s_axil_arready": Out(1),
            "s_axil_rdata": Out(32), "s_axil_rresp": Out(2), "s_axil_rvalid": Out(1),
            "s_axil_rready": In(1),
            "s_axis_tdata": In(HOST_DATA_BITS), "s_axis_tlast": In(1), "s_axis_tvalid": In(1),
            "s_axis_tready": Out(1),
            "m_axis_tdata": Out(HOST_DATA_BITS), "m_axis_tlast": Out(1),
            "m_axis_tvalid": Out(1), "m_axis_tready": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        m.submodules.engine = engine = TileEngine(config)
        window = command_window(config)[0].bit_length() - 1

        # Writes: address and data together, then the response.
        write = Signal()
        m.d.comb += [write.eq(self.s_axil_awvalid & self.s_axil_wvalid & ~self.s_axil_bvalid),
                     self.s_axil_awready.eq(write), self.s_axil_wready.eq(write),
                     engine.write_addr.eq(self.s_axil_awaddr[2:window]),
                     engine.write_data.eq(self.s_axil_wdata),
                     engine.write_en.eq(write & self.s_axil_awaddr[window])]
        with m.If(self.s_axil_bready):
            m.d.sync += self.s_axil_bvalid.eq(0)
        with m.If(write):
            m.d.sync += self.s_axil_bvalid.eq(1)
        m.d.sync += engine.start.eq(write & ~self.s_axil_awaddr[window]
                                    & equals(self.s_axil_awaddr[2:window], Register.CONTROL >> 2)
                                    & self.s_axil_wstrb[0] & self.s_axil_wdata[0])

        # Reads: a register a cycle after its address.
        read = Signal()
        m.d.comb += [read.eq(self.s_axil_arvalid & ~self.s_axil_rvalid),
                     self.s_axil_arready.eq(read)]
        with m.If(self.s_axil_rready):
            m.d.sync += self.s_axil_rvalid.eq(0)
        with m.If(read):
            info = (command_window(config)[1] // 4) | (COMMAND_ENTRIES << 16)
            registers = {Register.STATUS: engine.status.as_value(),
                         Register.CYCLES_LO: engine.cycles[:32],
                         Register.CYCLES_HI: engine.cycles[32:], Register.INFO: info}
            m.d.sync += [self.s_axil_rvalid.eq(1), self.s_axil_rdata.eq(0)]
            with m.Switch(self.s_axil_araddr):
                for address, value in registers.items():
                    with m.Case(address):
                        m.d.sync += self.s_axil_rdata.eq(value)

        m.d.comb += [
            engine.data_in.payload.data.eq(self.s_axis_tdata),
            engine.data_in.payload.last.eq(self.s_axis_tlast),
            engine.data_in.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(engine.data_in.ready),
            self.m_axis_tdata.eq(engine.data_out.payload.data),
            self.m_axis_tlast.eq(engine.data_out.payload.last),
            self.m_axis_tvalid.eq(engine.data_out.valid),
            engine.data_out.ready.eq(self.m_axis_tready),
        ]
        return m
