"""The configuration object: defaults, derived widths from first principles, every rule."""

import json

import pytest

from vsq_accel.spec.config import AcceleratorConfig, ConfigError


def test_defaults_are_the_architecture_defaults():
    config = AcceleratorConfig()
    assert (config.lanes, config.vector_size, config.data_bits, config.scale_bits,
            config.scale_product_bits, config.acc_bits) == (16, 16, 4, 8, 8, 24)
    assert config.vector_scales and config.macs_per_cycle == 256
    assert config.format_name == "INT4-VSQ8"


def test_widths_of_the_default_lane():
    config = AcceleratorConfig()
    # 16 products of 4-bit operands: -16*8*7 = -896 .. 16*(-8)*(-8) = 1024, 12 bits signed.
    assert config.dot_range == (-896, 1024) and config.dot_bits == 12
    # 255 * 255 = 65025, rounded half up by 8 bits: (65025 + 128) >> 8 = 254.
    assert config.scale_product_max == 254 and config.scale_product_width == 8
    # 1024 * 254 = 260096 < 2^18, so 19 bits signed.
    assert config.product_bits == 19


def test_scale_product_rounding_can_carry_into_one_more_bit():
    # M = 8 rounded to 5 bits drops 11: (65025 + 1024) >> 11 = 32, which needs 6 bits.
    config = AcceleratorConfig(scale_product_bits=5)
    assert config.scale_product_max == 32 and config.scale_product_width == 6


def test_without_vector_scales_the_product_is_the_dot_product():
    config = AcceleratorConfig(data_bits=8, vector_scales=False, vector_size=32)
    assert config.scale_product_max == 1
    assert config.product_bits == config.dot_bits == 21   # 32 * 2^14 = 2^19 needs 21 bits
    assert config.format_name == "INT8"


@pytest.mark.parametrize("values, message", [
    ({"lanes": 0}, r"lanes=0 is out of range: it must be in 1\.\.64"),
    ({"lanes": 65}, r"lanes=65 is out of range"),
    ({"vector_size": 12}, r"vector_size=12 is not allowed: it must be a power of two"),
    ({"vector_size": 128}, r"vector_size=128 is not allowed"),
    ({"data_bits": 6}, r"data_bits=6 is not allowed: it must be 4 or 8$"),
    ({"vector_size": 12}, r"a power of two, one of 8, 16, 32 or 64$"),
    ({"scale_bits": 1}, r"scale_bits=1 is out of range: it must be in 2\.\.8"),
    ({"scale_bits": 9}, r"scale_bits=9 is out of range"),
    ({"scale_product_bits": 0}, r"scale_product_bits=0 is out of range"),
    ({"scale_bits": 4, "scale_product_bits": 9},
     r"scale_product_bits=9 is out of range: it must be in 1\.\.8 \(at most 2 \* scale_bits\)"),
    ({"acc_bits": 15}, r"acc_bits=15 is out of range: it must be in 16\.\.40"),
    ({"acc_bits": 41}, r"acc_bits=41 is out of range"),
    ({"data_bits": 8, "vector_size": 64},
     r"acc_bits=24 is too narrow to hold one scaled vector product, which needs 29 bits"),
    ({"vector_size": 64, "softmax_width": 48, "softmax_max_row": 100},
     r"softmax_max_row=100 cannot hold a block of keys .* whole softmax beats of 48 and whole "
     r"vectors of vector_size=64, at least 192 keys"),
    ({"lanes": "4"}, r'lanes="4" must be an integer'),
    ({"lanes": 4.0}, r"lanes=4\.0 must be an integer"),
    ({"lanes": True}, r"lanes=true must be an integer"),
    ({"lanes": None}, r"lanes=null must be an integer"),
    ({"vector_scales": 1}, r"vector_scales=1 must be true or false"),
    ({"formats": "int8"}, r'formats="int8" must be a list of format names'),
    ({"formats": []}, r"formats=\[\] must be a list of format names"),
    ({"formats": ["int4_vsq", "int2"]}, r'formats: "int2" is not a format; the formats are '
                                         r"int4_vsq, int4, int8, int8_vsq"),
    ({"formats": ["int8", "int8"]}, r"names a format twice"),
    ({"formats": ["int8"]}, r"leaves out int4_vsq, the format of the entries"),
    ({"data_bits": 8, "vector_scales": False, "formats": ["int8", "int4"]},
     r"an 8-bit array runs its own format only"),
    ({"formats": ["int4_vsq", "int8_vsq"]}, r"int8_vsq runs on an 8-bit array only"),
    ({"vector_scales": False, "formats": ["int4", "int4_vsq"]},
     r"names int4_vsq, but with vector_scales=false the entries have no scales"),
    ({"vector_size": 64, "acc_bits": 21, "formats": ["int4_vsq", "int8"]},
     r"acc_bits=21 is too narrow .* needs 22 bits with vector_size=64, data_bits=8 "
     r"\(format int8\)"),
])
def test_every_invalid_value_is_named(values, message):
    with pytest.raises(ConfigError, match=message):
        AcceleratorConfig(**values)


