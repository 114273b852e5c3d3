"""The PPU's blocks: the scaling stage builds the pipeline the spec counts; the row
requantizer on Amaranth's simulator, for the widths P and vector sizes V the cocotb
configurations do not reach: P dividing V, V dividing P and neither (a row's last beat
then completes more vectors than a group holds), with random stalls on both sides;
every row compared with the golden `requantize_rows`."""

import gc
import random
import warnings

import numpy as np
import pytest
from amaranth.hdl import Fragment, UnusedElaboratable
from amaranth.sim import Simulator

from vsq_accel.golden.ppu_params import exponential_requantization
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.ppu.row_requantizer import RowRequantizer
from vsq_accel.hw.ppu.scale import PpuScale
from vsq_accel.sim.row_requantizer_harness import check_groups, exponential_rows, row_beats
from vsq_accel.spec import ports
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.timing import StageCountError, ppu_scale_stages

SEED = 20261201


def simulate(config, rows, params, stall, seed):
    """Send the rows' beats and take the output groups, both sides idling with
    probability `stall`; returns the groups as Const views."""
    dut = RowRequantizer(config)
    beat_layout = layout(ports.row_beat(config))
    beats = [beat_layout.const(beat) for beat in row_beats(rows, params, config)]
    groups = []
    pick = random.Random(seed)

    async def source(ctx):
        for beat in beats:
            while pick.random() < stall:
                await ctx.tick()
            ctx.set(dut.i.payload, beat)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        ended = 0
        for _ in range(40 * (len(beats) + 20)):
            ready = pick.random() >= stall
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if ready and valid:
                groups.append(payload)
                ended += groups[-1].row_end
                if ended == len(rows):
                    return
        raise AssertionError("the rows did not all come out")

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(source)
    simulator.add_testbench(sink)
    simulator.run()
    return groups


@pytest.mark.parametrize("width, size, data_bits, scales", [
    (5, 8, 8, True),       # neither divides: a short last vector leaves a cycle later
    (14, 8, 4, True),      # P > V, neither divides: up to two vectors a beat, three at a row's end
    (16, 8, 4, True),      # V divides P
    (4, 16, 8, False),     # P divides V, plain INT8
    (1, 8, 4, True),       # one value a beat
])
def test_rows_equal_golden(width, size, data_bits, scales):
    config = AcceleratorConfig(lanes=2, softmax_width=width, vector_size=size,
                               data_bits=data_bits, vector_scales=scales, scale_bits=5,
                               scale_product_bits=5, softmax_max_row=80)
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    lengths = [1, size, width, size + 1, width + 1, 2 * size - 1, 3 * width, 37, 80]
    rows = exponential_rows(rng, lengths, config)
    params, _ = exponential_requantization(config)
    for stall in (0.0, 0.4):
        check_groups(simulate(config, rows, params, stall, SEED), rows, params, config)


@pytest.mark.parametrize("acc_bits, recip_bits, mult_bits", [
    (24, 10, 16), (24, 16, 16), (31, 18, 20), (32, 24, 24), (40, 24, 24), (28, 12, 15),
    (34, 17, 17), (35, 18, 24)])
def test_the_ppu_builds_the_pipeline_the_spec_counts(acc_bits, recip_bits, mult_bits):
    """The PPU sizes its output queue from the stages it builds and checks them against
    `spec.timing.ppu_scale_stages`, which the performance model and the tile engine use
    (a deeper pipeline than counted stalled the stage: acc 31 x r 18, multipliers of 20
    bits)."""
    config = AcceleratorConfig(lanes=1, acc_bits=acc_bits, softmax_recip_bits=recip_bits,
                               ppu_bits=min(mult_bits, 24), ppu_mult_bits=mult_bits)
    Fragment.get(PpuScale(config), None)


def test_a_pipeline_the_spec_does_not_count_is_refused(monkeypatch):
    """The elaboration-time check is live: a spec that counts one stage more than the
    PPU builds stops the elaboration, naming the block."""
    from vsq_accel.hw.ppu import scale

    config = AcceleratorConfig(lanes=1)
    monkeypatch.setattr(scale, "ppu_scale_stages", lambda config: ppu_scale_stages(config) + 1)
    with warnings.catch_warnings():      # the stopped elaboration leaves its parts unused
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(StageCountError, match="PpuScale built"):
            Fragment.get(PpuScale(config), None)
        gc.collect()
