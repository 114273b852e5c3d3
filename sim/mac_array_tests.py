"""cocotb tests of the emitted VSQ MAC array; expected values come from the golden model.

Every random test draws from a fixed seed, logged at its start (SEED overrides the base).
"""

import os

import cocotb
import numpy as np

from vsq_accel.golden.array_schedule import array_streams, joined
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.vsq_matmul import accumulate_saturating, vector_products
from vsq_accel.perf.model import matmul_cycles
from vsq_accel.sim.mac_array_harness import MacArrayHarness, integer_operands, random_operands
from vsq_accel.sim.streams import CLOCK_NS, Idle
from vsq_accel.sim.testbench import config_from_env
from vsq_accel.spec.ports import OperandPart
from vsq_accel.spec.precision import format_config

BASE_SEED = int(os.environ.get("SEED", "20261126"))


def _rng(dut, test_seed):
    seed = BASE_SEED + test_seed
    dut._log.info(f"seed {seed} (SEED={BASE_SEED})")
    return np.random.default_rng(seed), seed


async def _harness(dut):
    harness = MacArrayHarness(dut, config_from_env())
    await harness.reset()
    return harness


@cocotb.test()
async def float_gemms_back_to_back(dut):
    """Float matrices through the golden quantizer, shapes from 1x1x1 to ones that are not
    multiples of L or V; with nothing stalling, one B vector enters every cycle and the
    cycles are exactly the performance model's."""
    harness = await _harness(dut)
    config = harness.config
    rng, seed = _rng(dut, 1)
    lanes, size = config.lanes, config.vector_size
    for m, k, n in [(1, 1, 1), (2 * lanes + 1, 3 * size + 5, lanes + 3), (lanes, size, lanes)]:
        a = quantize(rng.normal(size=(m, k)), config)
        b_t = quantize(rng.standard_t(3, size=(k, n)).T, config, per_row=True)
        run = await harness.run_gemm(a, b_t, seed=seed)
        gaps = np.diff(run.b_times) / CLOCK_NS
        assert np.all(gaps == 1), f"B vectors were not taken every cycle: gaps {set(gaps)}"
        predicted = matmul_cycles(m, k, n, config)
        assert run.cycles == predicted, \
            f"{m}x{k}x{n}: {run.cycles} cycles, the performance model predicts {predicted}"


@cocotb.test()
async def random_stalls_on_every_interface(dut):
    """Random operands over the whole range with random idle cycles on A, B and C, alone
    and together: nothing lost, duplicated or reordered."""
    harness = await _harness(dut)
    config = harness.config
    rng, seed = _rng(dut, 2)
    lanes, size = config.lanes, config.vector_size
    for index, idle in enumerate([Idle(a=0.5), Idle(b=0.5), Idle(c=0.6),
                                  Idle(0.3, 0.3, 0.3), Idle(0.1, 0.7, 0.2)]):
        m, n = lanes + 1 + index, 2 * lanes - 1
        k = int(rng.integers(1, 5)) * size
        a = random_operands(rng, m, k, config)
        b_t = random_operands(rng, n, k, config)
        await harness.run_gemm(a, b_t, idle, seed=seed + 10 * index)
    # One slice per tile and one tile column: every tile brings new A vectors, and its
    # columns leave while the next tile's load, so output stalls meet bank swaps.
    a = random_operands(rng, 8 * lanes - 1, size, config)
    b_t = random_operands(rng, lanes, size, config)
    await harness.run_gemm(a, b_t, Idle(c=0.7), seed=seed + 100)


@cocotb.test()
async def corner_operands(dut):
    """Rows of all -2^(N-1), all maximum, zeros and alternating signs against every
    column kind, with scales 0, 1 and 2^M - 1; K = V (one slice) and K = 2V."""
    harness = await _harness(dut)
    config = harness.config
    size = config.vector_size
    low, high = config.data_min, config.data_max
    patterns = [np.full(size, low), np.full(size, high), np.zeros(size, np.int64),
                np.resize([low, high], size), np.resize([high, low], size)]
    scale_choices = [config.scale_max, 0, 1] if config.vector_scales else [None]
    for slices in (1, 2):
        rows, scales = [], []
        for pattern in patterns:
            for scale in scale_choices:
                rows.append(np.tile(pattern, slices))
                scales.append([scale] * slices)
        scales = None if scale_choices == [None] else scales
        operands = integer_operands(rows, scales, config)
        await harness.run_gemm(operands, operands, Idle(0.2, 0.2, 0.2), seed=slices)