def test_the_narrowest_accumulator_that_holds_a_product_is_accepted():
    # INT8 x 32 with 8-bit scales: 32 * 2^14 * 254 = 133169152 < 2^27 needs 28 bits.
    config = AcceleratorConfig(data_bits=8, vector_size=32, acc_bits=28)
    assert config.product_bits == 28
    with pytest.raises(ConfigError, match="acc_bits=27 is too narrow"):
        AcceleratorConfig(data_bits=8, vector_size=32, acc_bits=27)


def test_a_multi_format_array_is_as_wide_as_its_widest_format():
    """INT8 on 4-bit lanes: 8-bit A elements times 4-bit nibbles, signed or not
    (-128 x 15 = -1920 at the extreme: 16 x that needs 16 bits), products of INT8's
    16 x 128^2 = 2^18 (20 bits, beyond INT4-VSQ's 19)."""
    config = AcceleratorConfig(formats=["int4_vsq", "int4", "int8"])
    assert config.nibble_passes and config.lane_data_bits == 8
    assert config.lane_dot_bits == 16 and config.product_bits == 20
    assert config.supported_formats == ("int4_vsq", "int4", "int8")
    plain = AcceleratorConfig()
    assert plain.supported_formats == ("int4_vsq",) and not plain.nibble_passes
    assert plain.lane_dot_bits == plain.dot_bits == 12


def test_json_round_trip(tmp_path):
    config = AcceleratorConfig(lanes=4, data_bits=8, vector_scales=False, vector_size=32)
    path = tmp_path / "config.json"
    config.save(path)
    assert AcceleratorConfig.load(path) == config
    assert json.loads(path.read_text())["lanes"] == 4
    formats = AcceleratorConfig(formats=["int4_vsq", "int8"])
    formats.save(path)
    assert AcceleratorConfig.load(path) == formats


def test_partial_json_takes_defaults_for_the_rest():
    assert AcceleratorConfig.from_json('{"lanes": 8}') == AcceleratorConfig(lanes=8)


@pytest.mark.parametrize("text, message", [
    ('{"lanes": 4, "lane": 4}', r'unknown configuration key\(s\) "lane"; known keys are'),
    ('{"lanes": 4, "lanes": 8}', r'key "lanes" is given twice'),
    ("[" * 100_000 + "]" * 100_000, r"nested too deeply"),
    ('{"lanes": 4,', r"not valid JSON"),
    ('[4, 16]', r"a configuration must be a JSON object, not list"),
])
def test_bad_json_is_named(text, message):
    with pytest.raises(ConfigError, match=message):
        AcceleratorConfig.from_json(text)


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "wide.json"
    path.write_text('{"lanes": 4}', encoding="utf-16")
    with pytest.raises(ConfigError, match=r"wide\.json: not UTF-8 text \(byte 0 is 0xff\)"):
        AcceleratorConfig.load(path)


