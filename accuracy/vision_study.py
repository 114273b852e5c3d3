"""Part 2 of the study: the digits ViT's test accuracy in every format."""

import numpy as np

from vsq_accel.accuracy import host, vit_digits
from vsq_accel.accuracy.arithmetic import (EXPONENTIALS, FORMATS, PROBABILITIES, FloatArithmetic,
                                           IntegerArithmetic)

__all__ = ["run"]


def run(retrain=True, formats=FORMATS):
    """Flat figures vit_digits_<format>[_attn|_attn_q07]_top1. With `retrain`, the model is trained
    again (PyTorch) and its weights saved for the tests, with its GELU twin (for
    `bench.gelu_accuracy`); else the saved ones are used."""
    _, test_x, _, test_y = vit_digits.load_split()
    results = {}
    if retrain:
        for name, gelu, path in (("", False, vit_digits.WEIGHTS),
                                 ("_gelu", True, vit_digits.WEIGHTS_GELU)):
            weights, reference = vit_digits.train(gelu=gelu)
            vit_digits.save_weights(weights, path)
            ours = vit_digits.forward(weights, test_x, FloatArithmetic(),
                                      host.gelu if gelu else None)
            results[f"vit_digits{name}_float_max_logit_diff_vs_torch"] = float(
                np.abs(ours - reference).max())
    weights = vit_digits.load_weights()
    results["vit_digits_test_images"] = len(test_y)
    results["vit_digits_float_top1"] = vit_digits.top1(weights, test_x, test_y)
    for name, config in formats.items():
        for suffix, attention, dataflow in (("", False, EXPONENTIALS),
                                            ("_attn", True, EXPONENTIALS),
                                            ("_attn_q07", True, PROBABILITIES)):
            results[f"vit_digits_{name}{suffix}_top1"] = vit_digits.top1(
                weights, test_x, test_y, IntegerArithmetic(config, attention, dataflow))
    return results
