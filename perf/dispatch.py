"""The tile engine's controller as a cycle model: when each command starts, given how
long each command takes from its dispatch to its retirement.

The controller (`hw.engine.controller`) has three slots (`spec.host_interface.Slot`):
the array's (MATMUL), the host's (LOAD, STORE: the data streams) and the softmax unit's
(SOFTMAX). It dispatches the commands in order; before each it spends `DECODE_CYCLES`
(fetch, check, decide; `spec.timing`), overlapped with the commands still running. A
command starts once the previous command of its slot has retired, and, when its `wait`
bit is set, once every earlier command has; END waits for every command. Loading the
next weights therefore runs beside the current matmul when the compiler leaves their
regions apart, and the array computes the next block of logits while the softmax unit
works on this one.
"""

from vsq_accel.perf.model import matmul_cycles, matmul_drain, softmax_cycles, softmax_drain
from vsq_accel.spec.commands import End, Load, Matmul, Softmax, Store
from vsq_accel.spec.host_interface import Slot, command_lists, host_beats, slot_of
from vsq_accel.spec.timing import (COMMAND_ENTRIES, DECODE_CYCLES, HOST_COMMAND_CYCLES,
                                   STORE_READ_CYCLES)

__all__ = ["Schedule", "schedule", "program_cycles", "model_spans"]


class Schedule:
    """`dispatched[i]`, `retired[i]`: command i's cycles, counted from the first cycle
    the engine is busy; `cycles`: what the engine's cycle counter reads at the end."""

    def __init__(self, dispatched, retired, cycles):
        self.dispatched, self.retired, self.cycles = dispatched, retired, cycles


def schedule(commands, spans):
    """The Schedule of a command list (END last) whose command i takes `spans[i]`
    cycles from dispatch to retirement."""
    dispatched, retired = [], []
    last_of_slot = [-1] * len(Slot)      # the retirement of each slot's latest command
    decide = DECODE_CYCLES - 1
    for command, span in zip(commands, spans):
        if isinstance(command, End):
            break
        free = max(last_of_slot) if command.wait else last_of_slot[slot_of(command)]
        start = max(decide, free + 1)
        dispatched.append(start)
        retired.append(start + span)
        last_of_slot[slot_of(command)] = start + span
        decide = start + DECODE_CYCLES
    stop = max(decide, max(last_of_slot) + 1)
    return Schedule(dispatched, retired, stop + 1)


def program_cycles(commands, spans, list_entries=COMMAND_ENTRIES):
    """The cycles the engine counts for a program (END last) whose command i takes
    `spans[i]`, run as its command lists (`command_lists`, of at most `list_entries`
    commands): the lists' totals summed."""
    return sum(schedule(part, list(spans[first:first + len(part) - 1]) + [0]).cycles
               for first, part in command_lists(commands, list_entries))


def model_spans(commands, config):
    """Each command's cycles from dispatch to retirement as the performance model
    predicts them: the array's and the softmax's cycles and their drains (`perf.model`),
    a host transfer at one beat a cycle (a STORE reads its first entry first). Not
    counted: a LOAD's entry, or a STORE's read of LEFT, RIGHT or PARAMS, waits while a
    command beside it writes into the same buffer (they share its port)."""
    spans = []
    for command in commands:
        if isinstance(command, Matmul):
            shape = command.m, command.k * config.vector_size, command.n
            format, out_format = (config.supported_formats[code]
                                  for code in (command.format, command.out_format))
            spans.append(matmul_cycles(*shape, config, format=format)
                         + matmul_drain(*shape, command.output, config, format, out_format))
        elif isinstance(command, Softmax):
            spans.append(softmax_cycles(command.rows, command.length, config)
                         + softmax_drain(command.rows, command.length, config,
                                         config.supported_formats[command.format]))
        elif isinstance(command, (Load, Store)):
            spans.append(command.count * host_beats(config, command.buffer)
                         + HOST_COMMAND_CYCLES
                         + (STORE_READ_CYCLES if isinstance(command, Store) else 0))
        else:
            spans.append(0)
    return spans
