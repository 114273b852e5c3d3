"""The tile programs: a hand-checkable head, error bounds against the float models per
format, and a trace that replays step by step."""

import numpy as np
import pytest

from vsq_accel.golden.attention_stream import attention_head_streamed
from vsq_accel.golden.quantize import QuantizedRows
from vsq_accel.golden.softmax import softmax_exponentials, softmax_rows
from vsq_accel.golden.tile_program import Trace
from vsq_accel.golden.tile_weights import (AttentionHead, FeedForward, MultiHeadAttention,
                                           random_attention_head, random_feed_forward,
                                           random_multi_head)
from vsq_accel.golden.vsq_matmul import vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.compiler import compile_attention_head, compile_linear
from vsq_accel.toolchain.tile_run import run_tile

SEED = 37
FORMATS = {
    "int4_pc": AcceleratorConfig(vector_scales=False),
    "int4_vsq": AcceleratorConfig(),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False),
}
# Relative RMS error of the integer program against the float model with the same
# substitutions, on random unit-variance data (measured values are well inside).
BOUNDS = {"int4_pc": 1.0, "int4_vsq": 0.35, "int8": 0.12}


@pytest.fixture(scope="module")
def tiles():
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x = rng.normal(size=(48, 64))
    return x, {"sa": random_attention_head(rng, 64, 32),
               "mhsa": random_multi_head(rng, 64, 2, 32),
               "ffn": random_feed_forward(rng, 64, 128)}


def relative_error(got, want):
    return np.linalg.norm(got - want) / np.linalg.norm(want)


def test_uniform_attention_averages_the_values():
    """Zero query and key weights: every score is 0, so every exponential is 1.0 (2^14),
    d = 4 * 2^14, r = 2^29 / d = 2^13, and O is the mean of V's rows."""
    config = FORMATS["int8"]
    rng = np.random.default_rng(SEED)
    d_model, dk = 16, 16
    zero = np.zeros((d_model, dk))
    head = AttentionHead(zero, zero, rng.normal(size=(d_model, dk)), np.zeros(dk),
                         np.zeros(dk), np.zeros(dk))
    x = rng.normal(size=(4, d_model))
    run = run_tile("sa", x, head, config)
    assert np.all(run.trace["exponentials"] == 1 << 14)
    assert np.all(run.trace["o.reciprocal"] == 1 << 13)
    values = x @ head.wv
    assert np.allclose(run.output, values.mean(axis=0, keepdims=True).repeat(4, 0),
                       atol=0.03 * np.abs(values).max())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("tile", ["sa", "mhsa", "ffn"])
def test_error_against_the_float_models(tiles, fmt, tile):
    x, weights = tiles
    run = run_tile(tile, x, weights[tile], FORMATS[fmt])
    assert relative_error(run.output, run.friendly) < BOUNDS[fmt]
    if tile == "ffn":
        assert relative_error(run.friendly, run.exact) > 0.05    # ReLU is not GELU
    else:
        assert np.allclose(run.friendly, run.exact, rtol=1e-10, atol=1e-12)


def test_vsq_beats_int4_per_channel(tiles):
    x, weights = tiles
    for tile in ("sa", "ffn"):
        vsq = run_tile(tile, x, weights[tile], FORMATS["int4_vsq"])
        per_channel = run_tile(tile, x, weights[tile], FORMATS["int4_pc"])
        assert (relative_error(vsq.output, vsq.friendly)
                < relative_error(per_channel.output, per_channel.friendly))


def test_trace_replays_step_by_step(tiles, tmp_path):
    """From the saved trace alone: S's accumulators from the Q and K operands, the
    softmax state and exponentials from the logits, O's accumulators."""
    config = FORMATS["int4_vsq"]
    x, weights = tiles
    run_tile("sa", x, weights["sa"], config).trace.save(tmp_path / "sa")
    trace = Trace.load(tmp_path / "sa")
    names = [name for name, _, _, _ in trace.entries]
    for name in ("x.values", "q", "q_op.scales", "v_op.values", "s.acc", "logits", "row_sum",
                 "exponentials", "e_op.values", "o.acc", "o.reciprocal", "o"):
        assert name in names

    def operand(name):
        values = trace[f"{name}.values"]
        return QuantizedRows(values, trace[f"{name}.scales"], np.ones((len(values), 1)),
                             config.vector_size, values.shape[1])

    assert np.array_equal(vsq_matmul(operand("q_op"), operand("k_op"), config), trace["s.acc"])
    softmax = softmax_rows(trace["logits"], None, config)
    assert np.array_equal(softmax.row_sum, trace["row_sum"])
    assert np.array_equal(softmax_exponentials(trace["logits"], np.ones(trace["logits"].shape,
                                                                        bool),
                                               softmax.row_max, config), trace["exponentials"])
    assert np.array_equal(vsq_matmul(operand("e_op"), operand("v_op"), config), trace["o.acc"])


