"""The softmax golden models: hand-checked cases, the three implementations bit for bit
(loop 1's max and sum included), masks, overlong rows, and error against float."""

import numpy as np
import pytest

from vsq_accel.golden.softmax import (softmax_base2, softmax_base_e, softmax_row_serial,
                                      softmax_row_vector_kernel, softmax_rows)
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.tables import exp2_table

SEED = 17
CONFIGS = {
    "default": AcceleratorConfig(),
    "p1-f0": AcceleratorConfig(lanes=1, softmax_frac_bits=0, softmax_exp_bits=12,
                               softmax_recip_bits=12, softmax_out_bits=6,
                               softmax_max_row=64),
    "p8-f1": AcceleratorConfig(lanes=4, softmax_width=8, softmax_frac_bits=1),
    "p3-f4": AcceleratorConfig(lanes=3, softmax_frac_bits=4, softmax_exp_bits=16,
                               softmax_recip_bits=20),
}


def test_exp2_table_for_two_fraction_bits():
    # 2^14 * 2^(-f/4) = 16384, 13777.1, 11585.2, 9741.98
    assert exp2_table(AcceleratorConfig()).tolist() == [16384, 13777, 11585, 9742]


def test_hand_checked_rows():
    config = AcceleratorConfig(lanes=1)            # P = 1, F = 2, E = 14, k = 29, O = 7
    one = softmax_row_serial([0], None, config)
    # d = 2^14, r = 2^15, p = rhu(2^29, 22) = 128, saturated to 127.
    assert (one.row_max, one.row_sum, one.probs.tolist()) == (0, 16384, [127])
    assert softmax_row_serial([5, 5], None, config).probs.tolist() == [64, 64]
    # [0.0, 1.0]: beat 2 raises m to 1, d = rhu(16384, 1) + 16384 = 24576,
    # r = floor(2^29 / 24576) = 21845; p = rhu(8192 r, 22) = 43, rhu(16384 r, 22) = 85.
    rising = softmax_row_serial([0, 4], None, config)
    assert (rising.row_max, rising.row_sum, rising.probs.tolist()) == (1, 24576, [43, 85])


@pytest.mark.parametrize("name", CONFIGS)
def test_three_implementations_agree(name, golden_path):
    config = CONFIGS[name]
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    longest = config.softmax_max_beats * config.softmax_lanes
    for length in sorted({1, 2, 3, 5, 16, 17, 64, 197, longest}):
        if length > longest:
            continue
        low, high = config.softmax_logit_min, config.softmax_logit_max
        ramp = np.clip(low + np.arange(length) * 3 + rng.integers(-4, 5, length), low, high)
        rows = np.stack([rng.integers(low, high + 1, length), rng.normal(0, 6, length).round(),
                         ramp, np.full(length, 77), np.linspace(low, high, length).round()
                         ]).astype(np.int64)
        keep = np.stack([rng.random(length) < 0.7, np.ones(length, bool),
                         np.ones(length, bool), np.arange(length) % 3 == 0,
                         np.ones(length, bool)])
        batch = softmax_rows(rows, keep, config)
        for index in range(len(rows)):
            for single in (softmax_row_serial(rows[index], keep[index], config),
                           softmax_row_vector_kernel(rows[index], keep[index], config)):
                assert single.probs.tolist() == batch.probs[index].tolist()
                assert (single.row_max, single.row_sum) == (batch.row_max[index],
                                                            batch.row_sum[index])


def test_masked_elements_take_no_part():
    config = AcceleratorConfig(lanes=4)
    logits = np.array([[10, 100, -5, 7, 3]])
    keep = np.array([[True, False, True, True, False]])
    masked = softmax_rows(logits, keep, config)
    alone = softmax_rows(np.array([[10, -5, 7]]), None, config)
    assert masked.probs[0, [1, 4]].tolist() == [0, 0]
    assert masked.probs[0, [0, 2, 3]].tolist() == alone.probs[0].tolist()
    nothing = softmax_rows(logits, np.zeros_like(keep), config)
    assert nothing.probs.tolist() == [[0] * 5] and nothing.row_sum[0] == 0


def test_overlong_rows_are_zero_with_error():
    config = CONFIGS["p1-f0"]                      # 64 elements at most
    result = softmax_rows(np.zeros((2, 65), np.int64), None, config)
    assert result.error.all() and not result.probs.any()
    assert not softmax_rows(np.zeros((1, 64), np.int64), None, config).error.any()


def test_error_against_float_stays_near_one_output_step():
    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED + 1)
    logits = np.clip(np.round(rng.normal(0, 12, size=(2000, 197))), -128, 127).astype(np.int64)
    probs = softmax_rows(logits, None, config).probs / 128
    error = np.abs(probs - softmax_base2(logits / 4))
    assert error.max() <= 1 / 128 and error.mean() < 0.25 / 128


def test_error_stays_near_one_step_over_the_range_of_real_models():
    """Logits as a pretrained vision transformer makes them: most near 0, a heavy upper
    tail up to +-512 base-2 units (about 410 measured), every one representable with
    the default 12-bit logits and 2 fraction bits, none clipped."""
    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED + 2)
    print(f"seed {SEED + 2}")
    tail = (rng.random((1000, 197)) < 0.085) * rng.uniform(0, 500, (1000, 197))
    units = np.clip(rng.normal(0, 4, (1000, 197)) + tail, -512, 511.75)
    units[:10, 0], units[10:20, 0] = 511.75, -512.0              # both ends of the range
    logits = np.round(units * 4).astype(np.int64)
    assert logits.max() == config.softmax_logit_max and logits.min() == config.softmax_logit_min
    probs = softmax_rows(logits, None, config).probs / 128
    error = np.abs(probs - softmax_base2(logits / 4))
    assert error.max() <= 1 / 128 and error.mean() < 0.25 / 128


def test_float_references():
    values = np.array([[0.0, 1.0, 2.0]])
    assert np.allclose(softmax_base2(values), [[1 / 7, 2 / 7, 4 / 7]])
    assert np.allclose(softmax_base_e(values), np.exp(values) / np.exp(values).sum())
    assert softmax_base2(values, np.zeros((1, 3), bool)).tolist() == [[0.0, 0.0, 0.0]]


@pytest.mark.parametrize("logits, keep, message", [
    ([[2048]], None, r"logits must be 12-bit \(-2048\.\.2047\), found 2048\.\.2048"),
    ([[1, 2]], [[True]], r"logits \(1, 2\) and keep \(1, 1\) differ in shape"),
])
def test_bad_input_is_named(logits, keep, message):
    with pytest.raises(ValueError, match=message):
        softmax_rows(logits, keep, AcceleratorConfig())


@pytest.mark.parametrize("logits, keep, message", [
    ([[1.5, 2.0]], None, r"logits must hold integers, not float64"),
    ([[1, 2]], [[1, 0]], r"keep must hold booleans \(True: the logit counts\), not int64"),
])
def test_logits_and_masks_of_the_wrong_kind_are_refused(logits, keep, message):
    """Float logits are not truncated, 0/1 masks not read as booleans: both refused."""
    with pytest.raises(TypeError, match=message):
        softmax_rows(logits, keep, AcceleratorConfig())
