"""The output queue of a pipeline that never stalls.

A pipeline whose registers all move every cycle needs no enable from its output's
`ready`, which would fan out to every register and limit the clock.
Instead the pipeline takes an item only while the queue at its end has room for it and
for every item already inside the pipeline: a credit counter counts the items claimed
(taken and not yet gone out), and the queue is as deep as the pipeline is long plus its
own write and read. A pipeline whose decision to take is itself a long path may report
its takes `lag` cycles late, from a register: the queue then keeps `lag` more entries
for the claims still on their way.

With `bypass`, an item that finds the queue empty and the output ready goes straight
out, in the cycle it arrives: the queue then adds no cycle, so that a pipeline may end
in a register (and not in the queue's RAM) at no cost in latency.

The pipeline reads `room` as it is built, so a queue is made before the pipeline it
ends and learns the pipeline's length afterwards (`size_for`), from the stages built.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

__all__ = ["CreditQueue"]


class CreditQueue(wiring.Component):
    """Members
    -------
    room : Out(1)
        The pipeline may take an item this cycle.
    take : In(1)
        The pipeline took an item `lag` cycles ago (only while `room`).
    i : In(stream.Signature(shape, always_ready=True))
        The pipeline's last stage, `stages` cycles after the item was taken.
    o : Out(stream.Signature(shape))
        With `bypass`, the last stage's item itself while the queue is empty.
    """

    def __init__(self, shape, stages=None, lag=0, bypass=False):
        self._shape = shape
        self._bypass = bypass
        self._credits = self._depth = None
        if stages is not None:
            self.size_for(stages, lag)
        super().__init__({
            "room": Out(1),
            "take": In(1),
            "i": In(stream.Signature(shape, always_ready=True)),
            "o": Out(stream.Signature(shape)),
        })

    def size_for(self, stages, lag=0):
        """Hold the items of a pipeline of `stages` stages that reports its takes `lag`
        cycles late."""
        self._credits = stages + 2
        self._depth = stages + 2 + lag

    def elaborate(self, platform):
        if self._depth is None:
            raise ValueError("a CreditQueue needs the length of its pipeline: size_for()")
        m = Module()
        depth = self._depth
        m.submodules.fifo = fifo = SyncFIFO(width=len(self.i.payload.as_value()), depth=depth)
        claimed = Signal(range(depth + 1))
        leave = Signal()
        m.d.comb += [
            self.room.eq(claimed < self._credits),
            leave.eq(self.o.valid & self.o.ready),
            fifo.w_data.eq(self.i.payload), fifo.w_en.eq(self.i.valid),
            self.o.payload.eq(fifo.r_data), self.o.valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.o.ready),
        ]
        if self._bypass:
            # These take the place of the three above (the last assignment holds).
            m.d.comb += [
                self.o.valid.eq(fifo.r_rdy | self.i.valid),
                self.o.payload.eq(Mux(fifo.r_rdy, fifo.r_data, self.i.payload)),
                fifo.w_en.eq(self.i.valid & (fifo.r_rdy | ~self.o.ready)),
            ]
        m.d.sync += claimed.eq(claimed + self.take - leave)
        return m
