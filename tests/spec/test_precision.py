"""Precision policies: the most specific entry wins, and a wrong entry is named."""

import pytest

from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import PrecisionPolicy, format_config, weight_bits


def test_the_most_specific_entry_wins():
    policy = PrecisionPolicy({"default": "int4", "ffn2": "int8", "layer3": "int4_vsq",
                              "layer3.qkv": "int8"})
    assert policy.format_of(0, "qkv") == "int4"            # default
    assert policy.format_of(0, "ffn2") == "int8"           # operation
    assert policy.format_of(3, "ffn2") == "int4_vsq"       # layer over operation
    assert policy.format_of(3, "qkv") == "int8"            # layer.operation over layer
    assert PrecisionPolicy().format_of(7, "scores") == "int4_vsq"


@pytest.mark.parametrize("entries, named", [
    ({"ffn3": "int8"}, "'ffn3' is not a place"),
    ({"layer2.gelu": "int8"}, "'layer2.gelu' is not a place"),
    ({"layerx": "int8"}, "'layerx' is not a place"),
    ({"default": "int2"}, "'int2' is not a format"),
    (["int8"], "a precision policy is a dict"),
])
def test_a_wrong_entry_is_named(entries, named):
    with pytest.raises(ValueError, match=named):
        PrecisionPolicy(entries)


def test_an_unknown_operation_is_named():
    with pytest.raises(ValueError, match="operation 'gelu' is not one of"):
        PrecisionPolicy().format_of(0, "gelu")


def test_formats_set_the_operand_keys_alone():
    config = AcceleratorConfig(lanes=4, scale_bits=6)
    assert format_config(config, "int4_vsq") == config
    int8 = format_config(config, "int8")
    assert (int8.data_bits, int8.vector_scales, int8.lanes) == (8, False, 4)
    assert weight_bits(config, "int4_vsq") == 4 + 6 / 16
    assert weight_bits(config, "int4") == 4 and weight_bits(config, "int8") == 8


def test_named_lists_general_entries_first():
    policy = PrecisionPolicy({"layer5.pv": "int8", "ffn2": "int8", "default": "int4"})
    assert policy.named() == "default=int4, ffn2=int8, layer5.pv=int8"


def test_parse_reads_what_named_writes():
    policy = PrecisionPolicy({"layer5.pv": "int8", "ffn2": "int8", "default": "int4"})
    assert PrecisionPolicy.parse(policy.named()) == policy
    assert PrecisionPolicy.parse("ffn2=int8,layer0=int8 ,") == PrecisionPolicy(
        {"ffn2": "int8", "layer0": "int8"})
    with pytest.raises(ValueError, match="'ffn2' is not place=format"):
        PrecisionPolicy.parse("ffn2")
    with pytest.raises(ValueError, match="'int9' is not a format"):
        PrecisionPolicy.parse("ffn2=int9")
