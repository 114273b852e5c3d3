"""Mixed precision: each matmul of a model in the format a `PrecisionPolicy` gives its
layer and operation, through the golden integer path of that format; and the
sensitivity pass that picks which matmuls get INT8.

The pass runs on calibration data: from all-INT4-VSQ, each matmul alone in INT8, and
its gain in the model's score. Matmuls are then taken in order of gain per bit they add
to the average weight, while the average stays within the budget. Scores and P V hold
no weights: they add no bits per weight, but they add INT8 MACs, which the figures
count too.
"""

import collections
import dataclasses

import numpy as np

from vsq_accel.accuracy.arithmetic import IntegerArithmetic
from vsq_accel.spec.precision import WEIGHTED, PrecisionPolicy, format_config, weight_bits

__all__ = ["MixedArithmetic", "Site", "sensitivities", "choose_sites"]

Site = collections.namedtuple("Site", "layer operation")


class MixedArithmetic:
    """Matmuls in the formats of `policy`, every attention in the tile's dataflow (Q K^T
    to base-2 logits, the softmax unit's exponentials times V, each row times its
    reciprocal). `at(layer)` gives the arithmetic of one layer. Counts, as the model
    runs, the weights of every (layer, operation) and the MACs in each format."""

    def __init__(self, config, policy):
        self.config, self.policy = config, policy
        self.formats = {}
        self.macs = collections.Counter()     # format name -> MACs
        self._weights = {}                    # (Site, id of the array) -> its size

    def at(self, layer):
        return _Layer(self, layer)

    def arithmetic(self, name):
        """IntegerArithmetic in format `name`, one per format."""
        if name not in self.formats:
            self.formats[name] = IntegerArithmetic(format_config(self.config, name), True)
        return self.formats[name]

    @property
    def weights(self):
        """{Site: weights}, each weight array the model has used counted once (Q, K and
        V's three arrays are one site)."""
        counts = collections.Counter()
        for (site, _), size in self._weights.items():
            counts[site] += size
        return dict(counts)

    def bits_per_weight(self):
        """Average bits per weight over the weights the model has used."""
        weights = self.weights
        return sum(count * weight_bits(self.config, self.policy.format_of(*site))
                   for site, count in weights.items()) / sum(weights.values())

    def mac_share(self, name):
        """The fraction of MACs run in format `name`."""
        return self.macs[name] / sum(self.macs.values())


@dataclasses.dataclass
class _Layer:
    owner: MixedArithmetic
    layer: int

    def linear(self, x, weight, bias, operation):
        name = self.owner.policy.format_of(self.layer, operation)
        self.owner._weights[Site(self.layer, operation), id(weight)] = weight.size
        self.owner.macs[name] += x.shape[0] * weight.size
        return self.owner.arithmetic(name).linear(x, weight, bias)

    def attention(self, q, k, v, mask):
        policy, owner = self.owner.policy, self.owner
        scores, mix = (policy.format_of(self.layer, operation) for operation in ("scores", "pv"))
        owner.macs[scores] += len(q) * len(k) * q.shape[1]
        owner.macs[mix] += len(q) * len(k) * v.shape[1]
        logits = owner.arithmetic(scores).emulator.logits(q, k, 1 / np.sqrt(q.shape[1]))
        emulator = owner.arithmetic(mix).emulator
        return emulator.weighted_values(emulator.softmax(logits, mask), v)


def sensitivities(sites, score, base="int4_vsq", raised="int8"):
    """{site: score(policy) with the site alone in `raised` - score with every site in
    `base`}; `score` maps a PrecisionPolicy to a number (higher is better)."""
    baseline = score(PrecisionPolicy({"default": base}))
    return {site: score(PrecisionPolicy({"default": base, _key(site): raised})) - baseline
            for site in sites}


def choose_sites(gains, weights, config, budget, base="int4_vsq", raised="int8"):
    """Sites with a positive gain, by gain per average bit they add, while the average
    bits per weight stay within `budget`; returns them and the policy."""
    total = sum(weights.values())
    extra = weight_bits(config, raised) - weight_bits(config, base)
    bits = sum(weights.values()) * weight_bits(config, base) / total

    def cost(site):
        return weights.get(site, 0) * extra / total if site.operation in WEIGHTED else 0.0

    chosen = []
    for site in sorted((site for site, gain in gains.items() if gain > 0),
                       key=lambda site: -gains[site] / max(cost(site), 1e-9)):
        if bits + cost(site) <= budget:
            chosen.append(site)
            bits += cost(site)
    policy = PrecisionPolicy({"default": base, **{_key(site): raised for site in chosen}})
    return chosen, policy


def _key(site):
    return f"layer{site.layer}.{site.operation}"
