"""The two ways a model's matmuls run in the study: in float, or through the golden
integer path (the bits the RTL computes) in one number format.

A model takes each layer's arithmetic with `at(layer)`, then calls `linear` for its
weight layers (naming the operation, see `spec.precision`) and `attention` for the two
attention matmuls; everything else (embeddings, LayerNorm, GELU, pooling) stays in float on the
host, as it would beside the accelerator.
"""

import dataclasses

import numpy as np

from vsq_accel.api.emulator import Emulator, Weight
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.softmax import softmax_base_e, softmax_rows
from vsq_accel.spec.config import AcceleratorConfig

__all__ = ["FORMATS", "FloatArithmetic", "IntegerArithmetic", "EXPONENTIALS", "PROBABILITIES"]

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

    def at(self, layer):
        """The arithmetic of layer `layer`: the same in every layer."""
        return self

    def linear(self, x, weight, bias, operation=None):
        """x (T x K) @ weight^T (weight N x K, as PyTorch stores it) + bias; `operation`
        names the matmul (for MixedArithmetic; one arithmetic for all leaves it)."""
        return x @ weight.T + bias

    def attention(self, q, k, v, mask):
        """softmax(q k^T / sqrt(dk)) v over the keys that `mask` keeps."""
        scores = q @ k.T / np.sqrt(q.shape[1]) * self.score_scale
        return softmax_base_e(scores, np.broadcast_to(mask, scores.shape)) @ v


# The two dataflows of attention through the integer path.
EXPONENTIALS, PROBABILITIES = "exponentials", "probabilities"


@dataclasses.dataclass
class IntegerArithmetic:
    """Matmuls through the golden integer path in one format (`api.emulator`).

    Weights are quantized per output channel, activations per tensor (both then cut
    into vectors when the format has vector scales). With `attention_matmuls`, Q K^T
    and P V run in the same format too, with the softmax unit's arithmetic between
    them: base-2 logits of softmax_logit_bits (log2(e) / sqrt(dk) folded into the
    scale), then, as the tile program does (`dataflow` EXPONENTIALS), the exponentials
    2^(x - m) with per-vector scales along the keys times V, each row then times its
    reciprocal r; or (PROBABILITIES) the normalized probabilities with softmax_out_bits
    times V. Without it, attention stays in float. `score_scale` as in FloatArithmetic;
    `passes` as in `Emulator`.
    """

    config: AcceleratorConfig
    attention_matmuls: bool = False
    dataflow: str = EXPONENTIALS
    score_scale: float = 1.0
    passes: int = 1

    def __post_init__(self):
        self.emulator = Emulator(self.config, passes=self.passes)

    at = FloatArithmetic.at

    def linear(self, x, weight, bias, operation=None):
        return self.emulator.linear(x, weight.T, bias)

    def attention(self, q, k, v, mask):
        if not self.attention_matmuls:
            return FloatArithmetic(self.score_scale).attention(q, k, v, mask)
        scale = self.score_scale / np.sqrt(q.shape[1])
        if self.dataflow == EXPONENTIALS:
            return self.emulator.attention(q, k, v, mask, scale)
        logits = self.emulator.logits(q, k, scale).values
        probs = softmax_rows(logits, np.broadcast_to(mask, logits.shape), self.config).probs
        values = Weight(quantize(v.T, self.config), *v.shape)     # V per tensor, as P V
        return self.emulator.linear(probs / float(1 << (self.config.softmax_out_bits - 1)),
                                    values)
