"""The PPU's requantizer: columns of y to operand vectors with their scales, one vector
per lane (row), as the golden `golden.ppu.requantize_rows` computes them."""

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import table_lookup
from vsq_accel.hw.lib.credit_queue import CreditQueue
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.hw.ppu.requant_stages import element_stages, scale_stages
from vsq_accel.spec import ports
from vsq_accel.spec.commands import SHIFT_BITS
from vsq_accel.spec.timing import (check_stages, requant_banks, requant_element_stages,
                                   requant_scale_stages)

__all__ = ["Requantizer"]

# Vectors finished but not yet taken at the output: enough for one being read out, one
# in the pipeline and one waiting.
_QUEUED_GROUPS = 4


class Requantizer(wiring.Component):
    """Gathers each lane's row V columns at a time, then emits every lane's vector.

    Gather: kept columns are written into one of the banks of a memory (V rows of L
    values each; `spec.timing.requant_banks` of them, so that the gather never waits
    for a bank still being scaled or read out) while each lane's max |y| is kept; a
    column that closes the vectors starts the scale pipeline for its bank: ``s0_`` the
    final max -> the scale stages of `hw.ppu.requant_stages` (s_q and its reciprocal
    from a table, one per lane); then the bank is full. Emit: a full bank is read back a
    row per cycle while others fill: ``r0_`` the memory's row -> ``r1_`` positions past
    the vector's last kept column set to 0, the bank's parameters -> the element stages
    -> each lane's vector register.
    So the requantizer takes a column every cycle, and all L vectors leave together every
    V columns; a vector group starts only while the output queue has room for it.

    On a multi-format array each matmul names its operands' format (`wide`, `scaled`
    with its columns): without vector scales the reciprocal is 2^R (the product shifts
    by R more, the same bits as no reciprocal) and the scale 0; an INT8 group is clipped
    to 8 bits and leaves as two, its high nibbles and then its low ones
    (`golden.entries`).

    Members
    -------
    i : In(stream.Signature(ports.requant_column(config)))
    o : Out(stream.Signature(ports.requant_vectors(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(layout(ports.requant_column(config)))),
            "o": Out(stream.Signature(layout(ports.requant_vectors(config)))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        banks = _Banks(config)
        m.submodules.banks = memory = Memory(
            shape=data.ArrayLayout(signed(config.ppu_input_bits), config.lanes),
            depth=len(banks) * config.vector_size, init=[])
        write, read = memory.write_port(), memory.read_port()
        closed, fill, magnitudes = self._gather(m, write, banks)
        self._scale(m, banks, closed, fill, magnitudes)
        self._emit(m, read, banks)
        return m

    def _gather(self, m, write, banks):
        """Kept columns into the bank being filled, each lane's max |y| kept; a column
        that closes the vectors closes the bank (busy) with its count and parameters.
        Returns the closing (a signal), the bank's number and the lanes' final max."""
        config, column = self._config, self.i.payload
        size = config.vector_size
        fill = Signal(range(len(banks)))
        position = Signal(range(size))
        opening = Signal(init=1)           # the next kept column opens new vectors
        magnitudes = [Signal(config.ppu_input_bits, name=f"amax{lane}")
                      for lane in range(config.lanes)]
        take = Signal()
        m.d.comb += [
            self.i.ready.eq(~table_lookup(banks.busy, fill)),
            take.eq(self.i.valid & self.i.ready & column.keep),
            write.addr.eq((fill << (size - 1).bit_length()) | position),
            write.data.eq(column.y), write.en.eq(take),
        ]
        finals = [Mux(opening | (abs(y) > amax), abs(y), amax)
                  for y, amax in zip(column.y, magnitudes)]
        closed = take & column.vector_end
        formats = {name: getattr(column, name) for name in banks.formats}
        with m.If(take):
            m.d.sync += [amax.eq(final) for amax, final in zip(magnitudes, finals)]
            m.d.sync += [position.eq(Mux(column.vector_end, 0, position + 1)),
                         opening.eq(column.vector_end)]
        with m.If(closed):
            m.d.sync += fill.eq(fill + 1)
            banks.write(m, fill, busy=1, count=position + 1,
                        element_mult=column.element_mult, element_shift=column.element_shift,
                        group_last=column.last, **formats)
        return closed, fill, finals

    def _scale(self, m, banks, closed, fill, magnitudes):
        """The scale pipeline of a closed bank (``s0_`` the final max, then the scale
        stages); the bank is full once its scales are in."""
        config, column = self._config, self.i.payload
        s0 = stage(m, "s0", valid=closed, bank=fill, amax=magnitudes,
                   scale_mult=column.scale_mult, scale_shift=column.scale_shift)
        s3 = scale_stages(m, "s", config, s0.valid, s0.amax, s0.scale_mult, s0.scale_shift,
                          bank=s0.bank)
        check_stages("Requantizer's scale stages", s3.depth,
                     requant_scale_stages(config, config.ppu_input_bits))
        with m.If(s3.valid):
            scales = {} if banks.scale is None else {"recip": s3.reciprocal,
                                                      "scale": s3.scale}
            banks.write(m, s3.bank, full=1, **scales)

    def _emit(self, m, read, banks):
        """A full bank read back a row per cycle (``r0_``, ``r1_``, the element stages)
        into each lane's vector register; the group leaves with its last element."""
        config = self._config
        size = config.vector_size
        group = (layout(ports.requant_vectors(config)) if not banks.formats else
                 data.StructLayout({"vectors": data.ArrayLayout(
                                        layout(ports.lane_vector(config)), config.lanes),
                                    "last": 1, **{name: 1 for name in banks.formats}}))
        m.submodules.queue = queue = CreditQueue(group, _QUEUED_GROUPS - 2)
        emit = Signal(range(len(banks)))
        reading = Signal()
        row = Signal(range(size))
        start = Signal()
        m.d.comb += [
            start.eq(~reading & table_lookup(banks.full, emit) & queue.room),
            queue.take.eq(start),
            read.addr.eq((emit << (size - 1).bit_length()) | row),
            read.en.eq(1),
        ]
        issuing = start | reading
        with m.If(start):
            m.d.sync += [reading.eq(1), row.eq(1)]
        with m.Elif(reading):
            m.d.sync += row.eq(row + 1)
            with m.If(row == size - 1):
                m.d.sync += [reading.eq(0), row.eq(0), emit.eq(emit + 1)]

        # r0_: the bank's row comes out of the memory; r1_: the row, positions past the
        # vector's last kept column set to 0, and the bank's parameters, registered
        # before the multipliers.
        r0 = stage(m, "r0", valid=issuing, bank=emit, row=row)
        formats = {name: table_lookup(getattr(banks, name), r0.bank) for name in banks.formats}
        vector_reciprocals = {}
        if banks.scale is not None:
            reciprocals = banks.per_lane(banks.recip, r0.bank)
            if "scaled" in formats:
                one = 1 << config.ppu_recip_bits
                reciprocals = [Mux(formats["scaled"], value, one) for value in reciprocals]
            vector_reciprocals["reciprocals"] = reciprocals
        r1 = stage(m, "r1", valid=r0.valid, bank=r0.bank, row=r0.row,
                   values=[Mux(r0.row < table_lookup(banks.count, r0.bank), value, 0)
                           for value in read.data],
                   element_mult=table_lookup(banks.element_mult, r0.bank),
                   element_shift=table_lookup(banks.element_shift, r0.bank),
                   **vector_reciprocals, **formats)
        e3 = element_stages(m, "e", config, r1.valid, r1.values, r1.element_mult,
                            None if banks.scale is None else r1.reciprocals,
                            r1.element_shift, wide=getattr(r1, "wide", None), bank=r1.bank,
                            row=r1.row, **{name: getattr(r1, name) for name in formats
                                           if name != "wide"})
        # The drain model and the bank count assume this depth.
        check_stages("Requantizer's element stages", e3.depth,
                     requant_element_stages(config, config.ppu_input_bits))

        # Each lane's vector, shifted in element by element from the top, so that the
        # first lands at element 0; the group leaves with its last element, and only then
        # is its bank free again (the pipeline read the bank's parameters until then).
        result = Signal(group)
        with m.If(e3.valid):
            lane_scales = (None if banks.scale is None
                           else banks.per_lane(banks.scale, e3.bank))
            if "scaled" in formats:
                lane_scales = [Mux(e3.scaled, scale, 0) for scale in lane_scales]
            element_bits = len(e3.x[0])
            for lane in range(config.lanes):
                elements = result.vectors[lane].data.as_value()
                m.d.sync += elements.eq(Cat(elements[element_bits:], e3.x[lane]))
                if lane_scales is not None:
                    m.d.sync += result.vectors[lane].scale.eq(lane_scales[lane])
            m.d.sync += result.last.eq(table_lookup(banks.group_last, e3.bank))
            m.d.sync += [getattr(result, name).eq(getattr(e3, name)) for name in formats]
        leaving = e3.valid & (e3.row == size - 1)
        finished = Signal()
        m.d.sync += finished.eq(leaving)
        with m.If(leaving):
            banks.write(m, e3.bank, busy=0, full=0)
        m.d.comb += [queue.i.payload.eq(result), queue.i.valid.eq(finished)]
        if banks.formats:
            self._split(m, queue.o)
        else:
            wiring.connect(m, queue.o, wiring.flipped(self.o))

    def _split(self, m, groups):
        """A queued group to `o`: its elements' low 4 bits (a 4-bit operand), or for
        INT8 (`wide`) its high nibbles and then its low ones, two transfers."""
        item = groups.payload
        low_next = Signal()
        high = 0
        closes = 1                          # the transfer ends the group
        if hasattr(item, "wide"):
            high, closes = item.wide & ~low_next, ~item.wide | low_next
        for lane, vector in enumerate(item.vectors):
            out = self.o.payload.vectors[lane]
            m.d.comb += [element.eq(Mux(high, value[4:], value[:4]))
                         for element, value in zip(out.data, vector.data)]
            if self._config.vector_scales:
                m.d.comb += out.scale.eq(vector.scale)
        m.d.comb += [self.o.payload.last.eq(item.last & closes),
                     self.o.valid.eq(groups.valid), groups.ready.eq(self.o.ready & closes)]
        if hasattr(item, "wide"):
            with m.If(self.o.valid & self.o.ready & item.wide):
                m.d.sync += low_next.eq(~low_next)


