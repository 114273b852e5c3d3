"""The host's side of the accelerator's interface: buffer entries as the data streams
carry them, and command words as the command window takes them."""

import numpy as np

from vsq_accel.spec import ports
from vsq_accel.spec.commands import Buffer, command_bits, encode
from vsq_accel.spec.host_interface import host_beats
from vsq_accel.spec.timing import HOST_DATA_BITS

__all__ = ["pack_entries", "unpack_entry", "entries_to_bytes", "bytes_to_entries",
           "command_words"]

# The names the interpreter's `Machine` gives an operand entry's fields.
_MACHINE_NAMES = {"data": "values", "scale": "scales"}


def _entry(config, buffer):
    """An entry of `buffer` (`spec.ports.buffer_entry`) as a struct of named fields."""
    entry = ports.buffer_entry(config, buffer)
    if isinstance(entry, ports.Struct):
        return entry
    return ports.Struct({{Buffer.OUTPUT: "y", Buffer.ACC: "acc"}[buffer]: entry})


def pack_entries(config, buffer, image):
    """The entries of a LOAD image (a dict of arrays, the entry first, named as the
    interpreter's `Machine` names them) as integers."""
    entry = _entry(config, buffer)
    names = {field: _MACHINE_NAMES.get(field, field) for field in entry.fields}
    count = len(np.asarray(image[next(iter(names.values()))]))
    return [entry.pack({field: np.asarray(image[name][index]).tolist()
                        for field, name in names.items()})
            for index in range(count)]


def unpack_entry(config, buffer, word):
    """{field: values} of an entry's integer (the inverse of `pack_entries`)."""
    fields = _entry(config, buffer).unpack(word)
    return {_MACHINE_NAMES.get(field, field): np.array(value, np.int64)
            for field, value in vars(fields).items()}


def entries_to_bytes(config, buffer, entries):
    """A stream frame: each entry in whole beats of HOST_DATA_BITS, little-endian."""
    width = host_beats(config, buffer) * HOST_DATA_BITS // 8
    return b"".join(entry.to_bytes(width, "little") for entry in entries)


def bytes_to_entries(config, buffer, frame):
    width = host_beats(config, buffer) * HOST_DATA_BITS // 8
    if len(frame) % width:
        raise ValueError(f"{len(frame)} bytes are not whole entries of {width}")
    return [int.from_bytes(frame[start:start + width], "little")
            for start in range(0, len(frame), width)]


def command_words(command, config):
    """The 32-bit words of an encoded command (or of a raw command word), word 0 first."""
    word = command if isinstance(command, int) else encode(command, config)
    return [(word >> (32 * index)) & 0xFFFFFFFF for index in range(command_bits(config) // 32)]
