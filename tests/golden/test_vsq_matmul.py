"""The fast integer matmul against a scalar reference written straight from the contract."""

import dataclasses
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsq_accel.golden.kernels.lane import accumulator_dtype, lane_matmul
from vsq_accel.golden.quantize import QuantizedRows, quantize
from vsq_accel.golden.vsq_matmul import accumulator_scale, blas_dtype, separable, vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig

SEED = 11

CONFIGS = {
    "int4-vsq8": AcceleratorConfig(lanes=4),
    "int4-vsq8-exact-scale-product": AcceleratorConfig(lanes=4, scale_product_bits=16,
                                                       acc_bits=32),
    "int4-vsq8-carry": AcceleratorConfig(lanes=4, scale_product_bits=5, acc_bits=20),
    "int4-vsq4": AcceleratorConfig(lanes=4, scale_bits=4, scale_product_bits=4),
    "int8-vsq6-v32": AcceleratorConfig(data_bits=8, vector_size=32, scale_bits=6,
                                       scale_product_bits=8, acc_bits=28),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False, vector_size=32),
    "int4": AcceleratorConfig(vector_scales=False, acc_bits=16),
    "int8-vsq8-wide-acc": AcceleratorConfig(data_bits=8, scale_product_bits=10, acc_bits=32),
}


