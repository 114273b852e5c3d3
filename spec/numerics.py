"""Integer helpers of the numerics contract, for Python ints and numpy int64 arrays alike."""

import numpy as np

__all__ = ["rhu", "rhu_each", "saturate", "signed_bits_for"]


def rhu(value, shift):
    """Round half up by an arithmetic right shift: (v + 2^(s-1)) >> s; shift 0 is exact."""
    if shift < 0:
        raise ValueError(f"shift={shift} must not be negative")
    if shift == 0:
        return value
    return (value + (1 << (shift - 1))) >> shift


def rhu_each(values, shifts):
    """rhu with a shift per element of a numpy array (broadcast against values)."""
    shifts = np.asarray(shifts)
    half = np.where(shifts > 0, np.left_shift(1, np.maximum(shifts - 1, 0)), 0)
    return (values + half) >> shifts


def saturate(value, bits):
    """Clamp to the range of a signed `bits`-bit integer."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if isinstance(value, np.ndarray):
        return np.clip(value, low, high)
    return min(max(value, low), high)


def signed_bits_for(low, high):
    """Fewest bits of a two's-complement integer that holds every value in low..high."""
    bits = 1
    while not -(1 << (bits - 1)) <= low <= high <= (1 << (bits - 1)) - 1:
        bits += 1
    return bits
