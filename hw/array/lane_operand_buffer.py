"""Double buffer of the A vectors that the lanes hold while B vectors stream past."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import equals
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import replicas, stage
from vsq_accel.spec import ports
from vsq_accel.spec.ports import OperandPart

__all__ = ["LaneOperandBuffer"]

# Elements of a lane's A vector chosen by one copy of the select bit.
_ELEMENTS_PER_SELECT_COPY = 4


class LaneOperandBuffer(wiring.Component):
    """Holds one A vector per lane for a reduction slice while the next slice loads.

    Two banks: a B vector is accepted for the active one while A vectors arrive, one per
    transfer, lane 0 first, into the other. A full bank becomes the active one as soon as
    the active bank is empty or its slice is done; the vector that completes a bank may
    arrive in the same cycle, so A vectors arriving one per cycle keep the lanes busy
    every cycle.

    The lanes multiply the B vector one cycle after it is accepted (the array registers
    it), so `active` shows the bank that was active then: the lanes keep the select bit
    that went with the B vector as they `take` it, in copies of a few elements each (one
    flip-flop selecting a lane's whole vector would be the array's longest path). Until the
    lanes have taken the last B vector of a bank, no A vector is written into that bank
    (only an output stall delays them).

    The swap only flips the select bit: the decision, which depends on this cycle's B
    handshake, drives one flip-flop and not the enables of every held bit.

    With INT8 in nibble passes a lane's A vector is two entries, its high nibbles (into
    the upper half of each 8-bit element) and then its low ones; a whole 4-bit operand
    fills the element sign-extended.

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a : In(stream.Signature(ports.a_vector(config)))
    active : Out(ArrayLayout(ports.lane_vector(config), lanes))
        The vector each lane holds for the B vector registered before the lanes.
    active_valid : Out(1)
        A bank is active: a B vector may be accepted.
    slice_done : In(1)
        The last B vector of the active bank's slice is accepted.
    take : In(1)
        The lanes take the registered B vector (and the next one is registered).
    """

    def __init__(self, config):
        self._lanes = config.lanes
        self._scales = config.vector_scales
        self._nibbles = config.nibble_passes
        self._select_copies = -(-config.vector_size // _ELEMENTS_PER_SELECT_COPY)
        super().__init__({
            "a": In(stream.Signature(layout(ports.a_vector(config)))),
            "active": Out(data.ArrayLayout(layout(ports.lane_vector(config)), config.lanes)),
            "active_valid": Out(1),
            "slice_done": In(1),
            "take": In(1),
        })

    def elaborate(self, platform):
        lanes, copies = self._lanes, self._select_copies
        m = Module()

        banks = [Signal.like(self.active, name=f"bank{index}") for index in range(2)]
        selected = Signal()
        in_use = [replicas(m, f"in_use{lane}_", selected, copies, self.take)
                  for lane in range(lanes)]
        loaded = Signal(range(lanes + 1))
        accept = Signal()
        closes = Signal()       # the entry completes its lane's vector
        completes = Signal()
        swap = Signal()
        # With nibble passes, an INT8 vector's high nibbles leave its lane open.
        closes_lane = ~equals(self.a.payload.part, OperandPart.HIGH) \
            if self._nibbles else 1
        m.d.comb += [
            self.a.ready.eq((loaded != lanes) & (self.take | (in_use[0][0] == selected))),
            accept.eq(self.a.valid & self.a.ready),
            closes.eq(accept & closes_lane),
            completes.eq(closes & (loaded == lanes - 1)),
            swap.eq(((loaded == lanes) | completes) & (~self.active_valid | self.slice_done)),
        ]

        for lane, copies_of_lane in enumerate(in_use):
            held = [bank[lane] for bank in banks]
            for index, element in enumerate(self.active[lane].data):
                select = copies_of_lane[index // _ELEMENTS_PER_SELECT_COPY]
                m.d.comb += element.eq(Mux(select, held[1].data[index], held[0].data[index]))
            if self._scales:
                m.d.comb += self.active[lane].scale.eq(
                    Mux(copies_of_lane[0], held[1].scale, held[0].scale))

        # An accepted vector is written a cycle later, from a register: the acceptance
        # depends on `take`, and must not drive the enables of a whole bank. The lanes
        # read a bank no sooner than a cycle after the swap, so the write is in time.
        parts = {"part": self.a.payload.part} if self._nibbles else {}
        write = stage(m, "write", valid=accept, vector=self.a.payload.vector, lane=loaded,
                      bank=~selected, **parts)
        for index, bank in enumerate(banks):
            with m.If(write.valid & (write.bank == index)):
                if not self._nibbles:
                    m.d.sync += bank[write.lane].eq(write.vector)
                for lane in range(lanes if self._nibbles else 0):
                    with m.If(equals(write.lane, lane)):
                        self._write_part(m, bank[lane], write)
        with m.If(swap):
            m.d.sync += [selected.eq(~selected), loaded.eq(0), self.active_valid.eq(1)]
        with m.Else():
            with m.If(closes):
                m.d.sync += loaded.eq(loaded + 1)
            with m.If(self.slice_done):
                m.d.sync += self.active_valid.eq(0)
        return m

    def _write_part(self, m, held, write):
        """An entry into the lane's 8-bit elements: the upper or lower nibbles, or all
        eight bits sign-extended from a whole 4-bit operand."""
        with m.Switch(write.part):
            with m.Case(OperandPart.HIGH):
                m.d.sync += [element[4:].eq(value) for element, value
                             in zip(held.data, write.vector.data)]
            with m.Case(OperandPart.LOW):
                m.d.sync += [element[:4].eq(value) for element, value
                             in zip(held.data, write.vector.data)]
            with m.Default():
                m.d.sync += [element.eq(value) for element, value
                             in zip(held.data, write.vector.data)]
                if self._scales:
                    m.d.sync += held.scale.eq(write.vector.scale)
