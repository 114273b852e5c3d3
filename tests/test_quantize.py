"""Quantizers: reconstruction within half a step, scales rounded up, zeros, bad input."""

import numpy as np
import pytest

from golden.config import AcceleratorConfig
from golden.quantize import quantize, quantize_int, quantize_vsq

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
    (np.ones(16), r"expected a 2-D array \(rows x reduction axis\), got shape \(16,\)"),
    (np.array([[1.0, np.nan]]), "NaN or infinite"),
])
def test_bad_input_is_named(x, message):
    with pytest.raises(ValueError, match=message):
        quantize_vsq(x, 16, 4, 8)