class _Banks:
    """The banks (`len` of them: `spec.timing.requant_banks`); per bank: `busy` (closed,
    until its group has left the pipeline), `full` (its scales are in), its kept
    `count`, the parameters and `last` of its group, and with vector scales each lane's
    `scale` and reciprocal (`recip`)."""

    def __init__(self, config):
        self._banks = requant_banks(config)

        def per_bank(shape, name):
            return [Signal(shape, name=f"{name}{bank}") for bank in range(self._banks)]

        def per_bank_lane(shape, name):
            return [[Signal(shape, name=f"{name}{bank}_{lane}") for lane in range(config.lanes)]
                    for bank in range(self._banks)]

        self.busy, self.full = per_bank(1, "busy"), per_bank(1, "full")
        self.count = per_bank(range(config.vector_size + 1), "count")
        self.element_mult = per_bank(config.ppu_mult_bits, "element_mult")
        self.element_shift = per_bank(SHIFT_BITS, "element_shift")
        self.group_last = per_bank(1, "group_last")
        # The operands' format, where the configuration has a choice.
        self.formats = tuple(ports.operand_format_fields(config))
        for name in self.formats:
            setattr(self, name, per_bank(1, name))
        self.scale = self.recip = None
        if config.vector_scales:
            self.scale = per_bank_lane(config.scale_bits, "scale")
            self.recip = per_bank_lane(config.ppu_recip_bits + 1, "recip")

    def __len__(self):
        return self._banks

    def write(self, m, bank, **values):
        """Set the named registers of the bank numbered `bank` (a signal) this cycle; a
        list value sets one register per lane."""
        with m.Switch(bank):
            for index in range(self._banks):
                with m.Case(index):
                    for name, value in values.items():
                        registers = getattr(self, name)[index]
                        if isinstance(value, list):
                            m.d.sync += [r.eq(v) for r, v in zip(registers, value)]
                        else:
                            m.d.sync += registers.eq(value)

    @staticmethod
    def per_lane(registers, bank):
        """Each lane's register of the bank numbered `bank` (a signal)."""
        return [table_lookup([per_bank[lane] for per_bank in registers], bank)
                for lane in range(len(registers[0]))]
