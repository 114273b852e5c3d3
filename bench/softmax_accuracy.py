"""Accuracy of the integer softmax, and the speed of its batched golden model.

Natural-log logits z are drawn from four distributions, scaled by log2(e) into base 2
(as the PPU folds that factor into its scale) and quantized to the configured logit
width with F fraction bits (12 bits: +-512 units, so none of these clip). The integer probabilities are compared with the exact
base-2 softmax of the same quantized logits (the unit's own error) and with the exact
base-e softmax of the unquantized z (what the network asked for). Rows of 1 to 1023.
"""

import time

import numpy as np

from vsq_accel.golden.softmax import softmax_base2, softmax_base_e, softmax_rows
from vsq_accel.spec.config import AcceleratorConfig

SEED = 20261126
LENGTHS = (1, 2, 7, 16, 64, 128, 197, 384, 512, 1023)
ROW_ELEMENTS = 400_000          # per distribution and length: many short rows, few long


def _logits(rng, distribution, rows, length):
    if distribution == "narrow":
        return rng.normal(0, 1, (rows, length))
    if distribution == "wide":
        return rng.normal(0, 4, (rows, length))
    if distribution == "dominant":
        z = rng.normal(0, 1, (rows, length))
        z[np.arange(rows), rng.integers(0, length, rows)] += 8
        return z
    return np.full((rows, length), 1.5)        # all equal


def run():
    config = AcceleratorConfig()
    scale = 1 << config.softmax_frac_bits
    rng = np.random.default_rng(SEED)
    step = 1 / (config.softmax_out_max + 1)
    results = {"seed": SEED, "output_step": step}
    worst = {"base2": [0.0, 0.0, 0], "base_e": [0.0, 0.0, 0]}
    # Q0.7 cannot hold 1.0: it saturates to 1 - 1 step. The unit's error elsewhere:
    unsaturated = 0.0
    for distribution in ("narrow", "wide", "dominant", "all_equal"):
        errors = {"base2": [0.0, 0.0, 0], "base_e": [0.0, 0.0, 0]}
        for length in LENGTHS:
            z = _logits(rng, distribution, max(1, ROW_ELEMENTS // length), length)
            quantized = np.clip(np.round(z * np.log2(np.e) * scale), config.softmax_logit_min,
                                config.softmax_logit_max).astype(np.int64)
            probs = softmax_rows(quantized, None, config).probs * step
            exact_base2 = softmax_base2(quantized / scale)
            below_one = exact_base2 < 1 - step / 2
            unsaturated = max(unsaturated, float(np.abs(probs - exact_base2)[below_one].max(
                initial=0.0)))
            for name, exact in (("base2", exact_base2), ("base_e", softmax_base_e(z))):
                error = np.abs(probs - exact)
                for tally in (errors[name], worst[name]):
                    tally[0] = max(tally[0], float(error.max()))
                    tally[1] += float(error.sum())
                    tally[2] += error.size
        for name, (largest, total, count) in errors.items():
            results[f"max_abs_err_vs_{name}_{distribution}"] = largest
            results[f"mean_abs_err_vs_{name}_{distribution}"] = total / count
    for name, (largest, total, count) in worst.items():
        results[f"max_abs_err_vs_{name}"] = largest
        results[f"mean_abs_err_vs_{name}"] = total / count
    results["max_abs_err_vs_base2_below_one"] = unsaturated
    results.update(_golden_speed(config, rng))
    return results


def _golden_speed(config, rng):
    """Rows per second of the batched golden model, one million rows of 16 and of 197,
    after a first call that loads its compiled kernels."""
    speeds = {}
    for length, rows in ((16, 1_000_000), (197, 100_000)):
        logits = rng.integers(config.softmax_logit_min, config.softmax_logit_max + 1,
                              (rows, length))
        softmax_rows(logits, None, config)
        start = time.perf_counter()
        softmax_rows(logits, None, config)
        speeds[f"golden_rows_per_s_len{length}"] = rows / (time.perf_counter() - start)
    return speeds
