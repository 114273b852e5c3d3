"""The two ways a model's matmuls run in the study: in float, or through the golden
integer path (the bits the RTL computes) in one number format.

A model calls `linear` for its weight layers and `scores` / `mix` for the two attention
matmuls; everything else (embeddings, LayerNorm, GELU, pooling) stays in float on the
host, as it would beside the accelerator.
"""

import dataclasses

import numpy as np

from golden.config import AcceleratorConfig
from golden.ppu_params import exponentials_to_operand, to_logits
from golden.quantize import quantize
from golden.softmax import (softmax_base_e, softmax_exponentials, softmax_loop1,
                            softmax_reciprocal, softmax_rows, softmax_start)
from golden.vsq_matmul import accumulator_scale, vsq_matmul

__all__ = ["FORMATS", "FloatArithmetic", "IntegerArithmetic", "EXPONENTIALS", "PROBABILITIES"]

LOG2_E = 1.4426950408889634

# The formats of NVIDIA's table, as configurations of this accelerator. INT formats have
# one scale per weight row (output channel) and one per activation tensor; VSQ formats
# add an unsigned scale per 16-element vector, rounded to an 8-bit scale product.
FORMATS = {
    "int4_pc": AcceleratorConfig(vector_scales=False),
    "int4_vsq8": AcceleratorConfig(),
    "int4_vsq6": AcceleratorConfig(scale_bits=6),
    "int4_vsq4": AcceleratorConfig(scale_bits=4),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False),
}


@dataclasses.dataclass
class FloatArithmetic:
    """The reference: float64 matmuls and an exact base-e softmax; `score_scale`
    multiplies the attention scores (to give a model larger logits)."""

    score_scale: float = 1.0

    def linear(self, x, weight, bias):
        """x (T x K) @ weight^T (weight N x K, as PyTorch stores it) + bias."""
        return x @ weight.T + bias

    def attention(self, q, k, v, mask):
        """softmax(q k^T / sqrt(dk)) v over the keys that `mask` keeps."""
        scores = q @ k.T / np.sqrt(q.shape[1]) * self.score_scale
        return softmax_base_e(scores, np.broadcast_to(mask, scores.shape)) @ v


# The two dataflows of attention through the integer path.
EXPONENTIALS, PROBABILITIES = "exponentials", "probabilities"


@dataclasses.dataclass
class IntegerArithmetic:
    """Matmuls through the golden integer path in one format.

    Weights are quantized per output channel, activations per tensor (both then cut
    into vectors when the format has vector scales). With `attention_matmuls`, Q K^T
    and P V run in the same format too, with the softmax unit's arithmetic between
    them: base-2 logits of softmax_logit_bits (log2(e) / sqrt(dk) folded into the
    scale), then, as the tile program does (`dataflow` EXPONENTIALS), the exponentials
    2^(x - m) with per-vector scales along the keys times V, each row then times its
    reciprocal r; or (PROBABILITIES) the normalized probabilities with softmax_out_bits
    times V. Without it, attention stays in float. `score_scale` as in FloatArithmetic.
    """

    config: AcceleratorConfig
    attention_matmuls: bool = False
    dataflow: str = EXPONENTIALS
    score_scale: float = 1.0

    def linear(self, x, weight, bias):
        return self._matmul(x, weight, weight_rows=True) + bias

    def attention(self, q, k, v, mask):
        if not self.attention_matmuls:
            return FloatArithmetic(self.score_scale).attention(q, k, v, mask)
        config = self.config
        a, b_t = quantize(q, config), quantize(k, config)
        factor = LOG2_E / np.sqrt(q.shape[1]) * self.score_scale
        logits = to_logits(vsq_matmul(a, b_t, config), accumulator_scale(a, b_t, config)[0, 0],
                           factor, config)
        keep = np.broadcast_to(mask[None, :], logits.shape)
        if self.dataflow == PROBABILITIES:
            result = softmax_rows(logits, keep, config)
            probabilities = result.probs / float(1 << (config.softmax_out_bits - 1))
            return self._matmul(probabilities, v.T, weight_rows=False)
        row_max, row_sum = softmax_loop1(logits, keep, *softmax_start(len(logits), config),
                                         config)
        e_op = exponentials_to_operand(softmax_exponentials(logits, keep, row_max, config),
                                       config)
        v_t = quantize(v.T, config)
        acc = vsq_matmul(e_op, v_t, config) * accumulator_scale(e_op, v_t, config)
        reciprocal = softmax_reciprocal(row_sum, config)
        return acc * (reciprocal * 2.0 ** (config.softmax_exp_bits
                                           - config.softmax_recip_shift))[:, None]

    def _matmul(self, x, right_t, weight_rows):
        """x @ right_t^T with both quantized; right_t per row when it holds weights."""
        a = quantize(x, self.config)
        b_t = quantize(right_t, self.config, per_row=weight_rows)
        return vsq_matmul(a, b_t, self.config) * accumulator_scale(a, b_t, self.config)
