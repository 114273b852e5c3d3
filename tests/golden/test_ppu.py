"""The post-processing unit's golden model: fixed-point scales, column scaling with
saturation, requantization to each format, logits; extremes checked against Python's
unbounded integers, so that nothing overflows silently."""

import numpy as np
import pytest

from vsq_accel.golden.ppu import Requantization, Scaling, requantize_rows, scale
from vsq_accel.golden.ppu_params import (exponentials_to_operand, fixed_point, requantize,
                                         scale_columns, to_logits)
from vsq_accel.spec.config import AcceleratorConfig

SEED = 31


def test_fixed_point_is_within_half_a_unit_of_the_multiplier():
    scales = np.array([1e-9, 0.3, 1.0, 1.5, 1000.0])
    mult, shift = fixed_point(scales, 16)
    assert np.all((mult >= 1 << 15) & (mult < 1 << 16))
    assert np.allclose(mult / np.exp2(shift), scales, rtol=2 ** -16)
    assert fixed_point(0.0, 16) == (0, 0)
    assert fixed_point(1e-30, 16) == (0, 0)
    with pytest.raises(ValueError, match="does not fit a 16-bit multiplier"):
        fixed_point(1e20, 16)


def test_scale_columns_hand_checked():
    config = AcceleratorConfig()
    acc = np.array([[100, -100, 7], [3, 5, -7]])
    # Units 0.5, 0.25, 1 over y's unit 1: exact multipliers; rhu(-25.0) = -25, 3.5 -> 4.
    y, bias = scale_columns(acc, np.array([0.5, 0.25, 0.5]), 1.0, np.array([1.0, 0, -2.4]),
                            False, config)
    assert bias.tolist() == [1, 0, -2]
    assert y.tolist() == [[51, -25, 2], [3, 1, -5]]
    relu, _ = scale_columns(acc, np.array([0.5, 0.25, 0.5]), 1.0, None, True, config)
    assert relu.tolist() == [[50, 0, 4], [2, 1, 0]]


def test_scale_columns_saturates_at_the_extremes_exactly():
    config = AcceleratorConfig()
    acc = np.array([[config.acc_max, config.acc_min, config.acc_max, 1]])
    units = np.array([1.0, 1.0, 2.0 ** -8, 2.0 ** -20])
    y, _ = scale_columns(acc, units, 2.0 ** -10, None, False, config)
    mult, shift = fixed_point(units / 2.0 ** -10, config.ppu_mult_bits)
    exact = [(int(a) * int(m) + (1 << (int(s) - 1))) >> int(s) if s else int(a) * int(m)
             for a, m, s in zip(acc[0], mult, shift)]
    limit = (1 << (config.ppu_bits - 1)) - 1
    assert y[0].tolist() == [max(min(v, limit), -limit - 1) for v in exact]
    assert y[0, 0] == limit and y[0, 1] == -limit - 1


def test_requantize_vsq_scales_round_up_and_elements_land_within_a_step(golden_path):
    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    y = rng.integers(-30000, 30000, (20, 64)) // rng.integers(1, 300, (20, 1))
    y[3, :16] = 0
    y[4, 16] = -32768
    unit, gamma = 1e-3, 32768e-3 / (7 * 255)
    q = requantize(y, unit, gamma, config)
    exact_scale = np.abs(y.reshape(20, 4, 16)).max(axis=2) * unit / (7 * gamma)
    assert np.all(q.scales >= np.minimum(np.ceil(exact_scale - 1e-9), 255))
    assert np.all(q.scales <= np.maximum(np.ceil(exact_scale + 1e-9), 1))
    assert q.scales[3, 0] == 1 and not q.values[3, :16].any()
    step = np.repeat(q.scales, 16, axis=1) * gamma
    assert np.all(np.abs(q.dequantize() - y * unit) <= 0.5 * step + 1e-4 * np.abs(y * unit))
    assert np.abs(q.values).max() <= 7


@pytest.mark.parametrize("config", [AcceleratorConfig(data_bits=8, vector_scales=False),
                                    AcceleratorConfig(vector_scales=False)])
def test_requantize_int_within_half_a_step(config):
    rng = np.random.default_rng(SEED + 1)
    y = rng.integers(-32768, 32768, (8, 32))
    qmax = (1 << (config.data_bits - 1)) - 1
    gamma = 32768 * 1e-3 / qmax
    q = requantize(y, 1e-3, gamma, config)
    assert q.scales is None and np.abs(q.values).max() <= qmax
    assert np.all(np.abs(q.dequantize() - y * 1e-3) <= 0.5 * gamma * (1 + 1e-4))


