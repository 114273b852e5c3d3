"""Amaranth-simulator tests of the softmax unit's pieces: loop 1's integer max and sum
(which the probabilities hide in their rounding) and the pipelined reciprocal."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from vsq_accel.golden.softmax import softmax_rows
from vsq_accel.hw.softmax.reciprocal import ReciprocalPipeline
from vsq_accel.hw.softmax.row_sum import SoftmaxRowSum
from vsq_accel.spec.config import AcceleratorConfig

SEED = 29


def simulate(component, source, payloads, sink, count, idle=0.3, seed=SEED):
    """Offer payloads on `source` and collect `count` payloads from `sink`, both with
    random idle cycles (the sink's only if it can stall); returns what came out."""
    rng = np.random.default_rng(seed)
    sink_stalls = not sink.signature.always_ready
    received = []

    async def send(ctx):
        for payload in payloads:
            while rng.random() < idle:
                ctx.set(source.valid, 0)
                await ctx.tick()
            ctx.set(source.payload, payload)
            ctx.set(source.valid, 1)
            await ctx.tick().until(source.ready)
        ctx.set(source.valid, 0)

    async def receive(ctx):
        while len(received) < count:
            ready = not sink_stalls or rng.random() >= idle
            if sink_stalls:
                ctx.set(sink.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(sink.valid, sink.payload)
            if ready and valid:
                received.append(payload)

    simulator = Simulator(component)
    simulator.add_clock(1e-8)
    simulator.add_testbench(send)
    simulator.add_testbench(receive)
    simulator.run()
    return received


def test_row_sum_max_and_sum_equal_golden():
    """Rows whose max rises every beat (by a few units, and across the whole range),
    masked ones, single beats: (m, d) exactly."""
    config = AcceleratorConfig(lanes=4)
    low, high = config.softmax_logit_min, config.softmax_logit_max
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    rows = []
    for length in (1, 4, 5, 37, 64):
        for step in (5, (high - low) // length):
            rows.append((np.clip(low + step * np.arange(length)
                                 + rng.integers(-6, 7, length), low, high),
                         np.ones(length, bool)))
        rows.append((rng.integers(low, high + 1, length), rng.random(length) < 0.6))
    payloads, expected = [], []
    for logits, keep in rows:
        golden = softmax_rows(logits[None], keep[None], config)
        expected.append((int(golden.row_sum[0]), int(golden.row_max[0])))
        beats = -(-len(logits) // 4)
        for beat in range(beats):
            part = slice(4 * beat, 4 * beat + 4)
            x = np.zeros(4, np.int64)
            k = np.zeros(4, bool)
            x[:len(logits[part])], k[:len(keep[part])] = logits[part], keep[part]
            end = beat == beats - 1
            payloads.append({"beat": {"beat": {
                "logits": x.tolist(), "keep": int(sum(int(b) << i for i, b in enumerate(k))),
                "last": end}, "piece_end": end}, "overflow": 0})
    row_sum = SoftmaxRowSum(config)
    got = simulate(row_sum, row_sum.i, payloads, row_sum.o, len(rows))
    assert [(out.divisor, out.tag.row_max) for out in got] == expected
    assert not any(out.tag.error for out in got)


def test_reciprocal_is_floor_of_the_division():
    k, divisor_bits, quotient_bits = 29, 25, 16
    rng = np.random.default_rng(SEED + 1)
    divisors = [0, 8193, 8192 + 3, 16384, 24576, (1 << 25) - 1]
    divisors += rng.integers(8193, 1 << 25, 60).tolist()
    divider = ReciprocalPipeline(k, divisor_bits, quotient_bits, 8)
    payloads = [{"divisor": d, "tag": index % 256} for index, d in enumerate(divisors)]
    got = simulate(divider, divider.i, payloads, divider.o, len(divisors))
    assert [(out.quotient, out.tag) for out in got] == [
        ((1 << k) // d if d else 0, index % 256) for index, d in enumerate(divisors)]


def _exp2_pairs(config, logit_step):
    """(logit, max) pairs: every logit_step-th logit (and both ends of the range) against
    every integer max from its ceiling up to where the term is 0 for sure, and the
    largest max."""
    frac_bits = config.softmax_frac_bits
    low, high = config.softmax_logit_min, config.softmax_logit_max
    top = -((-high) >> frac_bits)
    reach = config.softmax_exp_bits + 4
    logits = sorted(set(range(low, high + 1, logit_step)) | {low, high})
    return [(x, m) for x in logits
            for m in sorted(set(range(-((-x) >> frac_bits), top + 1)[:reach]) | {top})]


@pytest.mark.parametrize("values, logit_step", [
    ({"softmax_logit_bits": 8}, 1), ({"softmax_logit_bits": 8, "softmax_frac_bits": 0}, 1),
    ({}, 5), ({"softmax_logit_bits": 16, "softmax_frac_bits": 4}, 97)])
def test_exp2_term_for_every_logit_and_max(values, logit_step):
    """The 2^x table and shift against the golden term: every 8-bit logit (F = 2 and
    F = 0) against every integer max from its ceiling up to where the term vanishes and
    the largest; wider logits strided over their range."""
    from amaranth import Module, Signal, signed, unsigned

    from vsq_accel.golden.softmax import _exp2_terms
    from vsq_accel.hw.softmax.exp2 import exp2_distance, exp2_of_parts, exp2_parts
    from vsq_accel.spec.tables import exp2_table

    config = AcceleratorConfig(**values)
    logit = Signal(signed(config.softmax_logit_bits))
    row_max = Signal(signed(config.softmax_logit_bits))
    term = Signal(unsigned(config.softmax_exp_bits + 1))
    module = Module()
    parts = exp2_parts(exp2_distance(logit, row_max, config), config)
    module.d.comb += term.eq(exp2_of_parts(*parts))
    pairs = _exp2_pairs(config, logit_step)
    xs, ms = np.array(pairs).T
    expected = _exp2_terms(xs, ms, config, exp2_table(config)).tolist()
    got = []

    async def bench(ctx):
        for x, m in pairs:
            ctx.set(logit, x)
            ctx.set(row_max, m)
            got.append(ctx.get(term))

    simulator = Simulator(module)
    simulator.add_testbench(bench)
    simulator.run()
    assert got == expected
