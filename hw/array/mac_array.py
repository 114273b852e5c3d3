"""The VSQ MAC array: L vector-MAC lanes and the accumulation collector."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.array.lane_operand_buffer import LaneOperandBuffer
from vsq_accel.hw.array.vector_mac import VectorMacLane
from vsq_accel.hw.lib.arith import equals, saturate
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import replicas
from vsq_accel.spec import ports
from vsq_accel.spec.ports import OperandPart
from vsq_accel.spec.timing import accumulate_stages

__all__ = ["VsqMacArray"]

# Lanes that share one copy of the registered B vector.
_LANES_PER_B_COPY = 4


class VsqMacArray(wiring.Component):
    """L lanes of V-wide VSQ dot products accumulating an L x L output tile.

    Operands follow `golden.array_schedule`: for each reduction slice of a tile, L A
    vectors (lane l holds row l of the tile) and then L B vectors, one per cycle, each
    broadcast to all lanes; B vector j adds to column j of the tile in the collector.
    The B vectors of a tile's last slice carry `last`, and as each of them leaves the
    pipeline its finished column of L accumulators goes out on `c`. The B vectors of a
    tile's first slice carry `init`, the accumulators their column starts from (0 but for
    a reduction continued from ACC); they wait in a queue beside the pipeline for the
    accumulate stage. With both inputs
    offered every cycle and `c` always ready, every lane does a vector MAC every cycle.

    Pipeline (one shared enable, held only by an output column that waits for `c`):
    input -> ``b_copy`` the B vector, one register per group of lanes (a broadcast from
    one register to every lane would be the array's longest path) -> the lanes'
    `lane_stages` stages (the collector read issued as an item enters the last) ->
    ``x_`` the add (with two lanes or more) -> saturation, collector write, output
    register: `spec.timing.array_latency` stages in all.

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a : In(stream.Signature(ports.a_vector(config)))
    b : In(stream.Signature(ports.b_vector(config)))
    c : Out(stream.Signature(ports.output_column(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "a": In(stream.Signature(layout(ports.a_vector(config)))),
            "b": In(stream.Signature(layout(ports.b_vector(config)))),
            "c": Out(stream.Signature(layout(ports.output_column(config)))),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        config = self._config
        lanes = config.lanes
        m = Module()

        m.submodules.a_buffer = a_buffer = LaneOperandBuffer(config)
        wiring.connect(m, wiring.flipped(self.a), a_buffer.a)

        advance = Signal()
        b_accept = Signal()
        b_closes = Signal()     # the B transfer completes its vector: all but a high pass
        payload = self.b.payload
        nibbles = config.nibble_passes
        # At least two collector entries and a 1-bit column index even for one lane:
        # zero-width signals would reach the Verilog as [-1:0] vectors.
        entries = max(lanes, 2)
        column = Signal(range(entries))
        first_slice = Signal(init=1)
        round_end = Signal()
        m.d.comb += [
            advance.eq(~self.c.valid | self.c.ready),
            self.b.ready.eq(a_buffer.active_valid & advance),
            b_accept.eq(self.b.valid & self.b.ready),
            b_closes.eq(b_accept & (~equals(payload.part, OperandPart.HIGH)
                                    if nibbles else 1)),
            round_end.eq(b_closes & (column == lanes - 1)),
            a_buffer.slice_done.eq(round_end),
            a_buffer.take.eq(advance),
        ]
        with m.If(b_closes):
            m.d.sync += column.eq(Mux(column == lanes - 1, 0, column + 1))
        with m.If(round_end):
            m.d.sync += first_slice.eq(payload.last)

        copies = -(-lanes // _LANES_PER_B_COPY)
        b_lane = payload.vector
        if nibbles:
            # The nibbles extended as their part reads them before the register, not
            # before the multipliers.
            b_lane = Signal(layout(ports.lane_b_vector(config)))
            low = equals(payload.part, OperandPart.LOW)
            m.d.comb += [element.eq(Mux(low, value.as_unsigned(), value))
                         for element, value in zip(b_lane.data, payload.vector.data)]
            if config.vector_scales:
                m.d.comb += b_lane.scale.eq(payload.vector.scale)
        b_copies = replicas(m, "b_copy", b_lane, copies, advance)
        # The B vector's format, a copy per group of lanes like the vector; a cycle
        # without a B vector shows a whole operand, which no lane keeps.
        format_copies = {}
        if nibbles:
            format_copies["part"] = replicas(
                m, "part_copy", Mux(b_accept, payload.part, OperandPart.WHOLE),
                copies, advance)
        if "scaled" in ports.b_vector(config).fields:
            format_copies["scaled"] = replicas(m, "scaled_copy", payload.scaled, copies,
                                               advance)
        products = []
        for lane_index in range(lanes):
            lane = m.submodules[f"lane{lane_index}"] = VectorMacLane(config)
            group = lane_index // _LANES_PER_B_COPY
            m.d.comb += [
                lane.a.eq(a_buffer.active[lane_index]),
                lane.b.eq(b_copies[group]),
                lane.en.eq(advance),
            ]
            m.d.comb += [getattr(lane, name).eq(values[group])
                         for name, values in format_copies.items()]
            products.append(lane.product)

        # Tags that travel beside the B register and the lanes' stages; the last one is
        # the accumulate stage.
        tag_layout = data.StructLayout({"valid": 1, "column": column.shape(), "first": 1,
                                        "last": 1})
        tag = Signal(tag_layout)
        m.d.comb += [tag.valid.eq(b_closes), tag.column.eq(column),
                     tag.first.eq(first_slice), tag.last.eq(payload.last)]
        tags = []
        for stage in range(1 + config.lane_stages):
            tags.append(Signal(tag_layout, name=f"tag{stage}"))
            with m.If(advance):
                m.d.sync += tags[-1].eq(tag)
            tag = tags[-1]
        m_tag = tags[-1]

        column_layout = layout(ports.output_column(config))
        m.submodules.collector = collector = Memory(shape=column_layout, depth=entries, init=[])
        write = collector.write_port()
        read = collector.read_port(transparent_for=(write,))
        # The read is issued as an item enters the lanes' last stage, so its data is there.
        m.d.comb += [read.addr.eq(tags[-2].column), read.en.eq(advance)]
        # A first slice's starting accumulators, from the B input to the accumulate stage:
        # at most one per stage between them is in flight.
        m.submodules.init_queue = init_queue = SyncFIFO(width=column_layout.size,
                                                        depth=len(tags) + 1)
        m.d.comb += [init_queue.w_data.eq(payload.init),
                     init_queue.w_en.eq(b_closes & first_slice),
                     init_queue.r_en.eq(m_tag.valid & m_tag.first & advance)]
        init = column_layout(init_queue.r_data)
        totals = [Mux(m_tag.first, init[lane_index], read.data[lane_index]) + product
                  for lane_index, product in enumerate(products)]
        if accumulate_stages(config) == 2:
            # The add is registered before saturation and the write. An entry comes back
            # L >= 2 advances after its read; the write lands by then (transparently at
            # L = 2), so no forwarding is needed.
            x_tag = Signal(tag_layout)
            x_totals = [Signal.like(total, name=f"x_total{index}")
                        for index, total in enumerate(totals)]
            with m.If(advance):
                m.d.sync += [x_tag.eq(m_tag)]
                m.d.sync += [register.eq(total) for register, total in zip(x_totals, totals)]
            m_tag, totals = x_tag, x_totals
        sums = Signal(column_layout)
        m.d.comb += [sum_.eq(saturate(total, config.acc_bits))
                     for sum_, total in zip(sums, totals)]
        m.d.comb += [write.addr.eq(m_tag.column), write.data.eq(sums),
                     write.en.eq(m_tag.valid & advance)]

        with m.If(advance):
            m.d.sync += [self.c.valid.eq(m_tag.valid & m_tag.last), self.c.payload.eq(sums)]
        return m

