"""Mixed precision in the study: a policy of one format is that format's arithmetic bit
for bit, the counts of weights and MACs follow from the model's shapes, and the
selection keeps to its budget in order of gain per bit."""

import numpy as np
import pytest

from vsq_accel.accuracy import vit_digits
from vsq_accel.accuracy.arithmetic import IntegerArithmetic
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.accuracy.mixed_precision import MixedArithmetic, Site, choose_sites, sensitivities
from vsq_accel.api.emulator import Emulator
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import PrecisionPolicy, format_config

CONFIG = AcceleratorConfig()
SENTENCES = ["Support for regular expressions (RE).", "Read and write ZIP files."]


@pytest.fixture(scope="module")
def model():
    return MiniLM()


@pytest.mark.parametrize("name", ["int4_vsq", "int4", "int8"])
def test_one_format_is_that_formats_arithmetic(model, name):
    uniform = IntegerArithmetic(format_config(CONFIG, name), attention_matmuls=True)
    mixed = MixedArithmetic(CONFIG, PrecisionPolicy({"default": name}))
    assert np.array_equal(model.embed(SENTENCES, mixed), model.embed(SENTENCES, uniform))
    weights = vit_digits.load_weights()
    images = vit_digits.load_split()[1][:3]
    assert np.array_equal(vit_digits.forward(weights, images, MixedArithmetic(
        CONFIG, PrecisionPolicy({"default": name}))), vit_digits.forward(weights, images,
                                                                          uniform))


def test_attention_takes_the_scores_and_pv_formats_apart():
    """Q K^T's logits in INT8, then the softmax and P V in INT4-VSQ: the Emulator's steps
    in those two formats."""
    rng = np.random.default_rng(11)
    print("seed 11")
    q, k, v = (rng.normal(size=(9, 32)) for _ in range(3))
    keep = np.ones(9, bool)
    mixed = MixedArithmetic(CONFIG, PrecisionPolicy({"default": "int4_vsq", "scores": "int8"}))
    int8, vsq = Emulator(format_config(CONFIG, "int8")), Emulator(CONFIG)
    expected = vsq.weighted_values(vsq.softmax(int8.logits(q, k), keep), v)
    assert np.array_equal(mixed.at(0).attention(q, k, v, keep), expected)
    assert not np.array_equal(expected, vsq.attention(q, k, v, keep))


def test_weights_and_macs_follow_the_shapes(model):
    """MiniLM: 6 layers of 4 x 384^2 + 2 x 384 x 1536 weights; a sentence of T tokens
    spends T per weight, and T^2 x 384 in each of Q K^T and P V per layer."""
    settings = model.settings
    layers, width, hidden = (settings[key] for key in (
        "num_hidden_layers", "hidden_size", "intermediate_size"))
    tokens = len(model.tokens(SENTENCES[0]))
    mixed = MixedArithmetic(CONFIG, PrecisionPolicy({"default": "int4_vsq", "layer2": "int8",
                                                     "scores": "int8"}))
    model.embed(SENTENCES[:1], mixed)
    per_layer = 4 * width * width + 2 * width * hidden
    assert sum(mixed.weights.values()) == layers * per_layer
    assert mixed.weights[Site(0, "qkv")] == 3 * width * width
    attention = tokens * tokens * width
    total = layers * (tokens * per_layer + 2 * attention)
    assert sum(mixed.macs.values()) == total
    assert mixed.mac_share("int8") == ((tokens * per_layer + 2 * attention)
                                       + (layers - 1) * attention) / total
    assert mixed.bits_per_weight() == (per_layer * 8 + (layers - 1) * per_layer * 4.5) / (
        layers * per_layer)


def test_sensitivities_are_each_sites_gain_alone():
    value = {"layer0.qkv": 0.02, "layer1.ffn2": 0.05, "layer1.scores": -0.01}

    def score(policy):
        return sum(gain for key, gain in value.items()
                   if policy.format_of(*_site(key)) == "int8")

    gains = sensitivities([_site(key) for key in value], score)
    assert gains == pytest.approx({_site(key): gain for key, gain in value.items()})


def test_choose_sites_keeps_to_the_budget_by_gain_per_bit():
    """Of 1000 weights at 4.5 bits, 100 in INT8 add 0.35 bits: within 5.0 there is room
    for one such site after the free scores; the cheapest gain per bit goes first, and
    a site that loses is never taken."""
    a, b, c = Site(0, "qkv"), Site(0, "wo"), Site(1, "ffn1")
    scores, loser = Site(0, "scores"), Site(1, "ffn2")
    gains = {a: 0.01, b: 0.03, c: 0.05, scores: 0.001, loser: -0.01}
    weights = {a: 100, b: 100, c: 700, loser: 100}
    chosen, policy = choose_sites(gains, weights, CONFIG, budget=5.0)
    assert chosen == [scores, b]
    assert policy.format_of(0, "wo") == "int8" and policy.format_of(0, "qkv") == "int4_vsq"


def _site(key):
    layer, operation = key.split(".")
    return Site(int(layer.removeprefix("layer")), operation)
