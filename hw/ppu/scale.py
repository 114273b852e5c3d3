"""The PPU's scaling stage: a finished column of accumulators to y, lane by lane."""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import round_half_up, saturate, shifted_with_half
from vsq_accel.hw.lib.credit_queue import CreditQueue
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.limb_products import pipelined_products
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.hw.ppu.gelu import gelu
from vsq_accel.spec import ports
from vsq_accel.spec.timing import check_stages, ppu_scale_stages

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
    and no enable fans out from `o.ready`.

    Members
    -------
    i : In(stream.Signature(ports.ppu_column(config)))
    o : Out(stream.Signature(ports.ppu_y(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(layout(ports.ppu_column(config)))),
            "o": Out(stream.Signature(layout(ports.ppu_y(config)))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        column = self.i.payload
        m.submodules.queue = queue = CreditQueue(self.o.payload.shape())
        take = Signal()
        m.d.comb += [self.i.ready.eq(queue.room), take.eq(self.i.valid & queue.room),
                     queue.take.eq(take)]

        gelu_mode = list(ports.gelu_fields(config))

        def carried(previous, *names):
            return {name: getattr(previous, name) for name in (*names, "last", *gelu_mode)}

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
                       out.gelu, out.gelu_shift, last=out.last)
            stages += out.depth
        check_stages("PpuScale", stages, ppu_scale_stages(config))
        queue.size_for(stages)

        result = Signal(self.o.payload.shape())
        m.d.comb += [result.last.eq(out.last)]
        m.d.comb += [port.eq(value.as_signed()) for port, value in zip(result.y, out.y)]
        m.d.comb += [queue.i.payload.eq(result), queue.i.valid.eq(out.valid)]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m
