"""Quantizers: reconstruction within half a step, scales rounded up, zeros, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsq_accel.golden.quantize import quantize, quantize_int, quantize_vsq
from vsq_accel.spec.config import AcceleratorConfig

SEED = 7


@pytest.fixture
def rng():
    print(f"seed {SEED}")
    return np.random.default_rng(SEED)


@pytest.mark.parametrize("data_bits, scale_bits", [(4, 8), (4, 4), (8, 6), (4, 2)])
@pytest.mark.parametrize("per_row", [False, True])
def test_vsq_reconstruction_within_half_a_step(rng, data_bits, scale_bits, per_row):
    x = rng.standard_t(2, size=(24, 70)) * rng.uniform(0.01, 10, size=(24, 1))
    q = quantize_vsq(x, 16, data_bits, scale_bits, per_row)
    steps = np.repeat(q.scales * q.gamma, 16, axis=1)[:, :70]
    error = np.abs(q.dequantize() - x)
    assert np.all(error <= 0.5 * steps * (1 + 1e-12)), "an element is off by more than half"
    qmax = (1 << (data_bits - 1)) - 1
    assert q.values.min() >= -qmax and q.values.max() <= qmax
    assert q.scales.min() >= 0 and q.scales.max() <= (1 << scale_bits) - 1


def test_the_largest_vector_gets_the_largest_scale_and_nothing_clips(rng):
    x = rng.normal(size=(8, 64))
    x[3, 17] = 50.0
    q = quantize_vsq(x, 16, 4, 8)
    assert q.scales[3, 1] == 255 and q.values[3, 17] == 7
    assert q.dequantize()[3, 17] == pytest.approx(50.0)


def test_per_row_gamma_follows_each_row(rng):
    x = rng.normal(size=(4, 32)) * np.array([[1.0], [10.0], [100.0], [0.1]])
    q = quantize_vsq(x, 16, 4, 8, per_row=True)
    assert q.gamma.shape == (4, 1)
    assert np.all(q.scales.max(axis=1) == 255), "every row uses its full scale range"
    shared = quantize_vsq(x, 16, 4, 8)
    assert np.all(shared.gamma == shared.gamma[0])


def test_zero_vectors_and_an_all_zero_tensor(rng):
    x = rng.normal(size=(3, 48))
    x[1, 16:32] = 0.0
    q = quantize_vsq(x, 16, 4, 8)
    assert q.scales[1, 1] == 0 and np.all(q.values[1, 16:32] == 0)
    for quantized in (quantize_vsq(np.zeros((2, 32)), 16, 4, 8),
                      quantize_int(np.zeros((2, 32)), 16, 8)):
        assert np.all(quantized.values == 0) and np.all(quantized.dequantize() == 0)


def test_rows_are_padded_to_whole_vectors(rng):
    x = rng.normal(size=(5, 37))
    q = quantize_vsq(x, 16, 4, 8)
    assert q.values.shape == (5, 48) and q.scales.shape == (5, 3)
    assert np.all(q.values[:, 37:] == 0)
    assert q.dequantize().shape == (5, 37)


@pytest.mark.parametrize("bits, per_row", [(8, False), (8, True), (4, True)])
def test_int_reconstruction_within_half_a_step(rng, bits, per_row):
    x = rng.normal(size=(16, 40)) * rng.uniform(0.1, 5, size=(16, 1))
    q = quantize_int(x, 16, bits, per_row)
    assert q.scales is None
    assert np.all(np.abs(q.dequantize() - x) <= 0.5 * q.gamma * (1 + 1e-12))
    assert np.abs(q.values).max() == (1 << (bits - 1)) - 1


def test_quantize_follows_the_configuration(rng):
    x = rng.normal(size=(4, 32))
    assert quantize(x, AcceleratorConfig()).scales is not None
    int8 = quantize(x, AcceleratorConfig(data_bits=8, vector_scales=False))
    assert int8.scales is None and np.abs(int8.values).max() == 127


@pytest.mark.parametrize("x, message", [
    (np.ones(16), r"x must be a 2-D array \(rows x reduction axis\) .* not of shape \(16,\)"),
    (np.ones((0, 16)), r"at least one row and one column, not of shape \(0, 16\)"),
    (np.array([[1.0, np.nan]]), "NaN or infinite"),
])
def test_bad_input_is_named(x, message):
    with pytest.raises(ValueError, match=message):
        quantize_vsq(x, 16, 4, 8)


@pytest.mark.parametrize("arguments, error, message", [
    ((np.ones((1, 16)), 16, 1, 8), ValueError,
     r"data_bits=1 is out of range: it must be in 2\.\.16"),
    ((np.ones((1, 16)), 16, 70, 8), ValueError, r"data_bits=70 is out of range"),
    ((np.ones((1, 16)), 16, 4, 0), ValueError,
     r"scale_bits=0 is out of range: it must be in 1\.\.16"),
    ((np.ones((1, 16)), 0, 4, 8), ValueError, r"vector_size=0 is out of range"),
    ((np.ones((1, 16)), 16.0, 4, 8), TypeError, r"vector_size=16\.0 must be an integer"),
    ((np.ones((1, 16)) * 1j, 16, 4, 8), TypeError, r"x holds complex numbers"),
    ((np.array([["a"]]), 16, 4, 8), TypeError, r"x must hold numbers"),
])
def test_bad_arguments_are_named(arguments, error, message):
    with pytest.raises(error, match=message):
        quantize_vsq(*arguments)


def test_per_row_must_be_a_flag():
    with pytest.raises(TypeError, match=r"per_row=1 must be True or False"):
        quantize_int(np.ones((1, 16)), 16, 8, per_row=1)
    with pytest.raises(TypeError, match=r"config must be a AcceleratorConfig, not dict"):
        quantize(np.ones((1, 16)), {})


@settings(max_examples=80, deadline=None, derandomize=True)
@given(data=st.data(), rows=st.integers(1, 4), columns=st.integers(1, 40),
       vector_size=st.integers(1, 32), data_bits=st.integers(2, 8),
       scale_bits=st.integers(1, 8), per_row=st.booleans())
def test_any_real_input_quantizes_within_half_a_step(data, rows, columns, vector_size,
                                                     data_bits, scale_bits, per_row):
    """Random shapes, widths and values (zeros, signs, magnitudes from 1e-30 to 1e30):
    every value and scale in range, a finite gamma, each element within half a step."""
    magnitude = st.floats(1e-30, 1e30, allow_subnormal=False)
    element = st.one_of(st.just(0.0), magnitude, magnitude.map(lambda value: -value))
    x = np.array(data.draw(st.lists(element, min_size=rows * columns,
                                    max_size=rows * columns))).reshape(rows, columns)
    q = quantize_vsq(x, vector_size, data_bits, scale_bits, per_row)
    qmax, smax = (1 << (data_bits - 1)) - 1, (1 << scale_bits) - 1
    assert np.abs(q.values).max() <= qmax and 0 <= q.scales.min() <= q.scales.max() <= smax
    assert np.all(np.isfinite(q.gamma)) and np.all(q.gamma >= 0)
    steps = np.repeat(q.scales * q.gamma, vector_size, axis=1)[:, :columns]
    assert np.all(np.abs(q.dequantize() - x) <= 0.5 * steps * (1 + 1e-9) + 1e-300)
    plain = quantize_int(x, vector_size, data_bits, per_row)
    assert np.abs(plain.values).max() <= qmax
    assert np.all(np.abs(plain.dequantize() - x) <= 0.5 * plain.gamma * (1 + 1e-9) + 1e-300)