def test_logits_fold_the_scale_and_clip():
    acc = np.array([[0, 10, -10, 1000, -1000, 3, 5000, -5000]])
    # acc_unit * factor * 2^F = 0.5: logits = rhu(acc / 2), clipped to the logit width.
    assert to_logits(acc, 0.125, 1.0, AcceleratorConfig()).tolist() == [
        [0, 5, -5, 500, -500, 2, 2047, -2048]]
    assert to_logits(acc, 0.125, 1.0, AcceleratorConfig(softmax_logit_bits=8)).tolist() == [
        [0, 5, -5, 127, -128, 2, 127, -128]]


def test_exponentials_as_operands():
    config = AcceleratorConfig()
    exps = np.array([[16384, 8192, 0, 1] * 4, [300, 200, 100, 0] * 4])
    vsq = exponentials_to_operand(exps, config)
    # The second row tops out at 300 / 2^14, 2 % of the first: its own scales keep it.
    assert np.all(vsq.values[1, :3] != 0)
    step = np.repeat(vsq.scales, 16, axis=1) * vsq.gamma
    assert np.all(np.abs(vsq.dequantize() - exps / 2 ** 14) <= 0.5 * step * (1 + 1e-3))
    int8 = exponentials_to_operand(exps, AcceleratorConfig(data_bits=8, vector_scales=False))
    assert int8.values[0, :2].tolist() == [127, 64]


def test_device_scaling_per_row_is_the_transposed_column_scaling(golden_path):
    """A result produced transposed (V^T = Wv^T X^T) takes its channels' parameters per
    row: the same integers as the column scaling of the untransposed result."""
    from vsq_accel.golden.ppu import Scaling, scale

    rng = np.random.default_rng(SEED + 2)
    acc = rng.integers(-(1 << 23), 1 << 23, (5, 7))
    scaling = Scaling(rng.integers(1 << 15, 1 << 16, 7), rng.integers(10, 30, 7),
                      rng.integers(-500, 500, 7))
    columns = scale(acc, scaling, True, 16)
    assert scale(acc.T, scaling, True, 16, per_row=True).tolist() == columns.T.tolist()
    exact = [[max(min(max(((int(a) * int(m) + (1 << (int(s) - 1))) >> int(s)) + int(b), 0),
                      32767), -32768)
              for a, m, s, b in zip(row, scaling.mult, scaling.shift, scaling.bias)]
             for row in acc]
    assert columns.tolist() == exact


def test_reciprocal_table_and_requantization_at_the_widest_settings():
    """floor(2^R / s) for every scale; y x mult x reciprocal at the widest allowed widths
    against Python's unbounded integers."""
    from vsq_accel.golden.ppu import Requantization, requantize_rows
    from vsq_accel.spec.tables import reciprocal_table

    config = AcceleratorConfig(ppu_bits=24, ppu_mult_bits=24, ppu_recip_bits=20)
    table = reciprocal_table(config)
    assert table[1] == 1 << 20 and table[255] == (1 << 20) // 255 and len(table) == 256
    params = Requantization((1 << 24) - 1, 30, (1 << 24) - 1, 34)
    y = np.array([[(1 << 23) - 1, -(1 << 23)] + [0] * 14, [1] + [0] * 15])
    values, scales = requantize_rows(y, params, config)
    amax = [1 << 23, 1]
    expect_scales = [min(max(-(-a * params.scale_mult >> 34), 1), 255) for a in amax]
    assert scales[:, 0].tolist() == expect_scales
    shift = 30 + 20
    expect = [max(min((int(v) * params.element_mult * int(table[s]) + (1 << (shift - 1)))
                      >> shift, 7), -7) for v, s in zip(y[:, :2].reshape(-1), [
                          expect_scales[0]] * 2 + [expect_scales[1]] * 2)]
    assert values[:, :2].reshape(-1).tolist() == expect


def test_row_scaling_is_exact_at_the_widest_settings():
    """A 40-bit accumulator times a 24-bit reciprocal times a 24-bit multiplier (87 bits):
    the accumulator's extremes times about 1 saturate, as Python's integers say."""
    from vsq_accel.golden.ppu import Scaling, scale

    config = AcceleratorConfig(acc_bits=40, softmax_recip_bits=24, ppu_mult_bits=24)
    acc = np.array([[config.acc_max, config.acc_min, 12345, -1]])
    r = np.array([(1 << 24) - 1])
    scaling = Scaling(np.full(4, (1 << 24) - 1), np.full(4, 48), np.zeros(4, np.int64))
    y = scale(acc, scaling, False, config.ppu_bits, row_factor=r)
    exact = [(int(a) * int(r[0]) * ((1 << 24) - 1) + (1 << 47)) >> 48 for a in acc[0]]
    limit = (1 << (config.ppu_bits - 1)) - 1
    assert y[0].tolist() == [max(min(v, limit), -limit - 1) for v in exact]
    assert y[0, 0] == limit and y[0, 1] == -limit - 1 and y.dtype == np.int64


