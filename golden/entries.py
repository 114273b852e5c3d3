"""Operands as LEFT and RIGHT hold them: one entry per V-element vector (its values and
its scale), and on a 4-bit array that runs INT8 (`config.nibble_passes`) two entries
per INT8 vector, its signed high nibbles and then its low nibbles, whose 4 bits an entry
holds as a signed value. The host loads this layout, the feeders read it, the golden
interpreter reads it back."""

import numpy as np

from vsq_accel.spec.precision import format_config

__all__ = ["nibbles", "operand_entries", "operand_values"]


def nibbles(values):
    """INT8 values as their signed high nibbles and the 4 bits of their low ones, read
    as signed 4-bit values: value = 16 x high + (low mod 16)."""
    values = np.asarray(values, np.int64)
    return values >> 4, ((values & 15) ^ 8) - 8


def operand_entries(values, scales, config, format):
    """Entries of rows of `values` (rows x K, K whole vectors) in `format`, with their
    vectors' `scales` (rows x K/V, or None): {"values": (entries, V), "scales":
    (entries,)}, row r's vectors in order (each two entries, high then low, for INT8 in
    nibble passes); an entry without a scale holds 0."""
    values = np.asarray(values, np.int64)
    rows, size = len(values), config.vector_size
    vectors = values.reshape(rows, -1, size)
    if config.entries_per_vector(format) == 2:
        vectors = np.stack(nibbles(vectors), axis=2).reshape(rows, -1, size)
    count = rows * vectors.shape[1]
    entry_scales = np.zeros(count, np.int64)
    if scales is not None:
        entry_scales = np.repeat(np.asarray(scales, np.int64).reshape(-1),
                                 config.entries_per_vector(format))
    return {"values": vectors.reshape(count, size), "scales": entry_scales}


def operand_values(entries, rows, vectors, config, format):
    """(values rows x K, scales rows x K/V or None) of the `entries` of `rows` rows of
    `vectors` vectors each in `format` (the inverse of `operand_entries`)."""
    size = config.vector_size
    values = np.asarray(entries["values"], np.int64).reshape(rows, -1, size)
    if config.entries_per_vector(format) == 2:
        values = 16 * values[:, 0::2] + (values[:, 1::2] & 15)
    scales = None
    if format_config(config, format).vector_scales:
        scales = np.asarray(entries["scales"], np.int64).reshape(rows, vectors)
    return values.reshape(rows, vectors * size), scales
