"""The array's stream order, checked element by element against the tiling it describes."""

import numpy as np

from vsq_accel.golden.array_schedule import array_streams
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.vsq_matmul import vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig

SEED = 3


def test_streams_follow_the_tiling():
    config = AcceleratorConfig(lanes=4)
    lanes, size = 4, 16
    rng = np.random.default_rng(SEED)
    m, k, n = 6, 40, 9                       # 2 x 3 tiles, 3 slices, padding everywhere
    a = quantize(rng.normal(size=(m, k)), config)
    b_t = quantize(rng.normal(size=(k, n)).T, config, per_row=True)
    streams = array_streams(a, b_t, config)
    tiles, slices = 2 * 3, 3
    assert len(streams.a_values) == len(streams.b_values) == tiles * slices * lanes
    assert len(streams.c_columns) == tiles * lanes
    assert streams.b_last.sum() == tiles * lanes

    index = 0
    expected = vsq_matmul(a, b_t, config)
    for tile_row in range(2):
        for tile_col in range(3):
            for vector in range(slices):
                for lane in range(lanes):
                    row, col = tile_row * lanes + lane, tile_col * lanes + lane
                    want_a = a.values[row, vector * size:(vector + 1) * size] if row < m else 0
                    want_b = b_t.values[col, vector * size:(vector + 1) * size] if col < n else 0
                    assert np.all(streams.a_values[index] == want_a)
                    assert np.all(streams.b_values[index] == want_b)
                    assert streams.a_scales[index] == (a.scales[row, vector] if row < m else 0)
                    assert streams.b_last[index] == (vector == slices - 1)
                    index += 1
            for column in range(lanes):
                col = tile_col * lanes + column
                got = streams.c_columns[(tile_row * 3 + tile_col) * lanes + column]
                for lane in range(lanes):
                    row = tile_row * lanes + lane
                    want = expected[row, col] if row < m and col < n else 0
                    assert got[lane] == want


def test_plain_integer_streams_have_no_scales():
    config = AcceleratorConfig(lanes=2, data_bits=8, vector_scales=False)
    rng = np.random.default_rng(SEED)
    a = quantize(rng.normal(size=(2, 16)), config)
    streams = array_streams(a, a, config)
    assert streams.a_scales is None and streams.b_scales is None
