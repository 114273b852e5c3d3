"""Writes the requantized exponentials of the softmax into rows of an operand buffer,
and each row's state and reciprocal into STATE."""

from amaranth import Array, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import WritePort
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.commands import DIM_BITS

__all__ = ["ExpWriter", "exp_job_layout"]


def exp_job_layout(config, addr_bits):
    """`rows` rows of exponentials, row r's vector v at base + r * stride + v (`dest`:
    which operand buffer), row r's state and reciprocal at STATE[state_base + r]; `wide`
    (where INT8 runs in nibble passes): vector v in entries 2v (high nibbles) and 2v + 1
    (low)."""
    return data.StructLayout({"dest": 1, "base": addr_bits, "stride": addr_bits,
                              "rows": DIM_BITS, "state_base": addr_bits,
                              **({"wide": 1} if config.nibble_passes else {})})


class ExpWriter(wiring.Component):
    """Takes the row requantizer's groups (up to Q vectors of a row, the row's last
    with its reciprocal and state) and writes their entries one per cycle (an INT8
    vector's two in turn, `golden.entries`); a group's row end writes the STATE entry
    beside its last entry. `done` pulses with the last row's end: the softmax command
    retires.

    Members
    -------
    job : In(stream.Signature(exp_job_layout(config, addr_bits)))
    i : In(stream.Signature(ports.row_vectors(config)))
    write : In(WritePort.Signature(addr_width=addr_bits, shape=ports.vsq_vector(config)))
    state : In(WritePort.Signature(addr_width=addr_bits, shape=ports.state_entry(config)))
    hold : In(1)
        The operand buffer's write port is taken this cycle: nothing moves.
    dest, done, busy : Out(1)
    """

    def __init__(self, config, addr_bits):
        self._config, self._addr_bits = config, addr_bits
        super().__init__({
            "job": In(stream.Signature(exp_job_layout(config, addr_bits))),
            "i": In(stream.Signature(layout(ports.row_vectors(config)))),
            "write": In(WritePort.Signature(addr_width=addr_bits,
                                            shape=layout(ports.vsq_vector(config)))),
            "state": In(WritePort.Signature(addr_width=addr_bits,
                                            shape=layout(ports.state_entry(config)))),
            "hold": In(1),
            "dest": Out(1),
            "done": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        slots = ports.vectors_per_group(self._config)
        job = Signal(exp_job_layout(self._config, self._addr_bits))
        active = Signal()
        row = Signal(DIM_BITS)
        row_addr = Signal(self._addr_bits + DIM_BITS + 1)      # row `row`, vector 0
        vector = Signal(DIM_BITS)
        slot = Signal(range(max(slots, 2)))
        low_next = Signal()                  # an INT8 vector's high nibbles are written
        group = self.i.payload

        # The group's entries, then (with the last, or alone when it has none) its end.
        nibbles = self._config.nibble_passes
        writing = slot < group.count
        high = job.wide & ~low_next if nibbles else 0
        closes = ~writing | ~high if nibbles else 1  # the vector's last entry, if any
        moving = active & self.i.valid & ~self.hold
        finishing = moving & (slot + 1 >= group.count) & closes
        row_done = finishing & group.row_end
        vector_in = Array(group.vectors)[slot]
        m.d.comb += [
            *[element.eq(Mux(high, value[4:], value[:4]) if nibbles else value)
              for element, value in zip(self.write.data.data, vector_in.data)],
            self.write.addr.eq(row_addr + vector),
            self.write.en.eq(moving & writing),
            self.state.addr.eq(job.state_base + row),
            *[self.state.data[name].eq(group[name])
              for name in ports.state_entry(self._config).fields],
            self.state.en.eq(row_done),
            self.i.ready.eq(finishing),
            self.dest.eq(job.dest),
            self.job.ready.eq(~active),
            self.busy.eq(active),
            self.done.eq(row_done & (row == job.rows - 1)),
        ]
        with m.If(self.job.valid & ~active):
            m.d.sync += [job.eq(self.job.payload), active.eq(1), row.eq(0), vector.eq(0),
                         slot.eq(0), row_addr.eq(self.job.payload.base)]
        if self._config.vector_scales:
            m.d.comb += self.write.data.scale.eq(vector_in.scale)
        with m.If(self.write.en):
            m.d.sync += vector.eq(vector + 1)
            if nibbles:
                m.d.sync += low_next.eq(high)
            with m.If(closes):
                m.d.sync += slot.eq(slot + 1)
        with m.If(finishing):
            m.d.sync += slot.eq(0)
        with m.If(row_done):
            m.d.sync += [row.eq(row + 1), vector.eq(0), row_addr.eq(row_addr + job.stride)]
            with m.If(self.done):
                m.d.sync += active.eq(0)
        return m
