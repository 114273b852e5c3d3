"""The commands of one attention head: its projections, then, per block of L query rows
and per block of keys, S = Q K^T into the score buffer, the softmax and P V; the last
block's P V scales each row by its reciprocal.

S blocks alternate between the two halves of the score buffer and the exponentials
between two LEFT regions, so that the array computes the next block of S while the
softmax unit works on this one. Rows longer than the softmax takes run in blocks of keys
in one pass (`golden.attention_stream`): each SOFTMAX continues its rows' max and sum in
STATE and records the max's rise, and each P V after the first continues the partial
sums in ACC, divided by 2^rise first.
"""

import dataclasses

import numpy as np

from vsq_accel.golden.key_blocks import keys_per_block
from vsq_accel.golden.ppu_params import (column_scaling, exponential_requantization, logit_scaling,
                                         requantization)
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.vsq_matmul import accumulator_unit
from vsq_accel.spec.commands import Buffer, Output, Softmax
from vsq_accel.spec.precision import format_config
from vsq_accel.toolchain.builder import CompileError, Region
from vsq_accel.toolchain.linear import linear_operand, matmul, operand_trace, requant_fields

__all__ = ["attention_head"]


@dataclasses.dataclass(frozen=True)
class _Span:
    """Block `index` of rows (or keys) first .. first + count."""

    index: int
    first: int
    count: int


def _spans(total, step):
    return [_Span(index, first, min(step, total - first))
            for index, first in enumerate(range(0, total, step))]


def attention_head(b, x, x_q, head, calibration, prefix, concat=None, places=None):
    """One head's commands. Its O goes to OUTPUT as y, or (concat = (region, first
    vector, gamma)) requantized into the concatenation, in its region's format.
    `places`: the format of "qkv", "scores" and "pv" (`spec.precision.layer_formats`;
    the entries' own if None). Returns O's region, unit and columns."""
    own = b.config.own_format
    places = places or {"qkv": own, "scores": own, "pv": own}
    q, k, v_t = _projections(b, x_q, head, calibration, prefix, places)
    plan = _HeadPlan(b, len(x), head, calibration, prefix, q, k, v_t, concat, places)
    plan.schedule()
    plan.free()
    return plan.out, plan.o_unit, plan.dv


