"""Cycle model of the accelerator, from the dataflow and the configuration.

A matmul (M x K) @ (K x N) on L lanes of V elements visits ceil(M/L) * ceil(N/L) output
tiles, each in ceil(K/V) slices of L cycles (one B vector per cycle); partial tiles and
slices are padded and cost whole cycles. Once per matmul the array fills: the first
slice's L A vectors arrive before the first B vector, and the last column leaves the
array's pipeline (the lane's stages and the accumulate stages) after the last B vector.
The PPU works on the columns as they stream out; a command's results reach their buffer
a drain later (`matmul_drain`, `softmax_drain`), once per command. The softmax unit
takes one beat of P logits per cycle; its first probabilities leave a row's beats plus
`softmax_latency` cycles after the row started, and the rest follow one beat per cycle.
Operands are assumed to come from on-chip buffers at one vector per cycle (off-chip
traffic is not modelled; the operand and output bytes are reported for that). The
array's fill, the softmax latency and the drains are what the RTL shows, and tests hold
the model to the RTL's measured cycles.
"""

import collections
import dataclasses
import math

from vsq_accel.perf.lowering import lower
from vsq_accel.perf.workloads import SoftmaxRows
from vsq_accel.spec.commands import Output
from vsq_accel.spec.precision import format_config
from vsq_accel.spec.timing import (array_latency, ppu_latency, ppu_scale_stages,
                                   ppu_waiting_columns,
                                   requant_element_stages, requant_scale_stages,
                                   row_requantizer_stages, softmax_latency)

__all__ = ["Assumptions", "OpCost", "bits_per_element", "matmul_cycles", "softmax_cycles",
           "column_leaves", "vector_columns", "ppu_exits", "matmul_drain", "softmax_drain",
           "cost_workload"]

# The register a column leaves the array into (before the PPU, or the write into ACC).
COLUMN_REGISTER_CYCLES = 1
# A result's last write into its buffer and the cycle the controller sees the slot idle.
RETIRE_CYCLES = 2
# The gather's bank, which shows a vector (y) to the row writer the cycle after it closes.
GATHER_CYCLES = 1
# The requantizer's bank: from the column that closes it to its readout's start, beyond
# the scale stages (the max's register, the bank seen full); from the readout's last row
# to the group's leaving, beyond the element stages (the read's two registers, the
# group's register).
BANK_TO_READOUT_CYCLES = 2
READOUT_TO_GROUP_CYCLES = 3
# The row requantizer's queue and the exponential writer's hand-over, beyond their
# stages.
ROW_REQUANT_HANDOFF_CYCLES = 4


@dataclasses.dataclass(frozen=True)
class Assumptions:
    """The model's named assumptions.

    overlap_matmuls : a matmul's fill hides behind the previous one (the A buffer can
        preload the next matmul's first slice); False is what the RTL does today.
    softmax_overlapped : the softmax of one head runs while the array computes another
        head's matmuls, so only softmax time beyond the group's attention matmuls counts.
    softmax_latency : cycles from a row's last beat to its first output beat, less one;
        None takes the RTL's (`spec.timing.softmax_latency`).
    clock_mhz : for throughput in inferences per second.
    """

    overlap_matmuls: bool = False
    softmax_overlapped: bool = True
    softmax_latency: int | None = None
    clock_mhz: float = 500.0

    def latency_of_softmax(self, config):
        if self.softmax_latency is not None:
            return self.softmax_latency
        return softmax_latency(config)


@dataclasses.dataclass(frozen=True)
class OpCost:
    """One operation of a workload group, all its repeats and counts included."""

    group: str
    name: str
    macs: int
    cycles: int
    utilization: float
    operand_bytes: float
    output_bytes: float


def matmul_cycles(m, k, n, config, assumptions=Assumptions(), fill=True, format=None):
    """Cycles of one (M x K) @ (K x N) on the array, in `format` (the entries' own if
    None): a slice of a tile is L B transfers, 2L for INT8 in nibble passes (and so is
    the first slice's A load, the fill)."""
    lanes = config.lanes
    passes = _passes(config, format)
    steady = math.ceil(m / lanes) * math.ceil(n / lanes) * math.ceil(k / config.vector_size)
    fill_cycles = lanes * passes + array_latency(config) if fill else 0
    return steady * lanes * passes + fill_cycles


