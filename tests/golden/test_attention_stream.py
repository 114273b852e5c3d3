"""The streamed attention head: the two-pass schedule gives the tile program's bits
whatever the blocks, the one-pass schedule where a block holds the row; the rescale of
the partial sums."""

import numpy as np
import pytest

from vsq_accel.golden.attention_stream import attention_head_streamed
from vsq_accel.golden.tile_float import attention_head
from vsq_accel.golden.tile_program import Calibration, Trace, attention_head_program
from vsq_accel.golden.tile_weights import random_attention_head
from vsq_accel.golden.vsq_matmul import rescale_rows
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.dimensions import tile_dimensions

SEED = 41


@pytest.mark.parametrize("config", [AcceleratorConfig(),
                                    AcceleratorConfig(data_bits=8, vector_scales=False),
                                    AcceleratorConfig(lanes=4, softmax_frac_bits=1)])
def test_streamed_head_equals_the_tile_program(config, golden_path):
    """Loop 1 over a row in parts gives the whole row's max and sum, so the two-pass
    schedule has the tile program's bits for any blocks; the one-pass schedule has them
    when one block of keys holds the row (its bits for longer rows are held to the
    compiled program's in tests/toolchain/test_compiler.py)."""
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x = rng.normal(size=(150, 64))
    head = random_attention_head(rng, 64, 32)
    _, tensors = attention_head(x, head, friendly=True)
    calibration = Calibration(tensors, config)
    whole = attention_head_program(x, head, config, calibration, Trace())
    for query_block, key_block in ((150, 160), (37, 48), (1, 16)):
        streamed = attention_head_streamed(x, head, config, calibration, query_block,
                                           key_block, passes=2)
        assert np.array_equal(streamed[0], whole[0]) and streamed[1] == whole[1]
    for query_block in (150, 37):
        streamed = attention_head_streamed(x, head, config, calibration, query_block, 160)
        assert np.array_equal(streamed[0], whole[0]) and streamed[1] == whole[1]


def test_one_pass_keeps_close_to_two_passes_and_to_float():
    """Blocks of 16 keys over 150 tokens: the one-pass head's output stays within a few
    output steps of the two-pass head's, and as close to the float head."""
    config = AcceleratorConfig(lanes=4)
    rng = np.random.default_rng(SEED + 1)
    print(f"seed {SEED + 1}")
    x = rng.normal(size=(150, 64))
    head = random_attention_head(rng, 64, 32)
    exact, tensors = attention_head(x, head, friendly=True)
    calibration = Calibration(tensors, config)
    one, unit = attention_head_streamed(x, head, config, calibration, 37, 16)
    two, _ = attention_head_streamed(x, head, config, calibration, 37, 16, passes=2)
    errors = [np.linalg.norm(y * unit - exact) / np.linalg.norm(exact) for y in (one, two)]
    assert abs(errors[0] - errors[1]) < 0.01 and errors[0] < 0.3


def test_rescaling_rows_rounds_half_up_and_clears_past_the_width():
    config = AcceleratorConfig(vector_scales=False, acc_bits=16)
    acc = np.array([[5, -5, 6, -6], [config.acc_min, config.acc_max, -1, 1],
                    [config.acc_min, config.acc_max, 7, -7]])
    rescaled = rescale_rows(acc, np.array([1, 16, 0]), config)
    # 5/2 = 2.5 -> 3, -5/2 = -2.5 -> -2 (half up); past the width every value is 0.
    assert rescaled.tolist() == [[3, -2, 3, -3], [0, 0, 0, 0], acc[2].tolist()]
    assert rescale_rows(acc[:1], np.array([1 << 40]), config).tolist() == [[0, 0, 0, 0]]


def test_key_blocks_must_align_with_beats_and_vectors():
    config = AcceleratorConfig(lanes=4)
    rng = np.random.default_rng(SEED)
    with pytest.raises(ValueError, match="key_block=20 must be a multiple of 16"):
        attention_head_streamed(rng.normal(size=(40, 16)), random_attention_head(rng, 16, 16),
                                config, None, 8, 20)


def test_dimension_table_hand_checked():
    """Read off the compiled lists: per head Q, K (10 x 8 @ 8 x 4), V^T (4 x 8 @ 8 x 10),
    S and P V; the regions in the configured format (4-bit elements, 8-bit scales)."""
    config = AcceleratorConfig()
    tiles = tile_dimensions(n=10, d_model=8, dk=4, heads=2, d_ff=16, config=config)
    sa = {(op, m, k, n): times for op, m, k, n, times in tiles["SA (one head)"]["matmuls"]}
    assert sa == {("projection", 10, 8, 4): 2, ("projection", 4, 8, 10): 1,
                  ("scores", 10, 4, 10): 1, ("P V", 10, 10, 4): 1}
    macs = sum(times * m * k * n for _, m, k, n, times in tiles["MHSA"]["matmuls"])
    # per head: 3 * 10*8*4 + 10*4*10 + 10*10*4 = 1760; two heads, then 10*8*8 for Wo.
    assert macs == 2 * 1760 + 640
    x = next(t for t in tiles["SA (one head)"]["tensors"] if t[0] == "x")
    # 10 rows of one 16-element vector: 10 x (16 * 4 + 8) bits.
    assert x == ("x", "LEFT", 10, 10 * 72 / 8)
    names = [t[0] for t in tiles["MHSA"]["tensors"]]
    assert "concat_op" in names and "q_op (per head, x 2)" in names
