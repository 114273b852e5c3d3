"""The PPU's scaling stage: a finished column of accumulators to y, lane by lane."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import equals, round_half_up, saturate, shifted_with_half
from vsq_accel.hw.lib.credit_queue import CreditQueue
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.limb_products import pipelined_products
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.hw.ppu.gelu import gelu
from vsq_accel.spec import ports
from vsq_accel.spec.timing import (check_stages, ppu_latency, ppu_scale_stages,
                                   ppu_waiting_columns)

__all__ = ["PpuScale"]


class PpuScale(wiring.Component):
    """y = saturate(relu?(rhu(acc * r * mult, shift) + bias), out_bits) in every lane, the
    golden `golden.ppu.scale`; out_bits is ppu_bits, or softmax_logit_bits for logits.

    Stages, one multiply or one add each: ``a_`` acc * r and ``c_`` that times the
    multiplier, each cut into limb products summed in an adder tree
    (`hw.lib.limb_products`) -> ``d_`` shifted by the lane's shift (with the bit below)
    -> ``n_`` rounded half up and narrowed to ppu_bits + 2 -> ``e_`` plus the bias, ReLU
    -> ``out_`` saturated -> on a PPU with a GELU its stages (`hw.ppu.gelu`) -> a
    `CreditQueue`, `spec.timing.ppu_latency` cycles from input to output. The stages
    never stall: a column is taken only while the queue has room for it and every
    column ahead of it, so the PPU takes a column every cycle unless its output stalls,
    and no enable fans out from `o.ready`. A shared PPU (ppu_share S > 1) has L / S
    lanes and takes a column from its input queue every S cycles, in S parts.

    Members
    -------
    i : In(stream.Signature(ports.ppu_column(config)))
    o : Out(stream.Signature(ports.ppu_y(config)))
    busy : Out(1)
        On a shared PPU only: a column is inside. A shared PPU may still hold the
        padding columns of a matmul's last tile when the writers behind it finish.
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(layout(ports.ppu_column(config)))),
            "o": Out(stream.Signature(layout(ports.ppu_y(config)))),
            **({"busy": Out(1)} if config.ppu_parts > 1 else {}),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        m.submodules.queue = queue = CreditQueue(self.o.payload.shape())
        shared = config.ppu_parts > 1
        if shared:
            column, take = self._parts(m, queue)
        else:
            column, take = self.i.payload, Signal()
            m.d.comb += [self.i.ready.eq(queue.room), take.eq(self.i.valid & queue.room),
                         queue.take.eq(take)]

        gelu_mode = list(ports.gelu_fields(config))
        part = ["part"] if shared else []

        def carried(previous, *names):
            return {name: getattr(previous, name)
                    for name in (*names, "last", *gelu_mode, *part)}

        def mode(previous):
            return carried(previous, "relu", "logits")

        a = pipelined_products(m, "a", list(zip(column.acc, column.reciprocal)), take,
                               **mode(column), mult=list(column.mult), shift=list(column.shift),
                               bias=list(column.bias))
        # acc x r fits acc_bits + softmax_recip_bits signed bits (r is unsigned); the
        # adder tree's sum is wider, and its extra limbs would lengthen the next product.
        scaled_bits = config.acc_bits + config.softmax_recip_bits
        scaled = [product[:scaled_bits].as_signed() for product in a.products]
        c = pipelined_products(m, "c", list(zip(scaled, a.mult)), a.valid, **mode(a),
                               shift=a.shift, bias=a.bias)
        d = stage(m, "d", valid=c.valid, **mode(c), bias=c.bias,
                  halved=[shifted_with_half(product, shift)
                          for product, shift in zip(c.products, c.shift)])
        # A value beyond ppu_bits + 2 bits stays beyond ppu_bits after any bias of
        # ppu_bits, with its sign: saturated there (2v to ppu_bits + 3, before the
        # rounding's adder, which then is short), the bias adds to a short value.
        n = stage(m, "n", valid=d.valid, **mode(d), bias=d.bias,
                  narrow=[round_half_up(saturate(value, config.ppu_bits + 3))
                          for value in d.halved])
        e = stage(m, "e", valid=n.valid, **carried(n, "logits"),
                  biased=[Mux(n.relu & (value + bias < 0), 0, value + bias)
                          for value, bias in zip(n.narrow, n.bias)])
        out = stage(m, "out", valid=e.valid, **carried(e),
                    y=[Mux(e.logits, saturate(value, config.softmax_logit_bits),
                           saturate(value, config.ppu_bits))[:config.ppu_bits]
                       for value in e.biased])
        stages = a.depth + c.depth + len((d, n, e, out))
        if config.ppu_gelu:
            out = gelu(m, "g", config, out.valid, [value.as_signed() for value in out.y],
                       out.gelu, out.gelu_shift, last=out.last,
                       **({"part": out.part} if shared else {}))
            stages += out.depth
        check_stages("PpuScale", stages, ppu_scale_stages(config))
        # a shared PPU's column: its part register and S - 1 later parts
        queue.size_for(stages + (config.ppu_parts if shared else 0))

        result = Signal(self.o.payload.shape())
        y, whole = self._whole(m, out) if shared else (out.y, out.valid)
        m.d.comb += [result.last.eq(out.last)]
        m.d.comb += [port.eq(value.as_signed()) for port, value in zip(result.y, y)]
        m.d.comb += [queue.i.payload.eq(result), queue.i.valid.eq(whole)]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m

    def _parts(self, m, queue):
        """A shared PPU's input: the columns wait in a queue, and the head one passes in
        S parts of L / S lanes on S cycles in a row, the first part only while the output
        queue has room for the column; the part's lanes are registered before the
        multipliers (the queue's read and the choice of lanes are a path of their own).
        Returns that register's stage, with the part's index to carry along, and its
        `valid`."""
        config, share = self._config, self._config.ppu_parts
        m.submodules.waiting = waiting = SyncFIFO(width=len(self.i.payload.as_value()),
                                                   depth=ppu_waiting_columns(config))
        inside = Signal(range(ppu_waiting_columns(config) + ppu_latency(config) + 2))
        m.d.sync += inside.eq(inside + (self.i.valid & self.i.ready)
                              - (self.o.valid & self.o.ready))
        m.d.comb += self.busy.eq(inside.any())
        head = data.View(self.i.payload.shape(), waiting.r_data)
        part, take = Signal(range(share)), Signal()
        first, final = equals(part, 0), part == share - 1
        m.d.comb += [
            waiting.w_data.eq(self.i.payload), waiting.w_en.eq(self.i.valid),
            self.i.ready.eq(waiting.w_rdy),
            take.eq(waiting.r_rdy & (~first | queue.room)),
            queue.take.eq(take & first), waiting.r_en.eq(take & final),
        ]
        with m.If(take):
            m.d.sync += part.eq(Mux(final, 0, part + 1))
        width = config.lanes // share

        def lanes_of_part(name):
            values = list(getattr(head, name))
            picked = [Signal.like(values[lane], name=f"picked_{name}{lane}")
                      for lane in range(width)]
            with m.Switch(part):
                for index in range(share):
                    with m.Case(index):
                        m.d.comb += [choice.eq(values[index * width + lane])
                                     for lane, choice in enumerate(picked)]
            return picked

        column = stage(m, "part", valid=take, part=part,
                       **{name: lanes_of_part(name)
                          for name in ("acc", "reciprocal", "mult", "shift", "bias")},
                       **{name: getattr(head, name)
                          for name in ("relu", "logits", "last", *ports.gelu_fields(config))})
        return column, column.valid

    def _whole(self, m, out):
        """A shared PPU's output: the first S - 1 parts of a column held in registers
        until the last part leaves the stages; the column whole then."""
        share = self._config.ppu_parts
        held = [[Signal.like(value, name=f"held{index}_y{lane}", reset_less=True)
                 for lane, value in enumerate(out.y)] for index in range(share - 1)]
        with m.If(out.valid):
            with m.Switch(out.part):
                for index, registers in enumerate(held):
                    with m.Case(index):
                        m.d.sync += [register.eq(value)
                                     for register, value in zip(registers, out.y)]
        y = [value for registers in held for value in registers] + list(out.y)
        return y, out.valid & (out.part == share - 1)
