"""cocotb ends of an Amaranth stream (payload/valid/ready), with random idle cycles.

Both ends act on the falling clock edge and read the settled handshake in the ReadOnly
phase, so a transfer is exactly what the DUT sees at the next rising edge.
"""

import dataclasses
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time

__all__ = ["CLOCK_NS", "Idle", "StreamSource", "StreamSink", "start_and_reset", "stream_through",
           "within"]

CLOCK_NS = 10


@dataclasses.dataclass(frozen=True)
class Idle:
    """Probability that an interface idles on a cycle: the sources of A and B (or of the
    one input, `a`) withhold their next payload, the sink of the output (`c`) drops
    ready."""

    a: float = 0.0
    b: float = 0.0
    c: float = 0.0


async def start_and_reset(dut, sources, sinks):
    """Start the clock, hold reset (synchronous, active high) for three cycles with every
    named source idle and every sink not ready, and return on a falling edge."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    for name in sources:
        getattr(dut, f"{name}__valid").value = 0
    for name in sinks:
        getattr(dut, f"{name}__ready").value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await FallingEdge(dut.clk)


def _cycle():
    return int(get_sim_time("ns") // CLOCK_NS)


async def within(cycles, coroutine, what, ends):
    """Await `coroutine` for at most `cycles` clock cycles; past them, fail with the
    cycle, `what` was awaited, and each stream end's state (`ends`: what it waits on,
    its transfers and the last payload it moved)."""
    try:
        return await with_timeout(coroutine, cycles * CLOCK_NS, "ns")
    except SimTimeoutError:
        states = "\n  ".join(end.state() for end in ends)
        raise AssertionError(f"stuck at cycle {_cycle()}: {what} did not finish within its "
                             f"budget of {cycles} cycles\n  {states}") from None


class _StreamEnd:
    def __init__(self, dut, name, clock, idle_probability, seed):
        self._name = name
        self._payload = getattr(dut, f"{name}__payload")
        self._valid = getattr(dut, f"{name}__valid")
        self._ready = getattr(dut, f"{name}__ready")
        self._clock = clock
        self._idle = idle_probability
        self._rng = random.Random(seed)
        self.transfer_times = []
        self._last = None
        self._waiting = "has not started"

    def _idles(self):
        return self._idle > 0 and self._rng.random() < self._idle

    def _transferred(self, payload):
        self.transfer_times.append(get_sim_time("ns"))
        self._last = payload

    def state(self):
        last = "none" if self._last is None else f"{self._last:#x}"
        return (f"{type(self).__name__} {self._name}: {self._waiting}; "
                f"{len(self.transfer_times)} transfers, the last payload {last}")


class StreamSource(_StreamEnd):
    """Offers payloads in order; idles a random number of cycles between them (never
    withdrawing an offered payload, as the stream rules require)."""

    def __init__(self, dut, name, clock, idle_probability=0.0, seed=0):
        super().__init__(dut, name, clock, idle_probability, seed)
        self._valid.value = 0

    async def send(self, payloads):
        for index, payload in enumerate(payloads):
            while self._idles():
                self._valid.value = 0
                await FallingEdge(self._clock)
            self._valid.value = 1
            self._payload.value = payload
            self._waiting = f"offers payload {index} and waits for ready since cycle {_cycle()}"
            while True:
                await ReadOnly()
                accepted = self._ready.value == 1
                if accepted:
                    self._transferred(payload)
                await FallingEdge(self._clock)
                if accepted:
                    break
        self._valid.value = 0
        self._waiting = "has sent everything"


class StreamSink(_StreamEnd):
    """Takes payloads until it has `count` (or until `count(received)` is true, for an
    output whose length the test knows only from the payloads), dropping ready on
    random cycles; returns them as ints."""

    def __init__(self, dut, name, clock, idle_probability=0.0, seed=0):
        super().__init__(dut, name, clock, idle_probability, seed)
        self._ready.value = 0

    async def receive(self, count):
        received = []
        finished = count if callable(count) else lambda received: len(received) >= count
        self._waiting = f"waits for payload 0 since cycle {_cycle()}"
        while not finished(received):
            ready = not self._idles()
            self._ready.value = int(ready)
            await ReadOnly()
            if ready and self._valid.value == 1:
                received.append(self._payload.value.to_unsigned())
                self._transferred(received[-1])
                self._waiting = f"waits for payload {len(received)} since cycle {_cycle()}"
            await FallingEdge(self._clock)
        self._ready.value = 0
        self._waiting = "has received everything"
        return received


async def stream_through(dut, payloads, count, idle=Idle(), seed=0):
    """Send payloads (ints) into the DUT's `i` stream while taking `count` from its `o`
    (see `StreamSink.receive`), both with random idle cycles (idle.a, idle.c), within a
    budget of cycles from the transfers (`within`). Returns (received, input transfer
    times, output transfer times), times in ns."""
    source = StreamSource(dut, "i", dut.clk, idle.a, seed)
    sink = StreamSink(dut, "o", dut.clk, idle.c, seed + 1)
    sending = cocotb.start_soon(source.send(payloads))
    expected = len(payloads) if callable(count) else count
    budget = 20 * (2 * (len(payloads) + expected) + 200)
    received = await within(budget, sink.receive(count), "the output stream", (source, sink))
    await within(budget, sending, "the input stream", (source, sink))
    return received, source.transfer_times, sink.transfer_times
