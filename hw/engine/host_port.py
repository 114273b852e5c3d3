"""The host's data stream into and out of the buffers: LOAD and STORE."""

from amaranth import Array, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.host_interface import HOST_BUFFERS, host_beats
from vsq_accel.spec.timing import HOST_DATA_BITS

__all__ = ["HostLoader", "HostStorer", "host_job_layout"]


def host_job_layout(addr_bits):
    """`count` entries of `buffer` from entry `base` on."""
    return data.StructLayout({"buffer": 3, "base": addr_bits, "count": addr_bits + 1})


def _entry_width(config):
    return max(host_beats(config, buffer) for buffer in HOST_BUFFERS) * HOST_DATA_BITS


def _beats_of(m, config, buffer):
    """The beats of an entry of `buffer` (a table on the buffer code)."""
    beats = Signal(range(_entry_width(config) // HOST_DATA_BITS + 1))
    with m.Switch(buffer):
        for code in HOST_BUFFERS:
            with m.Case(code):
                m.d.comb += beats.eq(host_beats(config, code))
    return beats


class HostLoader(wiring.Component):
    """LOAD: entries assembled from the host's beats, each written into the buffer as
    its last beat arrives (the write waits while the buffer's port is busy). The host
    marks the last beat of a command's data with `last`; it is not needed here (the
    command counts its entries).

    Members
    -------
    job : In(stream.Signature(host_job_layout(addr_bits)))
    i : In(stream.Signature(ports.host_beat()))
    o : Out(stream.Signature({"buffer": 3, "addr": addr_bits, "data": entry bits}))
    busy : Out(1)
    """

    def __init__(self, config, addr_bits):
        self._config, self._addr_bits = config, addr_bits
        super().__init__({
            "job": In(stream.Signature(host_job_layout(addr_bits))),
            "i": In(stream.Signature(layout(ports.host_beat()))),
            "o": Out(stream.Signature(data.StructLayout({
                "buffer": 3, "addr": addr_bits, "data": _entry_width(config)}))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        job = Signal(host_job_layout(self._addr_bits))
        active = Signal()
        remaining = Signal.like(job.count)
        beat = Signal(range(_entry_width(config) // HOST_DATA_BITS))
        entry = Signal(_entry_width(config))
        addr = Signal(self._addr_bits)
        beats = _beats_of(m, config, job.buffer)

        last_beat = beat == beats - 1
        take = Signal()
        m.d.comb += [
            self.job.ready.eq(~active),
            self.busy.eq(active | self.o.valid),
            self.i.ready.eq(active & remaining.any() & (~self.o.valid | self.o.ready)),
            take.eq(self.i.valid & self.i.ready),
        ]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.job.valid & ~active):
            m.d.sync += [job.eq(self.job.payload), active.eq(1), beat.eq(0),
                         remaining.eq(self.job.payload.count), addr.eq(self.job.payload.base)]
        with m.If(active & ~remaining.any()):
            m.d.sync += active.eq(0)
        with m.If(take):
            word = entry.word_select(beat, HOST_DATA_BITS)
            m.d.sync += [word.eq(self.i.payload.data), beat.eq(beat + 1)]
            with m.If(last_beat):
                complete = Signal.like(entry)
                m.d.comb += [complete.eq(entry),
                             complete.word_select(beat, HOST_DATA_BITS).eq(self.i.payload.data)]
                m.d.sync += [self.o.valid.eq(1), self.o.payload.buffer.eq(job.buffer),
                             self.o.payload.addr.eq(addr), self.o.payload.data.eq(complete),
                             beat.eq(0), addr.eq(addr + 1), remaining.eq(remaining - 1),
                             entry.eq(0)]
        return m


class HostStorer(wiring.Component):
    """STORE: entries read from the buffer and sent as beats, LSB first, one beat a
    cycle: the next entry is read while the current one's beats leave, and waits in the
    read port (which holds its data while not enabled). The last beat of the command's
    data carries `last` (AXI4-Stream TLAST).

    Members
    -------
    job : In(stream.Signature(host_job_layout(addr_bits)))
    read_addr, read_en : Out
        The read port of the job's buffer (the engine selects it by `job.buffer`).
    read_buffer : Out(3)
    read_data : In(entry bits)
    hold : In(1)
        The buffer's port is taken this cycle (by a write): the read waits.
    o : Out(stream.Signature(ports.host_beat()))
    busy : Out(1)
    """

    def __init__(self, config, addr_bits):
        self._config, self._addr_bits = config, addr_bits
        super().__init__({
            "job": In(stream.Signature(host_job_layout(addr_bits))),
            "read_addr": Out(addr_bits),
            "read_en": Out(1),
            "read_buffer": Out(3),
            "read_data": In(_entry_width(config)),
            "hold": In(1),
            "o": Out(stream.Signature(layout(ports.host_beat()))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        job = Signal(host_job_layout(self._addr_bits))
        remaining = Signal.like(job.count)     # entries not yet read
        fetched = Signal()                     # read_data holds the next entry
        beat = Signal(range(_entry_width(config) // HOST_DATA_BITS))
        entry = Signal(_entry_width(config))
        beats = _beats_of(m, config, job.buffer)

        beat_words = Array(entry.word_select(index, HOST_DATA_BITS)
                           for index in range(len(entry) // HOST_DATA_BITS))
        last_beat = beat == beats - 1
        active = remaining.any() | fetched | self.o.valid
        m.d.comb += [self.read_addr.eq(job.base), self.read_buffer.eq(job.buffer),
                     self.o.payload.data.eq(beat_words[beat]),
                     self.o.payload.last.eq(last_beat & ~remaining.any() & ~fetched),
                     self.job.ready.eq(~active), self.busy.eq(active)]
        with m.If(self.job.valid & ~active):
            m.d.sync += [job.eq(self.job.payload), remaining.eq(self.job.payload.count)]

        # The output register frees at its entry's last beat; the fetched entry moves in
        # (`valid` from a register, as AXI asks of a master) and the next is read.
        sent = self.o.valid & self.o.ready
        free = ~self.o.valid | (sent & last_beat)
        move = free & fetched
        with m.If(move):
            m.d.sync += [entry.eq(self.read_data), self.o.valid.eq(1), beat.eq(0)]
        with m.Elif(free):
            m.d.sync += self.o.valid.eq(0)
        with m.Elif(sent):
            m.d.sync += beat.eq(beat + 1)
        with m.If(remaining.any() & (~fetched | move) & ~self.hold):
            m.d.comb += self.read_en.eq(1)
            m.d.sync += [job.base.eq(job.base + 1), remaining.eq(remaining - 1),
                         fetched.eq(1)]
        with m.Elif(move):
            m.d.sync += fetched.eq(0)
        return m
