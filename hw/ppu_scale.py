"""The PPU's scaling stage: a finished column of accumulators to y, lane by lane."""

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.arith import rhu_variable, saturate
from hw.credit_queue import CreditQueue
from hw.pipeline import stage

__all__ = ["PpuScale", "ppu_column_layout", "ppu_y_layout", "SHIFT_BITS"]

# Width of a rounding shift; the host's fixed-point scales never shift by more than 62.
SHIFT_BITS = 6
# Register stages from a taken column to the output queue: a_ to e_ and out_.
_STAGES = 6


def ppu_column_layout(config):
    """A column of L accumulators with each lane's parameters, as the controller gives
    them: the multiplier, shift and bias of the column (the same in every lane) or of
    each lane's row (a result produced transposed), the row's softmax reciprocal r (1
    when rows are not scaled), and the matmul's mode: ReLU, and logits (saturate to the
    logit width instead of ppu_bits). `last` passes through."""
    lanes = config.lanes
    return data.StructLayout({
        "acc": data.ArrayLayout(signed(config.acc_bits), lanes),
        "mult": data.ArrayLayout(unsigned(config.ppu_mult_bits), lanes),
        "shift": data.ArrayLayout(unsigned(SHIFT_BITS), lanes),
        "bias": data.ArrayLayout(signed(config.ppu_bits), lanes),
        "reciprocal": data.ArrayLayout(unsigned(config.softmax_recip_bits), lanes),
        "relu": 1,
        "logits": 1,
        "last": 1,
    })


def ppu_y_layout(config):
    """A column of L outputs y (logits, sign-extended, in logits mode) and `last`."""
    return data.StructLayout({"y": data.ArrayLayout(signed(config.ppu_bits), config.lanes),
                              "last": 1})


class PpuScale(wiring.Component):
    """y = saturate(relu?(rhu(acc * r * mult, shift) + bias), out_bits) in every lane, the
    golden `golden.ppu.scale`; out_bits is ppu_bits, or softmax_logit_bits for logits.

    Stages, one multiply or one add each: ``a_`` acc * r -> ``b_`` that times each half
    of the multiplier -> ``c_`` their sum, the full product -> ``d_`` rounded by the
    lane's shift -> ``e_`` plus the bias, ReLU -> ``out_`` saturated -> a `CreditQueue`.
    The stages never stall: a column is taken only while the queue has room for it and
    every column ahead of it, so the PPU takes a column every cycle unless its output
    stalls, and no enable fans out from `o.ready`.

    Members
    -------
    i : In(stream.Signature(ppu_column_layout(config)))
    o : Out(stream.Signature(ppu_y_layout(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(ppu_column_layout(config))),
            "o": Out(stream.Signature(ppu_y_layout(config))),
        })

    LATENCY = _STAGES + 1
    """Cycles from a column's transfer in to its output's transfer, the output ready: the
    stages and the queue's write."""

    def elaborate(self, platform):
        config = self._config
        m = Module()
        column = self.i.payload
        m.submodules.queue = queue = CreditQueue(self.o.payload.shape(), _STAGES)
        take = Signal()
        m.d.comb += [self.i.ready.eq(queue.room), take.eq(self.i.valid & queue.room),
                     queue.take.eq(take)]

        mode = {"relu": column.relu, "logits": column.logits, "last": column.last}
        a = stage(m, "a", valid=take, **mode, mult=list(column.mult),
                  shift=list(column.shift), bias=list(column.bias),
                  scaled=[acc * r for acc, r in zip(column.acc, column.reciprocal)])
        half = config.ppu_mult_bits // 2
        b = stage(m, "b", valid=a.valid, relu=a.relu, logits=a.logits, last=a.last,
                  shift=a.shift, bias=a.bias,
                  low=[value * mult[:half] for value, mult in zip(a.scaled, a.mult)],
                  high=[value * mult[half:] for value, mult in zip(a.scaled, a.mult)])
        c = stage(m, "c", valid=b.valid, relu=b.relu, logits=b.logits, last=b.last,
                  shift=b.shift, bias=b.bias,
                  product=[(high << half) + low for low, high in zip(b.low, b.high)])
        d = stage(m, "d", valid=c.valid, relu=c.relu, logits=c.logits, last=c.last,
                  bias=c.bias,
                  rounded=[rhu_variable(product, shift)
                           for product, shift in zip(c.product, c.shift)])
        e = stage(m, "e", valid=d.valid, logits=d.logits, last=d.last,
                  biased=[Mux(d.relu & (value + bias < 0), 0, value + bias)
                          for value, bias in zip(d.rounded, d.bias)])
        out = stage(m, "out", valid=e.valid, last=e.last,
                    y=[Mux(e.logits, saturate(value, config.softmax_logit_bits),
                           saturate(value, config.ppu_bits))[:config.ppu_bits]
                       for value in e.biased])

        result = Signal(self.o.payload.shape())
        m.d.comb += [result.last.eq(out.last)]
        m.d.comb += [port.eq(value.as_signed()) for port, value in zip(result.y, out.y)]
        m.d.comb += [queue.i.payload.eq(result), queue.i.valid.eq(out.valid)]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m
