"""One-pass against two-pass attention for rows longer than the softmax, on the same
inputs, both against float64: how much the one-pass schedule (the max's rise rescaling
P V's partial sums, `golden.attention_stream`) costs beside the schedule that computes S
twice.

- MiniLM-L6 on 24 passages of 256 tokens and more built as the accuracy study builds
  them, with every matmul in the format and a softmax of 64 keys, so that each row runs
  in blocks of 64: the embeddings' cosine to float, and each attention head's output
  (the float model's Q, K and V of two passages) against float;
- rows shaped like a pretrained ViT's (most logits near 0, 8.5 % in a tail up to 410
  base-2 units), 1024 keys in blocks of 64, the softmax and P V on the accelerator's
  integers;
- the seed's attention head (n = 25000, random data) on the default configuration,
  blocks of 1024 keys, against a float64 head.

Each figure is a mean cosine to float (per passage or per query row), or a relative RMS
error (each MiniLM head's, then their mean; the seed head's).
"""

import dataclasses
import os

import numpy as np

from vsq_accel.accuracy.arithmetic import EXPONENTIALS, FORMATS, FloatArithmetic, IntegerArithmetic
from vsq_accel.accuracy.encoder_study import long_passages
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.api.emulator import Emulator, Logits
from vsq_accel.golden.attention_stream import attention_head_streamed
from vsq_accel.golden.softmax import softmax_base2
from vsq_accel.golden.tile_program import Calibration
from vsq_accel.golden.tile_weights import random_attention_head
from vsq_accel.spec.config import AcceleratorConfig

__all__ = ["run"]

SEED = 20261204
BLOCK = 64
FORMAT_NAMES = ("int8", "int4_vsq8")
SEED_TOKENS = int(os.environ.get("ONE_PASS_SEED_TOKENS", "25000"))


def _cosines(a, b):
    return np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _cosine(a, b):
    return float(np.mean(_cosines(a, b)))


class _Recording(FloatArithmetic):
    """Float arithmetic that keeps every head's Q, K, V and mask."""

    def __init__(self):
        super().__init__()
        self.heads = []

    def attention(self, q, k, v, mask):
        self.heads.append((q, k, v, mask))
        return super().attention(q, k, v, mask)


def _minilm(results):
    model = MiniLM()
    passages = long_passages(model, count=24)
    reference = model.embed(passages, FloatArithmetic())
    recording = _Recording()
    model.embed(passages[:2], recording)
    results["minilm_long_passages"] = len(passages)
    for name in FORMAT_NAMES:
        config = dataclasses.replace(FORMATS[name], softmax_max_row=BLOCK)
        cosines = {}
        for passes in (1, 2):
            embeddings = model.embed(passages, IntegerArithmetic(config, True, EXPONENTIALS,
                                                                 passes=passes))
            cosines[passes] = _cosines(embeddings, reference)
            results[f"minilm_long_{name}_passes{passes}_mean_cos"] = float(
                np.mean(cosines[passes]))
            emulator = Emulator(config, passes=passes)
            errors = []
            for q, k, v, mask in recording.heads:
                exact = FloatArithmetic().attention(q, k, v, mask)
                output = emulator.attention(q, k, v, mask)
                errors.append(np.linalg.norm(output - exact) / np.linalg.norm(exact))
            results[f"minilm_heads_{name}_passes{passes}_rel_err"] = float(np.mean(errors))
        # How far apart two roundings of the same passages land: the standard error of
        # the mean of the passages' differences.
        difference = cosines[1] - cosines[2]
        results[f"minilm_long_{name}_difference_stderr"] = float(
            np.std(difference, ddof=1) / np.sqrt(len(difference)))


def _vit_like(results, rng):
    rows, keys, frac_bits = 256, 1024, 2
    tail = (rng.random((rows, keys)) < 0.085) * rng.uniform(32, 410, (rows, keys))
    units = rng.normal(0, 6, (rows, keys)) + tail
    values = rng.normal(size=(keys, 64))
    exact = softmax_base2(units) @ values
    for name in FORMAT_NAMES:
        config = dataclasses.replace(FORMATS[name], softmax_max_row=BLOCK)
        top = (1 << (config.softmax_logit_bits - 1)) - 1
        logits = Logits(np.clip(np.round(units * 2 ** frac_bits), -top - 1, top)
                        .astype(np.int64), frac_bits)
        for passes in (1, 2):
            emulator = Emulator(dataclasses.replace(config, softmax_frac_bits=frac_bits),
                                passes=passes)
            output = emulator.weighted_values(emulator.softmax(logits), values)
            results[f"vit_like_{name}_passes{passes}_mean_cos"] = _cosine(output, exact)


def _seed_head(results, rng):
    config = AcceleratorConfig()
    x = rng.normal(size=(SEED_TOKENS, 512))
    head = random_attention_head(rng, 512, 64)
    q, k, v = (x @ w + b for w, b in ((head.wq, head.bq), (head.wk, head.bk),
                                      (head.wv, head.bv)))
    exact = np.empty((len(x), v.shape[1]))
    for first in range(0, len(x), 1024):
        scores = q[first:first + 1024] @ k.T / np.sqrt(head.dk)
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        exact[first:first + 1024] = weights / weights.sum(axis=1, keepdims=True) @ v
    calibration = Calibration({"q": q, "k": k, "v": v, "o": exact}, config)
    results["seed_tokens"] = SEED_TOKENS
    for passes in (1, 2):
        y, unit = attention_head_streamed(x, head, config, calibration, passes=passes)
        results[f"seed_head_passes{passes}_rel_rms_err"] = float(
            np.linalg.norm(y * unit - exact) / np.linalg.norm(exact))


def run():
    rng = np.random.default_rng(SEED)
    results = {"seed": SEED, "keys_per_block": BLOCK}
    _minilm(results)
    _vit_like(results, rng)
    _seed_head(results, rng)
    return results
