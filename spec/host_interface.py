"""What the host (and a testbench in its place) sees of the tile engine: the control
registers and the command window, the status codes, the slots commands run in, and how
buffer entries travel on the data streams."""

import enum

from vsq_accel.spec.commands import Buffer, End, Load, Softmax, Store, command_bits, entry_bits
from vsq_accel.spec.timing import COMMAND_ENTRIES, HOST_DATA_BITS

__all__ = ["Register", "command_window", "command_word_bits", "control_address_bits",
           "command_lists", "EngineError", "Slot", "slot_of", "HOST_BUFFERS", "host_beats"]


class Register(enum.IntEnum):
    """Byte addresses of the control registers (32 bits each)."""

    CONTROL = 0x00      # write 1 to bit 0: run the command list from command 0
    STATUS = 0x04       # `spec.ports.status`
    CYCLES_LO = 0x08    # cycles from start to stop, low word
    CYCLES_HI = 0x0C    # and high word
    INFO = 0x10         # 32-bit words per command (bits 0..7), commands held (bits 16..31)


def command_word_bits(config):
    """log2 of the 32-bit words a command takes in the host's address space (a power of
    two, so that a command's words never straddle two commands)."""
    return (command_bits(config) // 32 - 1).bit_length()


def command_window(config):
    """(base byte address, bytes per command) of the command memory: command c's word w
    at base + c * bytes + 4 w (write only)."""
    per_command = 4 << command_word_bits(config)
    return COMMAND_ENTRIES * per_command, per_command


def command_lists(commands, entries=COMMAND_ENTRIES):
    """The lists a program (END last) runs as, in turn: [(index of the list's first
    command in the program, the list)], each at most `entries` commands (what the
    command memory holds) with its own END. Between two lists every command has
    retired; the engine keeps what SCORES and STATE hold across its starts, so a long
    row may continue in the next list."""
    body = commands[:-1]
    if not commands or not isinstance(commands[-1], End) or any(
            isinstance(command, End) for command in body):
        raise ValueError("a program has one END, its last command")
    if not 2 <= entries <= COMMAND_ENTRIES:
        raise ValueError(f"entries={entries}: a list holds 2 to {COMMAND_ENTRIES} "
                         f"commands, END included")
    step = entries - 1
    return [(first, body[first:first + step] + [commands[-1]])
            for first in range(0, max(len(body), 1), step)]


def control_address_bits(config):
    """Width of the AXI4-Lite addresses: the registers and the command window."""
    base, _ = command_window(config)
    return base.bit_length()


class EngineError(enum.IntEnum):
    """Why the engine stopped on a command instead of running it."""

    NONE = 0
    OPCODE = 1        # no command has this opcode
    BUFFER = 2        # the command names a buffer it cannot use
    SHAPE = 3         # an empty dimension
    UNSUPPORTED = 4   # a command this engine does not run (docs/commands.md)
    BOUNDS = 5        # a region reaches past the end of its buffer
    STATE = 6         # the command continues softmax rows of STATE that no SOFTMAX started
    FORMAT = 7        # the command names a format this configuration's array does not run
    ACTIVATION = 8    # a GELU on a configuration whose PPU has none (ppu_gelu)


class Slot(enum.IntEnum):
    """Where a command runs: the array's slot (MATMUL), the host's (LOAD, STORE) or the
    softmax unit's (SOFTMAX). Each runs one command at a time, side by side."""

    COMPUTE = 0
    HOST = 1
    SOFTMAX = 2


def slot_of(command):
    """The `Slot` a command runs in."""
    if isinstance(command, (Load, Store)):
        return Slot.HOST
    return Slot.SOFTMAX if isinstance(command, Softmax) else Slot.COMPUTE


# The buffers the host reaches: LOAD writes the first three, STORE reads all four.
HOST_BUFFERS = (Buffer.LEFT, Buffer.RIGHT, Buffer.PARAMS, Buffer.OUTPUT)


def host_beats(config, buffer):
    """Beats of the host stream per entry of a buffer: the entry's bits, LSB first,
    HOST_DATA_BITS a beat, the last beat padded with zeros."""
    return -(-entry_bits(config, buffer) // HOST_DATA_BITS)
