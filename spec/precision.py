"""Number formats by operation and layer: which matmuls of a model run in which format.

A policy reads as a mapping from where to what, the most specific entry winning:

    PrecisionPolicy({"default": "int4_vsq", "ffn2": "int8", "layer0": "int8",
                     "layer5.qkv": "int4"})

`layer<i>.<operation>` over `layer<i>` over `<operation>` over `default` (itself
int4_vsq when left out). The operations are an encoder layer's matmuls, plus a
model's patch embedding and classifier head where it has them (they belong to the
first and last layer).
"""

import dataclasses
import re

__all__ = ["FORMATS", "OPERATIONS", "PrecisionPolicy", "format_config", "weight_bits",
           "policy_for", "layer_formats"]

# data_bits and vector_scales of each format; the other keys come from the configuration.
FORMATS = {"int4_vsq": (4, True), "int4": (4, False), "int8": (8, False),
           "int8_vsq": (8, True)}
OPERATIONS = {
    "qkv": "Q, K and V projections", "scores": "Q K^T", "pv": "P V",
    "wo": "attention output projection", "ffn1": "first FFN matmul (W1)",
    "ffn2": "second FFN matmul (W2)", "embed": "patch embedding", "head": "classifier head"}
# Matmuls with a weight operand; scores and P V multiply two activations.
WEIGHTED = ("qkv", "wo", "ffn1", "ffn2", "embed", "head")
DEFAULT_FORMAT = "int4_vsq"

_LAYER_KEY = re.compile(r"layer(\d+)(?:\.(\w+))?")


def format_config(config, name):
    """`config` with the operand format `name`: its data_bits and vector_scales (and that
    format alone)."""
    _check_format("format", name)
    data_bits, vector_scales = FORMATS[name]
    return dataclasses.replace(config, data_bits=data_bits, vector_scales=vector_scales,
                               formats=None)


def weight_bits(config, name):
    """Bits stored per weight in format `name`: the operand, plus a per-vector scale
    shared by vector_size weights in a VSQ format. The per-output-channel float scale
    (one per row of K weights) is left out, as in the published figures."""
    data_bits, vector_scales = FORMATS[name]
    return data_bits + (config.scale_bits / config.vector_size if vector_scales else 0)


@dataclasses.dataclass(frozen=True)
class PrecisionPolicy:
    """The format of every (layer, operation) of a model; see the module's docstring.

    Raises
    ------
    ValueError
        Naming the entry that is not a known place or format.
    """

    entries: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.entries, dict):
            raise ValueError(f"a precision policy is a dict of place: format, not "
                             f"{type(self.entries).__name__}")
        for key, name in self.entries.items():
            _place(key)
            _check_format(f"policy entry {key!r}", name)
        object.__setattr__(self, "entries", dict(self.entries))

    def format_of(self, layer, operation):
        """The format name of `operation` (see OPERATIONS) in layer `layer` (0-based)."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation {operation!r} is not one of {', '.join(OPERATIONS)}")
        for key in (f"layer{layer}.{operation}", f"layer{layer}", operation, "default"):
            if key in self.entries:
                return self.entries[key]
        return DEFAULT_FORMAT

    def config_of(self, config, layer, operation):
        """`config` in the format of `operation` in layer `layer`."""
        return format_config(config, self.format_of(layer, operation))

    def named(self):
        """The entries as text, most general first: "default=int4_vsq, layer3.ffn2=int8"."""
        order = sorted(self.entries, key=lambda key: (key != "default", "." in key, key))
        return ", ".join(f"{key}={self.entries[key]}" for key in order) or "default"

    @classmethod
    def parse(cls, text):
        """The policy of `named`'s text (commas between entries, spaces optional)."""
        entries = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, equals, name = (part.strip() for part in item.partition("="))
            if not equals or not key or not name:
                raise ValueError(f"precision policy entry {item!r} is not place=format "
                                 f"(for example ffn2=int8)")
            entries[key] = name
        return cls(entries)


def policy_for(formats, config):
    """The precision policy of `formats` (a `PrecisionPolicy`, its dict, or None for
    every matmul in the entries' own format) on a configuration: without a "default"
    entry, the entries' own format; each format one the configuration's array runs."""
    if isinstance(formats, PrecisionPolicy):
        entries = formats.entries
    elif formats is None or isinstance(formats, dict):
        entries = formats or {}
    else:
        raise TypeError(f"formats must be a dict of place: format or a PrecisionPolicy, not "
                        f"{type(formats).__name__}")
    policy = PrecisionPolicy({"default": config.own_format, **entries})
    for place, name in policy.entries.items():
        if name not in config.supported_formats:
            raise ValueError(f"formats: {place}={name} is not a format this array runs "
                             f"(formats={list(config.supported_formats)}); the "
                             f"configuration's `formats` key lists them")
    return policy


def layer_formats(formats, config, layer):
    """The format name of each matmul of layer `layer` under the policy `formats`
    (`policy_for`)."""
    policy = policy_for(formats, config)
    return {op: policy.format_of(layer, op)
            for op in ("qkv", "scores", "pv", "wo", "ffn1", "ffn2")}


def _place(key):
    """Checks a policy key: default, an operation, layer<i> or layer<i>.<operation>."""
    if key == "default" or key in OPERATIONS:
        return
    match = _LAYER_KEY.fullmatch(key) if isinstance(key, str) else None
    if match is None or (match[2] is not None and match[2] not in OPERATIONS):
        raise ValueError(
            f"policy entry {key!r} is not a place: it must be 'default', an operation "
            f"({', '.join(OPERATIONS)}), 'layer<i>' or 'layer<i>.<operation>'")


def _check_format(what, name):
    if name not in FORMATS:
        raise ValueError(f"{what}: {name!r} is not a format; the formats are "
                         f"{', '.join(FORMATS)}")

