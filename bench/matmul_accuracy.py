"""Accuracy of the integer matmul against float64, per arithmetic format.

A (256 x 512) is Gaussian with 2 % outlier channels eight times larger, as transformer
activations have; W (512 x 256) is Gaussian with a log-normal spread of output-channel
scales. A is quantized per tensor, W per output channel; the bit-exact integer result
is scaled back and compared with A @ W in float64. The figure is the relative RMS error
||C_int - C|| / ||C||; the VSQ formats also show what rounding the scale product to
8 bits costs against keeping all 2M bits.
"""

import numpy as np

from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.vsq_matmul import accumulator_scale, vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig

SEED = 20261126
FORMATS = {
    "int4_pc": AcceleratorConfig(vector_scales=False),
    "int4_vsq4_p4": AcceleratorConfig(scale_bits=4, scale_product_bits=4),
    "int4_vsq4_p8": AcceleratorConfig(scale_bits=4, scale_product_bits=8),
    "int4_vsq6_p8": AcceleratorConfig(scale_bits=6, scale_product_bits=8),
    "int4_vsq6_p12": AcceleratorConfig(scale_bits=6, scale_product_bits=12, acc_bits=28),
    "int4_vsq8_p8": AcceleratorConfig(),
    "int4_vsq8_p16": AcceleratorConfig(scale_product_bits=16, acc_bits=32),
    "int8_pc": AcceleratorConfig(data_bits=8, vector_scales=False),
}


def operands(rng, m=256, k=512, n=256):
    a = rng.normal(size=(m, k))
    a[:, rng.choice(k, size=k // 50, replace=False)] *= 8.0
    w = rng.normal(size=(k, n)) * rng.lognormal(sigma=0.5, size=(1, n))
    return a, w


def relative_error(a, w, config):
    qa, qw_t = quantize(a, config), quantize(w.T, config, per_row=True)
    result = vsq_matmul(qa, qw_t, config) * accumulator_scale(qa, qw_t, config)
    exact = a @ w
    return float(np.linalg.norm(result - exact) / np.linalg.norm(exact))


def run():
    a, w = operands(np.random.default_rng(SEED))
    return {"seed": SEED, **{f"rel_rms_err_{name}": relative_error(a, w, config)
                             for name, config in FORMATS.items()}}
