"""How wide the softmax's logits must be: real models' base-2 logits, and what clipping
them to each width costs an attention's output.

MiniLM-L6's logits are measured on the study's sentences. Pretrained vision transformers
reach much further (about 410 base-2 units on a DINOv2-style ViT-S, 8.5 % of its logits
above int8's 31.75); the synthetic rows here reproduce that shape: most logits near 0, a
heavy upper tail up to 410. For each width W (F = 2 fraction bits), the attention
output softmax(clip(S)) V with float V is compared with the unclipped one by cosine;
the softmax itself is the exact base-2 one, so only the clip is measured.
"""

import numpy as np

from vsq_accel.accuracy.arithmetic import FloatArithmetic
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.accuracy.sentences import DOCSTRINGS
from vsq_accel.golden.softmax import softmax_base2

__all__ = ["run"]

SEED = 20261201
FRAC_BITS = 2
WIDTHS = (8, 10, 12, 14)


class _Recording(FloatArithmetic):
    """Float arithmetic that keeps every head's base-2 logits."""

    def __init__(self):
        self.logits = []

    def attention(self, q, k, v, mask):
        self.logits.append((q @ k.T / np.sqrt(q.shape[1]) * np.log2(np.e))[:, mask])
        return super().attention(q, k, v, mask)


def _clip(units, width):
    top = 2.0 ** (width - 1 - FRAC_BITS)
    return np.clip(np.round(units * 2 ** FRAC_BITS) / 2 ** FRAC_BITS, -top, top - 2.0 ** -FRAC_BITS)


def _output_cosine(units, values, width):
    exact = softmax_base2(units) @ values
    clipped = softmax_base2(_clip(units, width)) @ values
    return float(np.mean(np.sum(exact * clipped, 1)
                         / (np.linalg.norm(exact, axis=1) * np.linalg.norm(clipped, axis=1))))


def run():
    rng = np.random.default_rng(SEED)
    recording = _Recording()
    MiniLM().embed(DOCSTRINGS, recording)
    minilm = np.concatenate([logits.reshape(-1) for logits in recording.logits])
    results = {"seed": SEED, "minilm_max_abs_logit": float(np.abs(minilm).max()),
               "minilm_fraction_above_int8": float(np.mean(minilm > 31.75))}
    rows, keys = 400, 197
    tail = (rng.random((rows, keys)) < 0.085) * rng.uniform(32, 410, (rows, keys))
    units = rng.normal(0, 6, (rows, keys)) + tail
    values = rng.normal(size=(keys, 64))
    results["vit_like_max_logit"] = float(units.max())
    for width in WIDTHS:
        results[f"vit_like_output_cos_w{width}"] = _output_cosine(units, values, width)
        results[f"minilm_fraction_clipped_w{width}"] = float(
            np.mean(np.abs(minilm) > 2.0 ** (width - 1 - FRAC_BITS)))
    return results
