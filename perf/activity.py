"""What a command list does, counted: the events the energy model prices
(`perf.energy`), read off each command's fields as the engine runs it.

A MATMUL runs ceil(m / L) x ceil(n / L) tiles of k vectors (two entries each for INT8
in nibble passes): each tile reads L A entries and L B entries a vector, and each B
entry is one pass of all L lanes (padding included: its lanes are clocked too). The PPU
takes each tile's L columns of L lanes; the requantizer makes every lane's vectors, a
scale each; every result entry the writers keep is one buffer write. A SOFTMAX runs
loops 1 and 2 over its rows' beats of P logits, one reciprocal a row, and the row
requantizer and the exponential writer make its entries. A LOAD or STORE moves its
entries over the host's stream, each in whole beats.

The RTL's testbench counts the same events where the engine shows them (the operand
feeders' transfers, the PPU's columns, the softmax's beats, every buffer's writes, the
host's beats) and asserts they are these (`sim.accelerator_harness`).
"""

import collections
import functools
import math

from vsq_accel.perf.lowering import encoder_programs
from vsq_accel.perf.workloads import EncoderLayer, Matmul
from vsq_accel.spec.commands import Buffer, Load, Output, Softmax, Store
from vsq_accel.spec.commands import Matmul as MatmulCommand
from vsq_accel.spec.host_interface import host_beats

__all__ = ["command_activity", "program_activity", "workload_activity"]


def command_activity(command, config):
    """A Counter of the events of one command (see the module's docstring)."""
    events = collections.Counter()
    lanes, size = config.lanes, config.vector_size
    if isinstance(command, MatmulCommand):
        format = config.supported_formats[command.format]
        passes = config.entries_per_vector(format)
        row_tiles = math.ceil(command.m / lanes)
        tiles = row_tiles * math.ceil(command.n / lanes)
        entries = tiles * command.k * passes * lanes
        events[f"lane_passes.{format}"] += entries * lanes
        events[f"accumulations.{format}"] += entries * lanes // passes
        events["feeds.LEFT"] += entries
        events["feeds.RIGHT"] += entries
        if command.accumulate:
            events["reads.ACC"] += command.n
        if command.row_scale or command.rescale:
            events["reads.STATE"] += command.m
        if command.output == Output.ACC:
            events["writes.ACC"] += command.n
            return events
        columns = command.m if command.per_row else command.n
        events["reads.PARAMS"] += columns
        events["ppu_columns"] += tiles * lanes
        if command.row_scale:
            events["row_scaled_columns"] += tiles * lanes
        vectors = math.ceil(command.n / size)
        if command.output == Output.LOGITS:
            events["writes.SCORES"] += command.m
        elif command.output == Output.Y:
            events["writes.OUTPUT"] += command.m * vectors
        else:
            out_format = config.supported_formats[command.out_format]
            events[f"requant_vectors.{out_format}"] += row_tiles * lanes * vectors
            events[f"writes.{Buffer(command.dest).name}"] += (
                command.m * vectors * config.entries_per_vector(out_format))
    elif isinstance(command, Softmax):
        format = config.supported_formats[command.format]
        events["softmax_beats"] += command.rows * math.ceil(command.length
                                                            / config.softmax_lanes)
        events["softmax_rows"] += command.rows
        events["reads.SCORES"] += command.rows
        events["writes.STATE"] += command.rows
        vectors = command.rows * math.ceil(command.length / size)
        events[f"exp_vectors.{format}"] += vectors
        events[f"writes.{Buffer(command.dest).name}"] += (
            vectors * config.entries_per_vector(format))
    elif isinstance(command, (Load, Store)):
        events["host_beats"] += command.count * host_beats(config, command.buffer)
        kind = "writes" if isinstance(command, Load) else "reads"
        events[f"{kind}.{Buffer(command.buffer).name}"] += command.count
    return events


def program_activity(commands, config, times=1):
    """The events of a command list, `times` over."""
    total = collections.Counter()
    for command in commands:
        total.update(command_activity(command, config))
    return collections.Counter({event: count * times for event, count in total.items()})


def workload_activity(workload, config, format=None):
    """The events of a workload's inference, each matmul in `format` (the entries' own if
    None): encoder layers through the compiler's command lists, as `perf.lowering`
    compiles them (`encoder_programs`); a workload's own matmuls and softmax rows as
    single commands."""
    total = collections.Counter()
    format = format or config.own_format
    for group in workload.groups:
        for op in group.ops:
            if isinstance(op, EncoderLayer):
                events = _encoder_activity(op, config, format)
            elif isinstance(op, Matmul):
                code = config.format_code(format)
                events = program_activity([MatmulCommand(
                    m=op.m, n=op.n, k=math.ceil(op.k / config.vector_size),
                    output=Output.Y, dest=Buffer.OUTPUT, format=code)], config, op.count)
            else:
                events = program_activity([Softmax(rows=op.rows, length=op.length, loop1=1,
                                                   loop2=1, first=1)], config)
            total.update({event: count * group.repeat for event, count in events.items()})
    return total


@functools.cache
def _encoder_activity(layer, config, format):
    total = collections.Counter()
    for program, times in encoder_programs(layer, config, format):
        total.update(program_activity(program.commands, config, times))
    return total
