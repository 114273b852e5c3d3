"""The MAC array's blocks: elaboration-time facts, and the lane and the operand buffer on
Amaranth's simulator."""

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.lib import data
from amaranth.sim import Simulator

from vsq_accel.golden.vsq_matmul import vector_products
from vsq_accel.hw.array.lane_operand_buffer import LaneOperandBuffer
from vsq_accel.hw.array.mac_array import VsqMacArray
from vsq_accel.hw.array.vector_mac import VectorMacLane
from vsq_accel.spec.config import AcceleratorConfig

SEED = 5


@pytest.mark.parametrize("config, a_bits, b_bits, c_bits", [
    (AcceleratorConfig(), 16 * 4 + 8, 16 * 4 + 8 + 1 + 16 * 24, 16 * 24),
    (AcceleratorConfig(lanes=4, data_bits=8, vector_scales=False, vector_size=32),
     32 * 8, 32 * 8 + 1 + 4 * 24, 4 * 24),
])
def test_port_widths(config, a_bits, b_bits, c_bits):
    """B carries `last` and a column of starting accumulators beside its vector."""
    array = VsqMacArray(config)
    Fragment.get(array, None)        # it elaborates
    assert data.Layout.cast(array.a.payload.shape()).size == a_bits
    assert data.Layout.cast(array.b.payload.shape()).size == b_bits
    assert data.Layout.cast(array.c.payload.shape()).size == c_bits


@pytest.mark.parametrize("config", [
    AcceleratorConfig(lanes=1),
    AcceleratorConfig(lanes=1, lane_stages=3),
    AcceleratorConfig(lanes=1, lane_stages=2),
    AcceleratorConfig(lanes=1, data_bits=8, vector_scales=False),
    AcceleratorConfig(lanes=1, scale_product_bits=5, acc_bits=20),
    AcceleratorConfig(lanes=1, scale_bits=3, scale_product_bits=1),
    AcceleratorConfig(lanes=1, data_bits=8, vector_scales=False, lane_stages=2),
])
def test_lane_product_equals_golden(config):
    """Random vectors, the extremes included, through the lane's two stages."""
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    count = 64
    a = rng.integers(config.data_min, config.data_max + 1, size=(count, config.vector_size))
    b = rng.integers(config.data_min, config.data_max + 1, size=(count, config.vector_size))
    a[0], b[0] = config.data_min, config.data_min
    a[1], b[1] = config.data_max, config.data_min
    sa = rng.integers(0, config.scale_max + 1, size=count)
    sb = rng.integers(0, config.scale_max + 1, size=count)
    sa[:2] = sb[:2] = config.scale_max
    if not config.vector_scales:
        sa = sb = None
    every_pair = vector_products(a[:, None], None if sa is None else sa[:, None],
                                 b[:, None], None if sb is None else sb[:, None], config)
    expected = np.diagonal(every_pair[0]).tolist()
    lane = VectorMacLane(config)
    products = []

    async def bench(ctx):
        for i in range(count + config.lane_stages):
            if i < count:
                ctx.set(lane.a.data, a[i].tolist())
                ctx.set(lane.b.data, b[i].tolist())
                if config.vector_scales:
                    ctx.set(lane.a.scale, int(sa[i]))
                    ctx.set(lane.b.scale, int(sb[i]))
            ctx.set(lane.en, 1)
            await ctx.tick()
            products.append(ctx.get(lane.product))

    simulator = Simulator(lane)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    first = config.lane_stages - 1          # the product of input i after tick i + stages
    assert products[first:first + count] == expected


def test_operand_buffer_swaps_without_a_bubble():
    """A vectors arriving every cycle: the bank turns active the cycle the last arrives,
    the lanes see it with the next B vector, and releasing it every L cycles keeps it
    active throughout."""
    config = AcceleratorConfig(lanes=3)
    buffer = LaneOperandBuffer(config)
    seen = []

    async def bench(ctx):
        ctx.set(buffer.a.valid, 1)
        ctx.set(buffer.take, 1)
        for cycle in range(12):
            ctx.set(buffer.a.payload.vector.scale, cycle)
            ctx.set(buffer.slice_done, cycle >= 3 and cycle % 3 == 2)
            await ctx.tick()
            seen.append((ctx.get(buffer.active_valid),
                         [lane.scale for lane in ctx.get(buffer.active)]))

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    assert seen[2][0] == 1 and seen[3][1] == [0, 1, 2]
    assert all(valid for valid, _ in seen[2:])
    assert seen[6][1] == [3, 4, 5] and seen[9][1] == [6, 7, 8]


def test_operand_buffer_keeps_the_bank_the_lanes_still_need():
    """After the swap, no A vector lands in the bank the registered B vector uses until
    the lanes take it: a stalled array sees its old A vectors."""
    config = AcceleratorConfig(lanes=2)
    buffer = LaneOperandBuffer(config)
    seen = []

    async def bench(ctx):
        ctx.set(buffer.a.valid, 1)
        for cycle in range(10):
            ctx.set(buffer.a.payload.vector.scale, cycle)
            ctx.set(buffer.take, cycle not in (4, 5, 6))       # the output stalls
            ctx.set(buffer.slice_done, cycle == 3)
            ready = ctx.get(buffer.a.ready)
            await ctx.tick()
            seen.append((ready, [lane.scale for lane in ctx.get(buffer.active)]))

    simulator = Simulator(buffer)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    # bank 1 fills with 0, 1 and is active from cycle 2; 2, 3 fill bank 0, and the last
    # B vector of bank 1 (cycle 3) is registered and waits for the lanes until cycle 7
    assert [ready for ready, _ in seen] == [1, 1, 1, 1, 0, 0, 0, 1, 1, 0]
    assert all(active == [0, 1] for _, active in seen[2:7])
    assert seen[7][1] == [2, 3]