def _projections(b, x_q, head, calibration, prefix, places):
    """Q and K (vectors along dk, in the scores' format) into LEFT and RIGHT; V^T = Wv^T
    X^T into RIGHT (vectors along the tokens, in P V's), with Wv^T in LEFT and
    parameters per row (V's channels); X and the weights in the format of "qkv"."""
    config = b.config
    x_left, x_right = b.regions["x"], b.regions["x.right"]
    qkv, mix = places["qkv"], places["pv"]
    scores = format_config(config, places["scores"])

    def projection(name, w, bias, buffer):
        return linear_operand(b, x_left, x_q.gamma, w.T, bias, calibration.unit(prefix + name),
                              calibration.gamma(prefix + name, scores), buffer, prefix + name,
                              "projection", format=qkv, out_format=places["scores"])

    q = projection("q", head.wq, head.bq, Buffer.LEFT)
    k = projection("k", head.wk, head.bk, Buffer.RIGHT)
    operands = format_config(config, qkv)
    wv_q = quantize(head.wv.T, operands, per_row=True)
    wv_region = b.load_operand(prefix + "v.w", Buffer.LEFT, wv_q, qkv)
    mix_config = format_config(config, mix)
    v_unit, v_gamma = calibration.unit(prefix + "v"), calibration.gamma(prefix + "v", mix_config)
    dv, tokens = head.wv.shape[1], x_q.values.shape[0]
    v_params = b.load_params(prefix + "v.params", column_scaling(
        accumulator_unit(wv_q.gamma, x_q.gamma, operands)[:, 0], v_unit, head.bv, dv, config))
    v_t = b.allocate(prefix + "v_op", Buffer.RIGHT, dv, -(-tokens // config.vector_size), mix)
    matmul(b, wv_region, x_right, dv, tokens, v_params, v_t, output=Output.OPERAND,
           reduction=head.wv.shape[0], per_row=True, dest_base=v_t.base, op="projection",
           trace=operand_trace(prefix + "v"), format=qkv, out_format=config.format_code(mix),
           **requant_fields(requantization(v_unit, v_gamma, mix_config)))
    b.free(prefix + "v.w", prefix + "v.params")
    return q, k, v_t


class _HeadPlan:
    """The regions and parameters of a head's S, softmax and P V, and the commands that
    use them, one kind a method."""

    def __init__(self, b, tokens, head, calibration, prefix, q, k, v_t, concat, places):
        config = self.config = b.config
        self.b, self.prefix, self.q, self.k, self.v_t = b, prefix, q, k, v_t
        self.dk, self.dv = head.wq.shape[1], head.wv.shape[1]
        self.scores_format, self.mix = places["scores"], places["pv"]
        lanes, size = config.lanes, config.vector_size
        operands, mix = (format_config(config, places[op]) for op in ("scores", "pv"))
        q_gamma, k_gamma = (calibration.gamma(prefix + name, operands) for name in "qk")
        self.s_params = b.load_params(prefix + "s.params", logit_scaling(
            float(accumulator_unit(q_gamma, k_gamma, operands)[0, 0]),
            np.log2(np.e) / np.sqrt(self.dk), tokens, config))
        self.e_requant, e_gamma = exponential_requantization(mix)
        self.o_unit = calibration.unit(prefix + "o")
        row_shift = config.softmax_recip_shift - config.softmax_exp_bits
        self.o_params = b.load_params(prefix + "o.params", column_scaling(
            accumulator_unit(e_gamma, calibration.gamma(prefix + "v", mix), mix)[0],
            self.o_unit, None, self.dv, config, row_shift))
        try:
            key_block = keys_per_block(tokens, config)
        except ValueError as error:
            raise CompileError(str(error)) from None
        self.exps = [b.allocate(f"{prefix}e_op.{half}", Buffer.LEFT, lanes,
                                -(-key_block // size), self.mix) for half in range(2)]
        self.out, self.out_fields = self._output(tokens, concat)
        self.keys = _spans(tokens, key_block)
        self.blocks = _spans(tokens, lanes)
        self.single = len(self.keys) == 1
        self.acc = None if self.single else b.allocate(prefix + "acc", Buffer.ACC, self.dv, 1)
        self._scores = 0                 # S blocks so far: they alternate between halves

    def _output(self, tokens, concat):
        """O's region and the P V fields that send the last key block's result there."""
        if concat is None:
            out = self.b.allocate(self.prefix + "o", Buffer.OUTPUT, tokens,
                                  -(-self.dv // self.config.vector_size))
            return out, {"output": Output.Y, "dest_base": out.base}
        out, first_vector, gamma = concat
        format = out.format or self.config.own_format
        return out, {"output": Output.OPERAND, "dest_base": out.at(0, first_vector * out.passes),
                     "out_format": self.config.format_code(format),
                     **requant_fields(requantization(self.o_unit, gamma,
                                                     format_config(self.config, format)))}

    def schedule(self):
        """Every block of queries over every block of keys, in order; the S of the next
        pair is emitted before this pair's P V, so the array computes it while the
        softmax unit works on this one."""
        pairs = [(block, keys) for block in self.blocks for keys in self.keys]
        slot = self.scores(*pairs[0])
        for index, (block, keys) in enumerate(pairs):
            exp = self.softmax(block, keys, slot)
            if index + 1 < len(pairs):
                slot = self.scores(*pairs[index + 1])
            self.weighted_values(block, keys, exp)

    # -- Commands ---------------------------------------------------------------------------

    def scores(self, block, keys):
        """S for a block of queries and keys, as logits into the next half of SCORES;
        returns that half's first row."""
        slot = self._scores % 2 * self.config.lanes
        self._scores += 1
        names = {"acc": self.prefix + "s.acc", "y": self.prefix + "logits"}
        matmul(self.b, self.q, self.k, block.count, keys.count, self.s_params.sub(keys.first),
               Region(Buffer.SCORES, slot, block.count, 1, 1), reduction=self.dk,
               left_row=block.first, right_row=keys.first, output=Output.LOGITS,
               dest_base=slot, trace_row=block.first, trace_column=keys.first, op="scores",
               trace=names, format=self.scores_format)
        return slot

    def softmax(self, block, keys, slot):
        """Loops 1 and 2 over a block of keys: the rows' max, sum, rise and reciprocal
        into STATE and the exponentials, requantized, into one of the two LEFT regions;
        returns it."""
        exp = self.exps[(block.index * len(self.keys) + keys.index) % 2]
        prefix = self.prefix
        names = {"row_max": prefix + "row_max", "row_sum": prefix + "row_sum",
                 "exponentials": prefix + "exponentials", "values": prefix + "e_op.values",
                 "scales": prefix + "e_op.scales", "reciprocal": prefix + "o.reciprocal"}
        if not self.single:     # of a long row, only the last block's reciprocal is whole
            names = ({"reciprocal": names["reciprocal"]}
                     if keys.index == len(self.keys) - 1 else {})
        self.b.emit(Softmax(src_base=slot, rows=block.count, length=keys.count,
                            loop1=1, first=int(keys.index == 0), loop2=1,
                            state_base=self._state(block), dest=Buffer.LEFT,
                            dest_base=exp.base, dest_stride=exp.stride,
                            **requant_fields(self.e_requant),
                            format=self.config.format_code(self.mix),
                            trace={"op": "softmax", "row": block.first, "names": names}))
        return exp

    def weighted_values(self, block, keys, exp):
        """P V for a block of queries over a block of keys: accumulated in ACC (the
        partial sums divided by 2^rise first), the last key block's rows scaled by their
        reciprocals into O."""
        last = keys.index == len(self.keys) - 1
        continued = {} if self.single else {"accumulate": int(keys.index > 0),
                                            "rescale": int(keys.index > 0),
                                            "acc_base": self.acc.base}
        if last:
            destination = self.out
            fields = dict(self.out_fields, dest_base=self.out_fields["dest_base"]
                          + block.first * self.out.stride)
        else:
            destination, fields = self.acc, {"output": Output.ACC}
        size = self.config.vector_size
        matmul(self.b, exp, self.v_t, block.count, self.dv, self.o_params, destination,
               right_vector=keys.first // size, reduction=keys.count,
               k=-(-keys.count // size), row_scale=int(last), state_base=self._state(block),
               op="P V", trace_row=block.first, format=self.mix, **continued, **fields,
               trace={"acc": self.prefix + "o.acc", "y": self.prefix + "o"} if last else None)

    def _state(self, block):
        """STATE's half for a block of queries: blocks alternate between two."""
        return block.index % 2 * self.config.lanes

    def free(self):
        prefix = self.prefix
        self.b.free(prefix + "q_op", prefix + "k_op", prefix + "v_op", prefix + "s.params",
                    prefix + "o.params", f"{prefix}e_op.0", f"{prefix}e_op.1",
                    *([] if self.single else [prefix + "acc"]))