def _head(d_model=16, dk=8, **changes):
    rng = np.random.default_rng(SEED)
    fields = {name: rng.normal(size=(d_model, dk)) for name in ("wq", "wk", "wv")}
    fields.update({name: np.zeros(dk) for name in ("bq", "bk", "bv")})
    fields.update(changes)
    return AttentionHead(**fields)


@pytest.mark.parametrize("build, error, words", [
    (lambda: _head(wk=np.zeros((16, 9))), ValueError, "AttentionHead.wk has 9 columns"),
    (lambda: _head(wv=np.zeros((15, 8))), ValueError, "AttentionHead.wv has 15 rows"),
    (lambda: _head(bq=np.zeros(7)), ValueError, "AttentionHead.bq has 7 numbers"),
    (lambda: _head(bk=np.zeros((1, 8))), ValueError, "AttentionHead.bk must be a 1-D"),
    (lambda: _head(wq=np.full((16, 8), np.nan)), ValueError, "AttentionHead.wq holds NaN"),
    (lambda: _head(wq=np.zeros((16, 8), complex)), TypeError, "AttentionHead.wq holds compl"),
    (lambda: _head(wq=np.zeros((0, 8))), ValueError, "AttentionHead.wq must be a 2-D"),
    (lambda: MultiHeadAttention([], np.zeros((8, 16)), np.zeros(16)), TypeError,
     "non-empty sequence of AttentionHead"),
    (lambda: MultiHeadAttention((_head(), _head(dk=4)), np.zeros((16, 16)), np.zeros(16)),
     ValueError, "heads[1] is 16 -> 4, 4"),
    (lambda: MultiHeadAttention((_head(), _head()), np.zeros((8, 16)), np.zeros(16)),
     ValueError, "MultiHeadAttention.wo has 8 rows; it must have 16"),
    (lambda: FeedForward(np.zeros((16, 32)), np.zeros(32), np.zeros((32, 8)), np.zeros(16)),
     ValueError, "FeedForward.w2 has 8 columns; it must have 16"),
    (lambda: FeedForward(np.zeros((16, 32)), "0", np.zeros((32, 16)), np.zeros(16)),
     TypeError, "FeedForward.b1 must hold numbers"),
])
def test_weights_that_do_not_fit_together_are_named(build, error, words):
    with pytest.raises(error) as raised:
        build()
    assert words in str(raised.value)


@pytest.mark.parametrize("call, error, words", [
    (lambda head, x, c: run_tile("attention", x, head, c), ValueError, "tile='attention'"),
    (lambda head, x, c: run_tile("ffn", x, head, c), TypeError,
     "weights must be a FeedForward, not AttentionHead"),
    (lambda head, x, c: run_tile("sa", x, head, {}), TypeError, "config must be a"),
    (lambda head, x, c: run_tile("sa", x[:, :15], head, c), ValueError,
     "x has 15 columns; the weights take d_model = 16"),
    (lambda head, x, c: run_tile("sa", x[0], head, c), ValueError, "x must be a 2-D"),
    (lambda head, x, c: compile_attention_head(x * np.inf, head, c, None), ValueError,
     "x holds NaN or infinite"),
    (lambda head, x, c: compile_linear(x, np.zeros((8, 4)), None, c, None), ValueError,
     "w has 8 rows; it must have one per column of x (16)"),
    (lambda head, x, c: compile_linear(x, np.zeros((16, 4)), np.zeros(5), c, None),
     ValueError, "bias has 5 numbers; it must have 4"),
    (lambda head, x, c: attention_head_streamed(x, head, c, None, query_block=0), ValueError,
     "query_block=0 is out of range"),
    (lambda head, x, c: attention_head_streamed(x, head, c, None, key_block=32.0), TypeError,
     "key_block=32.0 must be an integer"),
])
def test_tile_entry_points_name_a_wrong_argument(call, error, words):
    head, x = _head(), np.ones((4, 16))
    with pytest.raises(error) as raised:
        call(head, x, FORMATS["int8"])
    assert words in str(raised.value)
