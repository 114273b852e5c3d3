"""The host's side of the accelerator's interface: buffer entries as the data streams
carry them, and command words as the command window takes them."""

import numpy as np

from vsq_accel.spec.commands import SHIFT_BITS, Buffer, command_bits, encode
from vsq_accel.spec.host_interface import host_beats
from vsq_accel.spec.timing import HOST_DATA_BITS

__all__ = ["entry_fields", "pack_entries", "unpack_entry", "entries_to_bytes",
           "bytes_to_entries", "command_words"]


def entry_fields(config, buffer):
    """[(field, elements, bits, signed)] of an entry, LSB first: the order of the
    Interpreter's `Machine` fields and of the hardware's layouts."""
    size = config.vector_size
    if buffer in (Buffer.LEFT, Buffer.RIGHT):
        scales = [("scales", 1, config.scale_bits, False)] if config.vector_scales else []
        return [("values", size, config.data_bits, True)] + scales
    if buffer == Buffer.PARAMS:
        return [("mult", 1, config.ppu_mult_bits, False), ("shift", 1, SHIFT_BITS, False),
                ("bias", 1, config.ppu_bits, True)]
    if buffer == Buffer.OUTPUT:
        return [("y", size, config.ppu_bits, True)]
    if buffer == Buffer.STATE:         # the hardware keeps the reciprocals (max and sum
        return [("reciprocal", 1, config.softmax_recip_bits, False)]    # in the softmax)
    raise ValueError(f"the host does not reach {Buffer(buffer).name}")


def pack_entries(config, buffer, image):
    """The entries of a LOAD image (a dict of arrays, the entry first) as integers."""
    fields = entry_fields(config, buffer)
    count = len(np.asarray(image[fields[0][0]]))
    entries = []
    for index in range(count):
        word, offset = 0, 0
        for name, elements, bits, _ in fields:
            for value in np.asarray(image[name][index]).reshape(elements):
                word |= (int(value) & ((1 << bits) - 1)) << offset
                offset += bits
        entries.append(word)
    return entries


def unpack_entry(config, buffer, word):
    """{field: values} of an entry's integer (the inverse of `pack_entries`)."""
    result, offset = {}, 0
    for name, elements, bits, is_signed in entry_fields(config, buffer):
        values = []
        for _ in range(elements):
            value = (word >> offset) & ((1 << bits) - 1)
            if is_signed and value >> (bits - 1):
                value -= 1 << bits
            values.append(value)
            offset += bits
        result[name] = np.array(values if elements > 1 else values[0], np.int64)
    return result


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
    """The 32-bit words of an encoded command, word 0 first."""
    word = encode(command, config)
    return [(word >> (32 * index)) & 0xFFFFFFFF for index in range(command_bits(config) // 32)]