def _passes(config, format):
    return config.entries_per_vector(config.own_format if format is None else format)


def softmax_cycles(rows, length, config, assumptions=Assumptions()):
    """Cycles from a stream of `rows` rows' first beat to their last output beat."""
    beats = math.ceil(length / config.softmax_lanes)
    return rows * beats + beats + assumptions.latency_of_softmax(config)


def column_leaves(m, k, n, config, format=None):
    """The cycle each column leaves the array, counted from the array's last column (so
    0 or less), in order: the tiles leave row of tiles by row of tiles, each tile's L
    columns (the last tile's padding past the n-th included) in the last L transfers of
    its slices, every second cycle with INT8 in nibble passes (a column leaves with its
    low nibbles)."""
    lanes, passes = config.lanes, _passes(config, format)
    tile_cycles = math.ceil(k / config.vector_size) * lanes * passes
    tiles = math.ceil(m / lanes) * math.ceil(n / lanes)
    last = (tiles - 1) * tile_cycles + lanes * passes - 1
    return [tile * tile_cycles + (column + 1) * passes - 1 - last
            for tile in range(tiles) for column in range(lanes)]


def vector_columns(m, n, config):
    """The index (in `column_leaves`) of the column that closes each result vector, in
    order: a row's vector closes at its V-th column, or its row's last (the n-th)."""
    lanes, size = config.lanes, config.vector_size
    across = math.ceil(n / lanes)
    return [(row_tile * across + column // lanes) * lanes + column % lanes
            for row_tile in range(math.ceil(m / lanes))
            for column in (min(end, n) - 1 for end in range(size, n + size, size))]


def ppu_exits(leaves, config):
    """The cycle each column leaves the PPU, from the cycles it leaves the array
    (`column_leaves`): its register, then the PPU's latency. A shared PPU (ppu_share S)
    takes a column's S parts on S cycles in a row once the column ahead has gone in,
    from a queue of `ppu_waiting_columns`; while that queue is full, the array holds,
    and every later column leaves as much later (tiles of fewer than S slices)."""
    share = config.ppu_parts
    if share == 1:
        return [leave + COLUMN_REGISTER_CYCLES + ppu_latency(config) for leave in leaves]
    waiting = ppu_waiting_columns(config)
    finals, held = [], 0            # each column's last part taken; the array's hold
    for index, leave in enumerate(leaves):
        arrive = leave + COLUMN_REGISTER_CYCLES + held
        if index >= waiting and arrive <= finals[index - waiting]:
            held += finals[index - waiting] + 1 - arrive
            arrive = finals[index - waiting] + 1
        first = max(arrive + 1, finals[-1] + 1) if finals else arrive + 1
        finals.append(first + share - 1)
    # the last part's register, the stages, then the output queue's write
    return [final + 1 + ppu_scale_stages(config) + 1 for final in finals]


def matmul_drain(m, k, n, output, config, format=None, out_format=None):
    """Cycles from the array's last output column to the matmul's retirement. Raw
    accumulators go straight into ACC, logits through the PPU into the corner turn. Y
    and operands leave in vector groups: the PPU, then the gather's bank (y) or the
    requantizer (operands: the vector's max and scale, then its bank read a row a cycle
    through the element stages, one bank at a time), then the row writer's L writes, one
    group at a time. A group that closes soon after the one before (a row's short last
    vector) waits for the readout or the writer; the columns past the n-th (the last
    tile's padding) leave the array before the last group is written, and a shared PPU
    is seen idle once they have left it too. Operands in INT8 (`out_format`, in nibble
    passes) are two groups of writes each. Exact while the writer keeps up with the
    array: it writes a group of L entries (2L for INT8) in fewer cycles than the array
    takes to close the next vectors."""
    if output == Output.ACC:
        return COLUMN_REGISTER_CYCLES + RETIRE_CYCLES
    exits = ppu_exits(column_leaves(m, k, n, config, format), config)
    if output == Output.LOGITS:
        return exits[-1] + RETIRE_CYCLES
    lanes, size, value_bits = config.lanes, config.vector_size, config.ppu_input_bits
    closes = [exits[column] for column in vector_columns(m, n, config)]
    if output == Output.Y:
        groups = [close + GATHER_CYCLES for close in closes]
    else:
        groups, readout = [], -math.inf
        for close in closes:
            readout = max(close + requant_scale_stages(config, value_bits)
                          + BANK_TO_READOUT_CYCLES, readout + size)
            groups.append(readout + size + requant_element_stages(config, value_bits)
                          + READOUT_TO_GROUP_CYCLES)
    writes = lanes * (_passes(config, out_format) if output == Output.OPERAND else 1)
    write = -math.inf
    for group in groups:
        write = max(group, write + writes)
    end = write + writes - 1
    if config.ppu_parts > 1:
        end = max(end, exits[-1])
    return end + RETIRE_CYCLES


def softmax_drain(rows, length, config, format=None):
    """Cycles from the softmax unit's last output beat to the SOFTMAX's retirement:
    the row requantizer's stages and the exponential writer, which writes each group of
    vectors (those a beat completes: at every V values of a row, and at its end) one
    entry a cycle, two a vector for INT8 in nibble passes (`format`), one group after
    the other. The beats leave the softmax unit one a cycle, row after row. When the
    writer falls behind (INT8 with P > V / 2), its queue fills and the beats wait, but
    the writer is never starved, so it ends where this count says (measured: 768 cycles
    of waiting beats, the retirement to the cycle)."""
    beats = math.ceil(length / config.softmax_lanes)
    closing = [math.ceil(min(end, length) / config.softmax_lanes) - 1
               for end in range(config.vector_size, length + config.vector_size,
                                config.vector_size)]
    groups = collections.Counter(closing)            # beat of a row -> vectors it closes
    arrive = row_requantizer_stages(config) + ROW_REQUANT_HANDOFF_CYCLES - 1
    passes = _passes(config, format)
    written = -math.inf
    for row in range(rows):
        for beat in sorted(groups):
            written = max(row * beats + beat + arrive, written) + groups[beat] * passes
    return written - (rows * beats - 1)


def bits_per_element(config, format=None):
    """Storage of an operand element in `format` (the entries' own if None): N bits,
    plus an M-bit scale per V elements."""
    operands = config if format is None else format_config(config, format)
    scale = operands.scale_bits / operands.vector_size if operands.vector_scales else 0
    return operands.data_bits + scale


def cost_workload(workload, config, assumptions=Assumptions(), format=None):
    """OpCost of every operation of every group, in order, every matmul in `format`
    (the entries' own if None)."""
    costs = []
    bits = bits_per_element(config, format)
    for group in workload.groups:
        attention_cycles = 0
        softmax_ops = []
        parts = {}                            # operation name -> [macs, cycles, bytes in, out]

        def add(name, macs, cycles, operand_bytes, output_bytes):
            totals = parts.setdefault(name, [0, 0, 0.0, 0.0])
            for index, value in enumerate((macs, cycles, operand_bytes, output_bytes)):
                totals[index] += value

        for op in lower(group.ops, config):
            if isinstance(op, SoftmaxRows):
                softmax_ops.append(op)
                continue
            cycles = op.count * matmul_cycles(op.m, op.k, op.n, config, assumptions,
                                              fill=not assumptions.overlap_matmuls,
                                              format=format)
            if op.attention:
                attention_cycles += cycles
            add(op.name, op.macs, cycles, op.count * (op.m * op.k + op.k * op.n) * bits / 8,
                op.count * op.m * op.n * bits / 8)
        for op in softmax_ops:
            cycles = softmax_cycles(op.rows, op.length, config, assumptions)
            if assumptions.softmax_overlapped:
                # The attention matmuls hide the softmax, each of their cycles once.
                cycles, attention_cycles = (max(0, cycles - attention_cycles),
                                            max(0, attention_cycles - cycles))
            add(op.name, 0, cycles, op.rows * op.length, op.rows * op.length * bits / 8)
        costs += [_cost(group, name, *totals, config) for name, totals in parts.items()]
    return costs


def _cost(group, name, macs, cycles, operand_bytes, output_bytes, config):
    repeat = group.repeat
    total = cycles * repeat
    utilization = macs * repeat / (total * config.macs_per_cycle) if total and macs else 0.0
    return OpCost(group.name, name, macs * repeat, total, utilization,
                  operand_bytes * repeat, output_bytes * repeat)
