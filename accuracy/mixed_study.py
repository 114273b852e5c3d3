"""Part 3 of the study: mixed precision. MiniLM and the digits ViT with every matmul
(attention's two included) in INT4-VSQ, with their first and last layers in INT8, with
the matmuls a sensitivity pass picks in INT8 within a budget of bits per weight, and
with everything in INT8; each against the average bits per weight and the share of
MACs run in INT8.

The pass scores on calibration data that the reported figures do not use alone:
MiniLM's odd-numbered study sentences (the figures are over every text, and over the
rest on their own), the digits ViT's first training images (the figures are on the test
images). MiniLM's score is the mean cosine to float; the ViT's, the mean cosine of its
logits to float logits (top-1 on a few hundred images moves in steps too coarse to rank
single matmuls).
"""

import numpy as np

from vsq_accel.accuracy import vit_digits
from vsq_accel.accuracy.arithmetic import FloatArithmetic
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.accuracy.mixed_precision import MixedArithmetic, Site, choose_sites, sensitivities
from vsq_accel.accuracy.sentences import DOCSTRINGS, PARAPHRASES
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import PrecisionPolicy

__all__ = ["run", "ROWS", "BUDGETS"]

# Average bits per weight the pass may spend: the goal's 5, then more, to find what an
# accuracy costs.
BUDGETS = (5.0, 5.5, 6.0, 6.5)
CALIBRATION_IMAGES = 200
ENCODER_OPERATIONS = ("qkv", "scores", "pv", "wo", "ffn1", "ffn2")


def _budget_row(budget):
    return f"sensitive_{budget:g}_bits".replace(".", "p")


# Row name and what it is; the "sensitive" rows are chosen by the pass.
ROWS = {"all_int4_vsq": "every matmul in INT4-VSQ",
        "edges_int8": "first and last layers in INT8",
        **{_budget_row(budget): f"the most sensitive matmuls in INT8, within {budget:g} bits "
                                "per weight" for budget in BUDGETS},
        "all_int8": "every matmul in INT8"}


def run(config=None):
    """Flat figures <model>_mixed_<row>_<figure>, the chosen policies
    (<model>_mixed_<row>_policy) and each matmul's measured gain (<model>_mixed_gains,
    a dict)."""
    config = AcceleratorConfig() if config is None else config
    return {**_minilm(config), **_vit(config)}


def _minilm(config):
    model = MiniLM()
    layers = model.settings["num_hidden_layers"]
    texts = list(DOCSTRINGS) + [text for pair in PARAPHRASES for text in pair]
    calibration = set(range(1, len(DOCSTRINGS), 2))
    held_out = [index for index in range(len(texts)) if index not in calibration]
    reference = model.embed(texts, FloatArithmetic())

    def cosines(arithmetic, indices):
        embeddings = model.embed([texts[index] for index in indices], arithmetic)
        return np.sum(embeddings * reference[indices], axis=1)

    def score(policy):
        return float(cosines(MixedArithmetic(config, policy), sorted(calibration)).mean())

    def figures(policy):
        arithmetic = MixedArithmetic(config, policy)
        values = cosines(arithmetic, list(range(len(texts))))
        return {"mean_cos": float(values.mean()),
                "held_out_mean_cos": float(values[held_out].mean()),
                **_costs(arithmetic)}

    probe = MixedArithmetic(config, PrecisionPolicy())
    model.embed(texts[:1], probe)
    return _rows("minilm", config, layers, score, figures, probe.weights)


def _vit(config):
    weights = vit_digits.load_weights()
    train_x, test_x, _, test_y = vit_digits.load_split()
    calibration = train_x[:CALIBRATION_IMAGES]
    reference = vit_digits.forward(weights, calibration, FloatArithmetic())
    blocks = vit_digits.ARCHITECTURE["blocks"]

    def score(policy):
        logits = vit_digits.forward(weights, calibration, MixedArithmetic(config, policy))
        return float(np.mean(np.sum(_unit(logits) * _unit(reference), axis=1)))

    def figures(policy):
        arithmetic = MixedArithmetic(config, policy)
        logits = vit_digits.forward(weights, test_x, arithmetic)
        return {"top1": float(np.mean(np.argmax(logits, axis=1) == test_y)),
                **_costs(arithmetic)}

    probe = MixedArithmetic(config, PrecisionPolicy())
    vit_digits.forward(weights, test_x[:1], probe)
    return _rows("vit_digits", config, blocks, score, figures, probe.weights)


def _rows(model, config, layers, score, figures, weights):
    sites = [Site(layer, operation) for layer in range(layers)
             for operation in ENCODER_OPERATIONS]
    sites += [site for site in weights if site not in sites]      # embed, head
    gains = sensitivities(sites, score)
    policies = {"all_int4_vsq": PrecisionPolicy({"default": "int4_vsq"}),
                "edges_int8": PrecisionPolicy({"default": "int4_vsq", "layer0": "int8",
                                               f"layer{layers - 1}": "int8"}),
                **{_budget_row(budget): choose_sites(gains, weights, config, budget)[1]
                   for budget in BUDGETS},
                "all_int8": PrecisionPolicy({"default": "int8"})}
    results = {f"{model}_mixed_gains": {f"layer{site.layer}.{site.operation}": gain
                                        for site, gain in gains.items()}}
    for row, policy in policies.items():
        results[f"{model}_mixed_{row}_policy"] = policy.named()
        for figure, value in figures(policy).items():
            results[f"{model}_mixed_{row}_{figure}"] = value
    return results


def _costs(arithmetic):
    return {"bits_per_weight": arithmetic.bits_per_weight(),
            "int8_mac_share": arithmetic.mac_share("int8")}


def _unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)
