"""The PPU's GELU (`golden.gelu`) against the host's float GELU: the function alone over
[-8, 8] beside I-BERT's second-order polynomial (Kim et al., 2021, with its float
coefficients), then on the same integer path otherwise: pretrained MiniLM-L6 (mean
cosine of the sentence embeddings to float), the digits ViT's GELU twin (test top-1)
and a DeiT-Small-sized FFN (197 x 384 -> 1536 -> 384) of random weights whose
pre-activations have a ViT's ranges (a standard deviation near 1.6, biases mostly
negative, two input channels 8 times the rest, as LayerNorm outliers make them), run as
the compiled tile programs: cosine of the output to the float GELU FFN's.

MiniLM and the ViT run every matmul in INT4-VSQ8, attention's included (the tile
dataflow); the PPU's GELU takes each W1 output at the power-of-two unit of its largest
value (`Emulator.gelu`). "float + PPU GELU" keeps every matmul in float: the GELU's
error alone.
"""

import dataclasses

import numpy as np

from vsq_accel.accuracy import vit_digits
from vsq_accel.accuracy.arithmetic import FORMATS, FloatArithmetic, IntegerArithmetic
from vsq_accel.accuracy.host import gelu
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.accuracy.sentences import DOCSTRINGS, PARAPHRASES
from vsq_accel.accuracy.tiled_layer import cosine
from vsq_accel.api.emulator import Emulator
from vsq_accel.golden.gelu import gelu as ppu_gelu
from vsq_accel.golden.tile_float import feed_forward
from vsq_accel.golden.tile_program import Calibration, Trace, feed_forward_program
from vsq_accel.golden.tile_weights import FeedForward, random_feed_forward

__all__ = ["run", "deit_small_ffn"]

SEED = 20261205
CONFIG = dataclasses.replace(FORMATS["int4_vsq8"], ppu_gelu=True)


def run():
    emulator = Emulator(CONFIG)
    results = {"seed": SEED}
    results.update(_function())
    results.update(_minilm(emulator))
    results.update(_vit(emulator))
    results.update(_deit_small())
    return results


def _function(shift=11):
    """Largest |error| against x Phi(x) over [-8, 8] (y of unit 2^-shift for the PPU's)."""
    y = np.arange(-8 << shift, (8 << shift) + 1)
    x = y * 2.0 ** -shift
    exact = gelu(x)
    a, b = -0.2888, -1.769                # I-BERT's L(z) = sgn(z) (a (min(|z|, -b) + b)^2 + 1)
    z = x / np.sqrt(2)
    polynomial = x / 2 * (1 + np.sign(z) * (a * (np.minimum(np.abs(z), -b) + b) ** 2 + 1))
    return {"gelu_max_error_ppu": float(np.abs(ppu_gelu(y, shift) * 2.0 ** -shift
                                               - exact).max()),
            "gelu_max_error_ibert_polynomial": float(np.abs(polynomial - exact).max())}


def _arithmetics():
    return {"float": FloatArithmetic(), "int4_vsq8": IntegerArithmetic(CONFIG, True)}


def _minilm(emulator):
    model = MiniLM()
    texts = list(DOCSTRINGS) + [text for pair in PARAPHRASES for text in pair]
    reference = model.embed(texts, FloatArithmetic())
    results = {"minilm_sentences": len(texts)}
    for name, arithmetic in _arithmetics().items():
        for where, activation in (("host", gelu), ("ppu", emulator.gelu)):
            embeddings = model.embed(texts, arithmetic, activation)
            results[f"minilm_{name}_{where}_gelu_mean_cos"] = float(
                np.mean(np.sum(embeddings * reference, axis=1)))
    return results


def _vit(emulator):
    weights = vit_digits.load_weights(vit_digits.WEIGHTS_GELU)
    _, test_x, _, test_y = vit_digits.load_split()
    results = {"vit_digits_test_images": len(test_y)}
    for name, arithmetic in _arithmetics().items():
        for where, activation in (("host", gelu), ("ppu", emulator.gelu)):
            results[f"vit_digits_gelu_{name}_{where}_gelu_top1"] = vit_digits.top1(
                weights, test_x, test_y, arithmetic, activation)
    return results


def deit_small_ffn(rng, tokens=197, d_model=384, d_ff=1536):
    """(x, weights): LayerNorm-like inputs with two outlier channels, W1 and b1 giving
    pre-activations with a ViT's spread and negative shift."""
    x = rng.normal(size=(tokens, d_model))
    x[:, :2] *= 8.0
    ffn = random_feed_forward(rng, d_model, d_ff)
    w1 = ffn.w1 * 1.4
    b1 = rng.normal(-0.5, 0.5, d_ff)
    return x, FeedForward(w1, b1, ffn.w2, ffn.b2)


def _deit_small():
    rng = np.random.default_rng(SEED)
    x, ffn = deit_small_ffn(rng)
    exact, tensors = feed_forward(x, ffn, friendly=False)
    calibration = Calibration(tensors, CONFIG)
    pre = tensors["pre"]
    results = {"deit_s_pre_std": float(pre.std()), "deit_s_pre_mean": float(pre.mean()),
               "deit_s_pre_min": float(pre.min()), "deit_s_pre_max": float(pre.max())}
    for where, activation in (("host", gelu), ("ppu", "gelu")):
        y, unit = feed_forward_program(x, ffn, CONFIG, calibration, Trace(), activation)
        results[f"deit_s_ffn_{where}_gelu_mean_cos"] = cosine(y * unit, exact)
    return results