@cocotb.test()
async def accumulator_saturates_both_ways(dut):
    """Reductions of maximal products from accumulators preloaded one slice short of
    their limits: they saturate high and low, stay saturated, and come back, exactly in
    the golden model's order. Preloading keeps the reduction a few slices long at any
    acc_bits (summing from 0 would take 2^(acc_bits - 1) / (V 2^(2N-2)) slices)."""
    harness = await _harness(dut)
    config = harness.config
    rng, seed = _rng(dut, 4)
    size, rows = config.vector_size, max(2, config.lanes)
    weakest_extreme = min(-config.dot_range[0], config.dot_range[1]) * config.scale_product_max
    half = 3
    low, high = config.data_min, config.data_max
    # A row 0 is all -2^(N-1), row 1 all maximum; B column 0 flips sign half way through
    # the reduction, column 1 does not: rows x columns saturate and return, or stay.
    a_values = random_operands(rng, rows, 2 * half * size, config).values
    a_values[0], a_values[1] = low, high
    b_values = random_operands(rng, rows, 2 * half * size, config).values
    b_values[0, :half * size], b_values[0, half * size:] = low, high
    b_values[1] = low
    scales = np.full((rows, 2 * half), config.scale_max) if config.vector_scales else None
    a = integer_operands(a_values, scales, config)
    b_t = integer_operands(b_values, scales, config)
    initial = rng.integers(config.acc_min, config.acc_max + 1, (rows, rows))
    initial[0], initial[1] = config.acc_max - weakest_extreme, config.acc_min + weakest_extreme

    terms = vector_products(a.vectors, a.scales, b_t.vectors, b_t.scales, config)
    plain = terms.sum(axis=0) + initial
    saturated = accumulate_saturating(terms, config.acc_bits, initial)
    assert saturated[0, 1] == config.acc_max and saturated[1, 1] == config.acc_min
    assert saturated[0, 0] != plain[0, 0] and saturated[1, 0] != plain[1, 0], \
        "the stimulus must make saturation change the result"
    await harness.run_gemm(a, b_t, Idle(0.1, 0.1, 0.3), seed=seed, initial=initial)


@cocotb.test()
async def long_reduction(dut):
    """K = 512 random operands, four tiles, light stalls."""
    harness = await _harness(dut)
    config = harness.config
    rng, seed = _rng(dut, 5)
    a = random_operands(rng, 2 * config.lanes, 512, config)
    b_t = random_operands(rng, 2 * config.lanes, 512, config)
    await harness.run_gemm(a, b_t, Idle(0.05, 0.05, 0.05), seed=seed)


@cocotb.test()
async def continues_from_initial_accumulators(dut):
    """A reduction continued from accumulators (a long row's P V over its next block of
    keys): random starting values over the whole range and the extremes (the most
    negative, the largest, one below it, 0), so that sums saturate from the start;
    tiles that pad rows and columns; random idle cycles on every interface."""
    harness = await _harness(dut)
    config = harness.config
    rng, seed = _rng(dut, 7)
    lanes, size = config.lanes, config.vector_size
    for index, (m, n, slices) in enumerate([(lanes, lanes, 1), (lanes + 1, 2 * lanes - 1, 2),
                                            (1, 3, 3)]):
        a = random_operands(rng, m, slices * size, config)
        b_t = random_operands(rng, n, slices * size, config)
        initial = rng.integers(config.acc_min, config.acc_max + 1, (m, n))
        initial.flat[:4] = [config.acc_min, config.acc_max, config.acc_max - 1, 0][:initial.size]
        await harness.run_gemm(a, b_t, Idle(0.2, 0.2, 0.3), seed=seed + index, initial=initial)



@cocotb.test()
async def every_format_back_to_back(dut):
    """GEMMs in each format the array runs, twice round, one after another on the streams:
    with nothing stalling, a B transfer enters every cycle across every change of format
    (no flush), INT8 in nibble passes taking two; then again with random idle cycles on
    every interface. Operands over each format's whole range, row and column 0 all
    -2^(N-1); starting accumulators over the whole range and its extremes, so that sums
    saturate."""
    harness = await _harness(dut)
    config = harness.config
    rng, seed = _rng(dut, 8)
    lanes, size = config.lanes, config.vector_size
    runs = []
    for format in config.supported_formats * 2:
        operands = format_config(config, format)
        m, n, k = lanes + 1, max(lanes - 1, 1), 2 * size
        a, b_t = (random_operands(rng, rows, k, operands) for rows in (m, n))
        a.values[0], b_t.values[0] = operands.data_min, operands.data_min
        initial = rng.integers(config.acc_min, config.acc_max + 1, (m, n))
        initial.flat[:3] = [config.acc_min, config.acc_max, 0]
        runs.append(array_streams(a, b_t, config, initial, format))
    streams = joined(runs)
    run = await harness.run_streams(streams, seed=seed)
    # Entering INT8 from a 4-bit GEMM, the first slice's 2L A transfers load behind the
    # last 4-bit slice's L B transfers: L cycles that the data requires, and no more.
    expected = np.ones(len(streams.b_values) - 1)
    starts = np.cumsum([len(run_.b_values) for run_ in runs])[:-1]
    for start, before, after in zip(starts, runs, runs[1:]):
        if before.b_parts[-1] == OperandPart.WHOLE and after.b_parts[0] == OperandPart.HIGH:
            expected[start - 1] += lanes
    gaps = np.diff(run.b_times) / CLOCK_NS
    assert np.array_equal(gaps, expected), \
        f"B transfers waited at {np.nonzero(gaps != expected)[0]}: gaps {gaps[gaps != expected]}"
    await harness.run_streams(streams, Idle(0.3, 0.3, 0.3), seed=seed)