def test_an_empty_config_option_is_refused(capsys):
    """--config "" is a mistake, not a request for the default."""
    with pytest.raises(SystemExit) as stop:
        AcceleratorConfig.load_for_command_line("")
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --config is empty: name a configuration file, or leave --config out for "
        "the default")


def test_load_names_the_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text('{"vector_size": 10}')
    with pytest.raises(ConfigError, match=r"mine\.json: vector_size=10 is not allowed"):
        AcceleratorConfig.load(path)
    with pytest.raises(ConfigError, match=r"cannot read configuration .*missing\.json"):
        AcceleratorConfig.load(tmp_path / "missing.json")


def test_configuration_is_frozen():
    with pytest.raises(AttributeError):
        AcceleratorConfig().lanes = 8


def test_softmax_defaults_and_derived_widths():
    config = AcceleratorConfig()
    assert config.softmax_lanes == 16 and config.softmax_max_beats == 64
    # 32768 terms (softmax_max_keys) of at most 1.0 with 14 fraction bits: 2^29, which
    # needs 30 bits; a row of at most 1024 terms: 25.
    assert config.softmax_sum_bits == 30
    assert AcceleratorConfig(softmax_max_keys=1024).softmax_sum_bits == 25
    assert config.softmax_recip_shift == 14 - 1 + 16 and config.softmax_out_max == 127
    assert AcceleratorConfig(lanes=4).softmax_lanes == 4
    assert AcceleratorConfig(lanes=4, softmax_width=8).softmax_lanes == 8
    # 1000 logits at 16 per beat round up to 63 beats, 1008 logits.
    assert AcceleratorConfig(softmax_max_row=1000).softmax_max_beats == 63


@pytest.mark.parametrize("values, message", [
    ({"softmax_width": 0}, r"softmax_width=0 is out of range: it must be in 1\.\.64"),
    ({"softmax_width": 4.0}, r"softmax_width=4\.0 must be an integer"),
    ({"softmax_frac_bits": 5}, r"softmax_frac_bits=5 is out of range: it must be in 0\.\.4"),
    ({"softmax_exp_bits": 7}, r"softmax_exp_bits=7 is out of range"),
    ({"softmax_out_bits": 9}, r"softmax_out_bits=9 is out of range: it must be in 4\.\.8"),
    ({"softmax_recip_bits": 9},
     r"softmax_recip_bits=9 is out of range: it must be in 10\.\.24 \(at least softmax_out"),
    ({"softmax_max_row": 8}, r"softmax_max_row=8 is out of range: it must be in 16\.\.4096"),
])
def test_every_invalid_softmax_value_is_named(values, message):
    with pytest.raises(ConfigError, match=message):
        AcceleratorConfig(**values)


@pytest.mark.parametrize("values, message", [
    ({"softmax_logit_bits": 7}, r"softmax_logit_bits=7 is out of range: it must be in 8\.\.16"),
    ({"ppu_bits": 12, "softmax_logit_bits": 13},
     r"softmax_logit_bits=13 is out of range: it must be in 8\.\.12 \(at most ppu_bits\)"),
    ({"ppu_recip_bits": 21}, r"ppu_recip_bits=21 is out of range: it must be in 8\.\.20"),
    # found by the random configurations: the compiler could not scale y into 11 bits
    ({"ppu_bits": 24, "ppu_mult_bits": 11},
     r"ppu_mult_bits=11 is out of range: it must be in 24\.\.24 \(at least 8 and ppu_bits\)"),
])
def test_every_invalid_ppu_value_is_named(values, message):
    with pytest.raises(ConfigError, match=message):
        AcceleratorConfig(**values)


def test_logit_range_and_ppu_widths():
    config = AcceleratorConfig()
    # 12-bit logits with 2 fraction bits: -512 .. 511.75 base-2 units.
    assert (config.softmax_logit_min, config.softmax_logit_max) == (-2048, 2047)
    assert config.softmax_out_shift == 29 - 7
    # y (16 bits) or exponentials up to 1.0 with 14 fraction bits (16 bits signed).
    assert config.ppu_input_bits == 16
    assert AcceleratorConfig(softmax_exp_bits=16).ppu_input_bits == 18