def test_the_ppu_functions_refuse_arguments_of_the_wrong_kind():
    config = AcceleratorConfig()
    scaling = Scaling(np.ones(2, np.int64), np.zeros(2, np.int64), np.zeros(2, np.int64))
    cases = [
        (lambda: scale(np.ones((2, 2)), scaling, False, 16), TypeError,
         r"acc must hold integers, not float64"),
        (lambda: scale(np.ones(2, np.int64), scaling, False, 16), ValueError,
         r"acc must have 2 dimensions, not shape \(2,\)"),
        (lambda: scale(np.ones((2, 2), np.int64), {"mult": 1}, False, 16), TypeError,
         r"scaling must be a Scaling, not dict"),
        (lambda: scale(np.ones((2, 2), np.int64), scaling, False, 1), ValueError,
         r"out_bits=1 is out of range"),
        (lambda: requantize_rows(np.ones((1, 16)), Requantization(1, 0), config), TypeError,
         r"y must hold integers, not float64"),
        (lambda: requantize_rows(np.ones((1, 16), np.int64), (1, 0), config), TypeError,
         r"requantization must be a Requantization, not tuple"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def _rhu(value, shift):
    return (value + (1 << (shift - 1))) >> shift if shift else value


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("per_row", [False, True])
def test_scaling_equals_python_integers_on_random_parameters(relu, per_row, golden_path):
    """Scaling against Python's integers: shifts 0 to 62 (the longest the host's scales
    use; 63 is refused), row factors, biases, saturation both ways."""
    rng = np.random.default_rng(SEED + 3)
    print(f"seed {SEED + 3}")
    acc = rng.integers(-(1 << 23), 1 << 23, (6, 9))
    acc[0, :2] = -(1 << 23), (1 << 23) - 1
    row = rng.integers(0, 1 << 12, 6)
    count = 6 if per_row else 9
    scaling = Scaling(rng.integers(0, 1 << 16, count), rng.choice([0, 1, 20, 30, 61, 62],
                                                                   count),
                      rng.integers(-(1 << 17), 1 << 17, count))
    y = scale(acc, scaling, relu, 18, row_factor=row, per_row=per_row)
    for i, j in np.ndindex(acc.shape):
        c = i if per_row else j
        value = _rhu(int(acc[i, j]) * int(row[i]) * int(scaling.mult[c]),
                     int(scaling.shift[c])) + int(scaling.bias[c])
        value = max(value, 0) if relu else value
        assert y[i, j] == min(max(value, -(1 << 17)), (1 << 17) - 1)
    scaling.shift[0] = 63
    with pytest.raises(ValueError, match=r"scaling.shift must lie in 0\.\.62"):
        scale(acc, scaling, relu, 18, row_factor=row, per_row=per_row)


def test_vsq_requantization_equals_python_integers_on_random_rows(golden_path):
    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED + 4)
    print(f"seed {SEED + 4}")
    y = rng.integers(-(1 << 15), 1 << 15, (5, 40)) >> rng.integers(0, 15, (5, 1))
    y[1, :16] = 0
    params = Requantization(int(rng.integers(1 << 15, 1 << 16)), 20,
                            int(rng.integers(1 << 15, 1 << 16)), 24)
    values, scales = requantize_rows(y, params, config)
    table = [0] + [(1 << config.ppu_recip_bits) // s for s in range(1, 256)]
    padded = np.pad(y, ((0, 0), (0, 8)))
    for i, k in np.ndindex(scales.shape):
        vector = [int(v) for v in padded[i, 16 * k:16 * k + 16]]
        amax = max(abs(v) for v in vector)
        s = min(max(-(-amax * params.scale_mult >> params.scale_shift), 1), 255)
        assert scales[i, k] == s
        shift = params.element_shift + config.ppu_recip_bits
        assert values[i, 16 * k:16 * k + 16].tolist() == [
            min(max(_rhu(v * params.element_mult * table[s], shift), -7), 7) for v in vector]
