"""Double buffer of the A vectors that the lanes hold while B vectors stream past."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.layouts import vsq_vector_layout

__all__ = ["LaneOperandBuffer"]


class LaneOperandBuffer(wiring.Component):
    """Holds one A vector per lane for a reduction slice while the next slice loads.

    Two banks: the lanes read the active one while A vectors arrive, one per transfer,
    lane 0 first, into the other. A full bank becomes the active one as soon as the
    active bank is empty or its slice is done; the vector that completes a bank may
    arrive in the same cycle, so A vectors arriving one per cycle keep the lanes busy
    every cycle.

    The swap only flips the bits that select the active bank: the decision, which
    depends on this cycle's B handshake, drives a flip-flop per lane and not the enables
    of every held bit, and each lane has its own copy of the select bit, so that no one
    net fans out to the whole array (both limited the array's clock).

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a : In(stream.Signature(vsq_vector_layout(config)))
    active : Out(ArrayLayout(vsq_vector_layout(config), lanes))
        The vector each lane holds; valid while `active_valid`.
    active_valid : Out(1)
    slice_done : In(1)
        The slice that uses the active bank is done with it.
    """

    def __init__(self, config):
        self._lanes = config.lanes
        layout = vsq_vector_layout(config)
        super().__init__({
            "a": In(stream.Signature(layout)),
            "active": Out(data.ArrayLayout(layout, config.lanes)),
            "active_valid": Out(1),
            "slice_done": In(1),
        })

    def elaborate(self, platform):
        lanes = self._lanes
        m = Module()

        banks = [Signal.like(self.active, name=f"bank{index}") for index in range(2)]
        selected = [Signal(name=f"selected{lane}") for lane in range(lanes)]
        loaded = Signal(range(lanes + 1))
        accept = Signal()
        completes = Signal()
        swap = Signal()
        m.d.comb += [
            self.a.ready.eq(loaded != lanes),
            accept.eq(self.a.valid & self.a.ready),
            completes.eq(accept & (loaded == lanes - 1)),
            swap.eq(((loaded == lanes) | completes) & (~self.active_valid | self.slice_done)),
        ]

        m.d.comb += [self.active[lane].eq(Mux(select, banks[1][lane], banks[0][lane]))
                     for lane, select in enumerate(selected)]
        for index, bank in enumerate(banks):
            with m.If(accept & (selected[0] != index)):
                m.d.sync += bank[loaded].eq(self.a.payload)
        with m.If(swap):
            m.d.sync += [select.eq(~select) for select in selected]
            m.d.sync += [loaded.eq(0), self.active_valid.eq(1)]
        with m.Else():
            with m.If(accept):
                m.d.sync += loaded.eq(loaded + 1)
            with m.If(self.slice_done):
                m.d.sync += self.active_valid.eq(0)
        return m
