"""The two ways a model's matmuls run in the study: in float, or through the golden
integer path (the bits the RTL computes) in one number format.

A model calls `linear` for its weight layers and `scores` / `mix` for the two attention
matmuls; everything else (embeddings, LayerNorm, GELU, pooling) stays in float on the
host, as it would beside the accelerator.
"""

import dataclasses

import numpy as np

from golden.config import AcceleratorConfig
from golden.ppu_params import to_logits
from golden.quantize import quantize
from golden.softmax import softmax_base_e, softmax_rows
from golden.vsq_matmul import accumulator_scale, vsq_matmul

__all__ = ["FORMATS", "FloatArithmetic", "IntegerArithmetic"]

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


class FloatArithmetic:
    """The reference: float64 matmuls and an exact base-e softmax."""

    def linear(self, x, weight, bias):
        """x (T x K) @ weight^T (weight N x K, as PyTorch stores it) + bias."""
        return x @ weight.T + bias

    def attention(self, q, k, v, mask):
        """softmax(q k^T / sqrt(dk)) v over the keys that `mask` keeps."""
        scores = q @ k.T / np.sqrt(q.shape[1])
        return softmax_base_e(scores, np.broadcast_to(mask, scores.shape)) @ v


@dataclasses.dataclass
class IntegerArithmetic:
    """Matmuls through the golden integer path in one format.

    Weights are quantized per output channel, activations per tensor (both then cut
    into vectors when the format has vector scales). With `attention_matmuls`, Q K^T
    and P V run in the same format too, with the softmax unit's arithmetic between
    them: base-2 int8 logits (log2(e) / sqrt(dk) folded into the scale), probabilities
    with softmax_out_bits; without it, attention stays in float.
    """

    config: AcceleratorConfig
    attention_matmuls: bool = False

    def linear(self, x, weight, bias):
        return self._matmul(x, weight, weight_rows=True) + bias

    def attention(self, q, k, v, mask):
        if not self.attention_matmuls:
            return FloatArithmetic().attention(q, k, v, mask)
        config = self.config
        a, b_t = quantize(q, config), quantize(k, config)
        factor = LOG2_E / np.sqrt(q.shape[1])
        logits = to_logits(vsq_matmul(a, b_t, config), accumulator_scale(a, b_t, config)[0, 0],
                           factor, config)
        keep = np.broadcast_to(mask[None, :], logits.shape)
        result = softmax_rows(logits, keep, config)
        probabilities = result.probs / float(1 << (config.softmax_out_bits - 1))
        return self._matmul(probabilities, v.T, weight_rows=False)

    def _matmul(self, x, right_t, weight_rows):
        """x @ right_t^T with both quantized; right_t per row when it holds weights."""
        a = quantize(x, self.config)
        b_t = quantize(right_t, self.config, per_row=weight_rows)
        return vsq_matmul(a, b_t, self.config) * accumulator_scale(a, b_t, self.config)