def reference_matmul(a, b_t, config, initial=None):
    """Scalar, one element and one vector at a time, exactly as ARCHITECTURE.md says."""
    size, shift = config.vector_size, config.scale_product_shift
    low, high = config.acc_min, config.acc_max
    result = np.zeros((len(a.values), len(b_t.values)), dtype=np.int64)
    for i in range(len(a.values)):
        for j in range(len(b_t.values)):
            acc = 0 if initial is None else int(initial[i, j])
            for k in range(a.values.shape[1] // size):
                d = sum(int(a.values[i, k * size + e]) * int(b_t.values[j, k * size + e])
                        for e in range(size))
                p = 1
                if config.vector_scales:
                    product = int(a.scales[i, k]) * int(b_t.scales[j, k])
                    p = product if shift == 0 else (product + (1 << (shift - 1))) >> shift
                acc = min(max(acc + d * p, low), high)
            result[i, j] = acc
    return result


def random_rows(rng, rows, vectors, config, value_range=None):
    low, high = value_range or (config.data_min, config.data_max)
    values = rng.integers(low, high + 1, size=(rows, vectors * config.vector_size))
    scales = (rng.integers(0, config.scale_max + 1, size=(rows, vectors))
              if config.vector_scales else None)
    return QuantizedRows(values, scales, np.ones((rows, 1)), config.vector_size,
                         values.shape[1])


@pytest.mark.parametrize("name", CONFIGS)
def test_fast_matmul_equals_the_scalar_reference(name, golden_path):
    config = CONFIGS[name]
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    for rows, cols, vectors in [(1, 1, 1), (5, 3, 4), (3, 7, 9)]:
        a, b_t = random_rows(rng, rows, vectors, config), random_rows(rng, cols, vectors, config)
        assert np.array_equal(vsq_matmul(a, b_t, config), reference_matmul(a, b_t, config))


@pytest.mark.parametrize("name", ["int4-vsq8", "int8", "int4-vsq8-carry"])
def test_saturation_both_ways_in_order(name, golden_path):
    """Extreme operands over long reductions saturate, and the order of the adds shows."""
    config = CONFIGS[name]
    rng = np.random.default_rng(SEED + 1)
    vectors = 160
    a = random_rows(rng, 4, vectors, config)
    b_t = random_rows(rng, 4, vectors, config)
    a.values[0] = config.data_min
    b_t.values[0] = config.data_min               # positive products: saturate high
    b_t.values[1] = config.data_max               # negative products: saturate low
    # High first, then fewer negative vectors than it takes to cross the whole range.
    weakest_term = -config.dot_range[0] * config.scale_product_max
    down = config.vector_size * max(1, config.acc_max // weakest_term)
    b_t.values[2, :-down], b_t.values[2, -down:] = config.data_min, config.data_max
    if config.vector_scales:
        a.scales[0] = b_t.scales[:3] = config.scale_max
    result = vsq_matmul(a, b_t, config)
    assert result[0, 0] == config.acc_max and result[0, 1] == config.acc_min
    plain = int(a.values[0] @ b_t.values[2])
    assert config.acc_min < result[0, 2] < config.acc_max and result[0, 2] != plain
    assert np.array_equal(result, reference_matmul(a, b_t, config))


def test_dequantized_result_matches_float_when_scale_product_is_exact():
    """With scale_product_bits = 2M nothing is rounded inside the lane: the accumulators,
    scaled back, equal the float product of the dequantized operands."""
    config = CONFIGS["int4-vsq8-exact-scale-product"]
    rng = np.random.default_rng(SEED + 2)
    a = quantize(rng.normal(size=(6, 64)), config)
    b_t = quantize(rng.normal(size=(64, 5)).T, config, per_row=True)
    value = vsq_matmul(a, b_t, config) * accumulator_scale(a, b_t, config)
    assert np.allclose(value, a.dequantize() @ b_t.dequantize().T, rtol=1e-12, atol=1e-12)


def test_large_matmul_is_exact_on_every_thread():
    """512 x 512 x 512 with its rows spread over the threads: spot-check rows at both
    ends (different threads) against the reference."""
    config = CONFIGS["int4-vsq8"]
    rng = np.random.default_rng(SEED + 3)
    a, b_t = random_rows(rng, 512, 32, config), random_rows(rng, 512, 32, config)
    result = vsq_matmul(a, b_t, config)
    for rows in (slice(0, 2), slice(255, 258), slice(509, 512)):
        part = QuantizedRows(a.values[rows], a.scales[rows], a.gamma[rows], 16, 512)
        columns = QuantizedRows(b_t.values[:3], b_t.scales[:3], b_t.gamma[:3], 16, 512)
        assert np.array_equal(result[rows, :3], reference_matmul(part, columns, config))


@pytest.mark.parametrize("name", CONFIGS)
def test_the_lane_kernel_equals_the_reference_in_every_family(name):
    """The compiled lane on its own, also where vsq_matmul would take BLAS: odd and even
    row counts (rows go in pairs), saturation both ways, accumulators at both limits."""
    config = CONFIGS[name]
    rng = np.random.default_rng(SEED + 5)
    print(f"seed {SEED + 5}, accumulators in {accumulator_dtype(config).__name__}")
    for rows, cols, vectors in [(1, 1, 1), (2, 5, 3), (7, 4, 40)]:
        a, b_t = random_rows(rng, rows, vectors, config), random_rows(rng, cols, vectors, config)
        a.values[0], b_t.values[0] = config.data_min, config.data_min
        if config.vector_scales:
            a.scales[0] = b_t.scales[0] = config.scale_max
        initial = rng.choice([config.acc_min, 0, config.acc_max], size=(rows, cols))
        got = lane_matmul(a.vectors, a.scales, b_t.vectors, b_t.scales, config, initial)
        assert np.array_equal(got, reference_matmul(a, b_t, config, initial))


def test_blas_takes_what_it_computes_exactly_and_the_lane_kernel_the_rest(monkeypatch):
    """INT8 without scales is one BLAS matmul; only the rows of A whose partial sums
    could saturate (by the norm bound) go through the lane kernel (here forced: from 0
    operations on)."""
    monkeypatch.setattr("vsq_accel.golden.compute.COMPILED_FROM", 0)
    config = CONFIGS["int8"]
    rng = np.random.default_rng(SEED + 6)
    a, b_t = random_rows(rng, 6, 20, config, (-3, 3)), random_rows(rng, 5, 20, config, (-3, 3))
    a.values[4] = config.data_min                       # 640 x 128^2: beyond 2^23
    b_t.values[1] = config.data_min
    kernel_rows = []

    def lane_matmul_spy(a_vectors, *arguments):
        kernel_rows.append(len(a_vectors))
        return lane_matmul(a_vectors, *arguments)

    monkeypatch.setattr("vsq_accel.golden.kernels.lane.lane_matmul", lane_matmul_spy)
    result = vsq_matmul(a, b_t, config)
    assert kernel_rows == [1] and result[4, 1] == config.acc_max
    assert np.array_equal(result, reference_matmul(a, b_t, config))
    assert separable(config) and not separable(CONFIGS["int4-vsq8"])
    assert separable(CONFIGS["int4-vsq8-exact-scale-product"])


def test_blas_only_where_float_sums_are_exact():
    """Integers and sums below 2^24 are exact in float32, below 2^53 in float64."""
    assert blas_dtype((1 << 24) - 1) is np.float32
    assert blas_dtype(1 << 24) is np.float64
    assert blas_dtype((1 << 53) - 1) is np.float64
    assert blas_dtype(1 << 53) is None


@pytest.mark.parametrize("change, message", [
    (lambda a: a.values.__setitem__((0, 0), 8), r"A values must lie in -8\.\.7, found"),
    (lambda a: a.scales.__setitem__((0, 0), 256), r"A scales must lie in 0\.\.255"),
])
def test_out_of_range_operands_are_named(change, message):
    config = CONFIGS["int4-vsq8"]
    rng = np.random.default_rng(SEED)
    a, b_t = random_rows(rng, 2, 2, config), random_rows(rng, 2, 2, config)
    change(a)
    with pytest.raises(ValueError, match=message):
        vsq_matmul(a, b_t, config)


def test_bad_arguments_are_named():
    """Raw arrays, an `initial` that is not M x N integers within the accumulator's
    range, and values that are not integers are refused, not truncated."""
    config = CONFIGS["int4-vsq8"]
    a = random_rows(np.random.default_rng(SEED), 2, 2, config)
    cases = [
        ((a.values, a), {}, TypeError, r"A must be a QuantizedRows, not ndarray"),
        ((a, a), {"initial": np.full((2, 2), -31128.0)}, TypeError,
         r"initial must be an integer numpy array, not float64"),
        ((a, a), {"initial": np.zeros((1, 2), np.int64)}, ValueError,
         r"initial has shape \(1, 2\); it must be \(2, 2\)"),
        ((a, a), {"initial": np.full((2, 2), 1 << 23)}, ValueError,
         r"initial must lie in -8388608\.\.8388607"),
        ((dataclasses.replace(a, values=a.values * np.nan), a), {}, TypeError,
         r"A values must be an integer numpy array, not float64"),
    ]
    for arguments, keywords, error, message in cases:
        with pytest.raises(error, match=message):
            vsq_matmul(*arguments, config, **keywords)


def test_format_and_shape_mismatches_are_named():
    rng = np.random.default_rng(SEED)
    vsq, int8 = CONFIGS["int4-vsq8"], CONFIGS["int8"]
    a = random_rows(rng, 2, 2, vsq)
    with pytest.raises(ValueError, match="A has per-vector scales but the configuration is"):
        vsq_matmul(a, a, AcceleratorConfig(vector_scales=False))
    with pytest.raises(ValueError, match="cut into 16-element vectors, the configuration"):
        vsq_matmul(a, a, int8)
    with pytest.raises(ValueError, match="reduction lengths differ"):
        vsq_matmul(a, random_rows(rng, 2, 3, vsq), vsq)


@pytest.mark.parametrize("name", ["int4-vsq8", "int8", "int4"])
def test_a_reduction_in_parts_continues_exactly(name, golden_path):
    """Accumulating K in two parts through `initial` gives the bits of one pass, also
    when the first part leaves the accumulators saturated (both arithmetic paths)."""
    config = CONFIGS[name]
    rng = np.random.default_rng(SEED + 4)
    a, b_t = random_rows(rng, 3, 90, config), random_rows(rng, 4, 90, config)
    a.values[0], b_t.values[0] = config.data_min, config.data_min   # saturates
    if config.vector_scales:
        a.scales[0] = b_t.scales[0] = config.scale_max
    whole = vsq_matmul(a, b_t, config)
    assert whole[0, 0] == config.acc_max

    def part(q, vectors):
        size = config.vector_size
        return q.take_columns(vectors.start * size, vectors.stop * size)

    for split in (1, 45, 89):
        first = vsq_matmul(part(a, slice(0, split)), part(b_t, slice(0, split)), config)
        rest = vsq_matmul(part(a, slice(split, 90)), part(b_t, slice(split, 90)), config,
                          initial=first)
        assert np.array_equal(rest, whole)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(name=st.sampled_from(sorted(CONFIGS)), rows=st.integers(1, 4),
       columns=st.integers(1, 4), vectors=st.integers(1, 3), data=st.data())
def test_any_operands_give_the_reference_or_the_documented_error(name, rows, columns,
                                                                  vectors, data):
    """Random shapes and values drawn with the edges (-2^(N-1), 2^(N-1) - 1, scales 0
    and max, accumulators at both limits): the fast matmul equals the scalar reference
    exactly; values past the format's range are refused with the documented error."""
    config = CONFIGS[name]
    edges = st.sampled_from([config.data_min, config.data_max, 0, -1, 1])
    value = st.one_of(edges, st.integers(config.data_min, config.data_max))
    scale = st.one_of(st.sampled_from([0, config.scale_max]), st.integers(0, config.scale_max))

    def operand(count):
        values = np.array(data.draw(st.lists(value, min_size=count * vectors * config.vector_size,
                                             max_size=count * vectors * config.vector_size)),
                          np.int64).reshape(count, -1)
        scales = (np.array(data.draw(st.lists(scale, min_size=count * vectors,
                                              max_size=count * vectors)),
                           np.int64).reshape(count, vectors) if config.vector_scales else None)
        return QuantizedRows(values, scales, np.ones((count, 1)), config.vector_size,
                             values.shape[1])

    a, b_t = operand(rows), operand(columns)
    initial = np.array(data.draw(st.lists(st.sampled_from([config.acc_min, config.acc_max, 0]),
                                          min_size=rows * columns, max_size=rows * columns)),
                       np.int64).reshape(rows, columns)
    reference = reference_matmul(a, b_t, config, initial)
    assert np.array_equal(vsq_matmul(a, b_t, config, initial), reference)
    if data.draw(st.booleans()):
        a.values[0, 0] = config.data_max + 1
        with pytest.raises(ValueError, match=r"A values must lie in"):
            vsq_matmul(a, b_t, config)


def test_threads_follow_golden_threads_or_the_cores_per_test_worker(monkeypatch):
    from vsq_accel.golden.compute import thread_count

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("GOLDEN_THREADS", raising=False)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(cores))
    assert thread_count() == 1
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    assert thread_count() == cores
    monkeypatch.setenv("GOLDEN_THREADS", "1")
    assert thread_count() == 1
    for wrong in ("0", "two", "-1"):
        monkeypatch.setenv("GOLDEN_THREADS", wrong)
        with pytest.raises(ValueError, match="GOLDEN_THREADS=.* must be a whole number"):
            thread_count()
