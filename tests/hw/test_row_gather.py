"""The row gather on Amaranth's simulator: columns of y into OUTPUT entries, with random
stalls on both sides, against the entries counted here from the columns (a vector's
positions past its last column 0). Rows of every length modulo V, a length-1 vector,
the array's padding columns (not kept) between them, and the extreme values of y."""

import random

import pytest
from amaranth.sim import Simulator

from vsq_accel.hw.engine.row_gather import RowGather
from vsq_accel.spec.config import AcceleratorConfig

SEED = 20261206


def _columns(config, row_lengths, pick):
    """(y, keep, vector_end) per column: each row's columns, a vector closed at every
    V-th kept column and at the row's last, padding columns strewn between."""
    low, high = -(1 << (config.ppu_bits - 1)), (1 << (config.ppu_bits - 1)) - 1
    columns = []
    for length in row_lengths:
        for index in range(length):
            while pick.random() < 0.2:
                columns.append(([pick.randint(low, high) for _ in range(config.lanes)], 0, 0))
            y = [pick.choice((low, high, 0, pick.randint(low, high)))
                 for _ in range(config.lanes)]
            closes = (index + 1) % config.vector_size == 0 or index == length - 1
            columns.append((y, 1, int(closes)))
    return columns


def _expected(config, columns):
    """Per closed vector, each lane's V elements (0 past the vector's last column)."""
    entries, vector = [], []
    for y, keep, closes in columns:
        if not keep:
            continue
        vector.append(y)
        if closes:
            padded = vector + [[0] * config.lanes] * (config.vector_size - len(vector))
            entries.append([[column[lane] for column in padded]
                            for lane in range(config.lanes)])
            vector = []
    return entries


def _simulate(config, columns, stall, seed):
    dut = RowGather(config)
    pick = random.Random(seed)
    expected = _expected(config, columns)
    entries = []

    async def source(ctx):
        for y, keep, closes in columns:
            while pick.random() < stall:
                await ctx.tick()
            ctx.set(dut.i.payload.y, y)
            ctx.set(dut.i.payload.place.keep, keep)
            ctx.set(dut.i.payload.place.vector_end, closes)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        for _ in range(20 * (len(columns) + 20)):
            ready = pick.random() >= stall
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if ready and valid:
                entries.append([[payload[lane][position] for position
                                 in range(config.vector_size)]
                                for lane in range(config.lanes)])
                if len(entries) == len(expected):
                    break
        else:
            raise AssertionError(f"{len(entries)} of {len(expected)} entries came out")
        ctx.set(dut.o.ready, 1)
        for _ in range(2 * config.vector_size):
            _, _, valid = await ctx.tick().sample(dut.o.valid)
            assert not valid, f"an entry past the {len(expected)} expected came out"

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(source)
    simulator.add_testbench(sink)
    simulator.run()
    return entries, expected


@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_entries_equal_the_columns_with_stalls_on_both_sides(stall):
    """Nothing lost, duplicated or reordered; a short vector's tail is 0 even after a
    full vector took the same bank."""
    print(f"seed {SEED}")
    config = AcceleratorConfig(lanes=3, vector_size=8)
    pick = random.Random(SEED)
    lengths = [8, 1, 9, 15, 16, 2, 7, 1, 1, 12] + [pick.randint(1, 20) for _ in range(10)]
    entries, expected = _simulate(config, _columns(config, lengths, pick), stall, SEED)
    assert entries == expected
