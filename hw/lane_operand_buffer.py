"""Double buffer of the A vectors that the lanes hold while B vectors stream past."""

from amaranth import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.layouts import vsq_vector_layout

__all__ = ["LaneOperandBuffer"]


class LaneOperandBuffer(wiring.Component):
    """Holds one A vector per lane for a reduction slice while the next slice loads.

    A vectors arrive one per transfer, lane 0 first, into a shadow bank. A full shadow
    bank becomes the active bank as soon as the active bank is empty or its slice is done; the
    vector that completes the shadow bank may go straight into the active bank, so A
    vectors arriving one per cycle keep the lanes busy every cycle.

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

        shadow = Signal.like(self.active)
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

        with m.If(accept):
            m.d.sync += shadow[loaded].eq(self.a.payload)
        with m.If(swap):
            m.d.sync += [self.active.eq(shadow), loaded.eq(0), self.active_valid.eq(1)]
            with m.If(completes):
                m.d.sync += self.active[lanes - 1].eq(self.a.payload)
        with m.Else():
            with m.If(accept):
                m.d.sync += loaded.eq(loaded + 1)
            with m.If(self.slice_done):
                m.d.sync += self.active_valid.eq(0)
        return m
