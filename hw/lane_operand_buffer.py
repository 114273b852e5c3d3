"""Double buffer of the A vectors that the lanes hold while B vectors stream past."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.layouts import vsq_vector_layout
from hw.pipeline import stage

__all__ = ["LaneOperandBuffer"]


class LaneOperandBuffer(wiring.Component):
    """Holds one A vector per lane for a reduction slice while the next slice loads.

    Two banks: a B vector is accepted for the active one while A vectors arrive, one per
    transfer, lane 0 first, into the other. A full bank becomes the active one as soon as
    the active bank is empty or its slice is done; the vector that completes a bank may
    arrive in the same cycle, so A vectors arriving one per cycle keep the lanes busy
    every cycle.

    The lanes multiply the B vector one cycle after it is accepted (the array registers
    it), so `active` shows the bank that was active then: each lane keeps the select bit
    that went with the B vector as the lanes `take` it. Until the lanes have taken the
    last B vector of a bank, no A vector is written into that bank (only an output
    stall delays them).

    The swap only flips the bits that select the active bank: the decision, which
    depends on this cycle's B handshake, drives a flip-flop per lane and not the enables
    of every held bit, and each lane has its own copies of the select bits (toggles that
    synthesis cannot merge), so that no one net fans out to the whole array.

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a : In(stream.Signature(vsq_vector_layout(config)))
    active : Out(ArrayLayout(vsq_vector_layout(config), lanes))
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
        layout = vsq_vector_layout(config)
        super().__init__({
            "a": In(stream.Signature(layout)),
            "active": Out(data.ArrayLayout(layout, config.lanes)),
            "active_valid": Out(1),
            "slice_done": In(1),
            "take": In(1),
        })

    def elaborate(self, platform):
        lanes = self._lanes
        m = Module()

        banks = [Signal.like(self.active, name=f"bank{index}") for index in range(2)]
        selected = [Signal(name=f"selected{lane}") for lane in range(lanes)]
        in_use = [Signal(name=f"in_use{lane}") for lane in range(lanes)]
        loaded = Signal(range(lanes + 1))
        accept = Signal()
        completes = Signal()
        swap = Signal()
        m.d.comb += [
            self.a.ready.eq((loaded != lanes) & (self.take | (in_use[0] == selected[0]))),
            accept.eq(self.a.valid & self.a.ready),
            completes.eq(accept & (loaded == lanes - 1)),
            swap.eq(((loaded == lanes) | completes) & (~self.active_valid | self.slice_done)),
        ]

        with m.If(self.take):
            m.d.sync += [bank.eq(select) for bank, select in zip(in_use, selected)]
        m.d.comb += [self.active[lane].eq(Mux(bank, banks[1][lane], banks[0][lane]))
                     for lane, bank in enumerate(in_use)]
        # An accepted vector is written a cycle later, from a register: the acceptance
        # depends on `take`, and must not drive the enables of a whole bank. The lanes
        # read a bank no sooner than a cycle after the swap, so the write is in time.
        write = stage(m, "write", valid=accept, vector=self.a.payload, lane=loaded,
                      bank=~selected[0])
        for index, bank in enumerate(banks):
            with m.If(write.valid & (write.bank == index)):
                m.d.sync += bank[write.lane].eq(write.vector)
        with m.If(swap):
            m.d.sync += [select.eq(~select) for select in selected]
            m.d.sync += [loaded.eq(0), self.active_valid.eq(1)]
        with m.Else():
            with m.If(accept):
                m.d.sync += loaded.eq(loaded + 1)
            with m.If(self.slice_done):
                m.d.sync += self.active_valid.eq(0)
        return m
