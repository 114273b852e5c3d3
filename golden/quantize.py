"""Float -> integer quantizers: VSQ (per-vector scales) and plain INT-N for comparison.

Every quantized tensor is a set of rows cut into V-element vectors along its last axis,
the axis a matmul reduces over: pass activations A (M x K) as they are and weights
B (K x N) transposed, so that a per-row coarse scale is a per-output-channel scale.
"""

import dataclasses

import numpy as np

from vsq_accel.golden import arguments

__all__ = ["QuantizedRows", "quantize", "quantize_vsq", "quantize_int"]

# What the quantizers take (low, high): one bit of magnitude at least, and values and
# scales whose products stay exact in int64.
VECTOR_SIZE = (1, 4096)
DATA_BITS = (2, 16)
SCALE_BITS = (1, 16)


@dataclasses.dataclass(frozen=True)
class QuantizedRows:
    """Integer rows with their scales; value = values * per-vector scale * gamma.

    Attributes
    ----------
    values : int64 array (R, K)
        K is padded with zeros to a multiple of vector_size.
    scales : int64 array (R, K // vector_size), or None
        Unsigned per-vector scales; None for plain integer formats.
    gamma : float64 array (R, 1)
        Coarse scale of each row (all rows equal for a per-tensor scale).
    vector_size : int
    columns : int
        Length of the rows before padding.
    """

    values: np.ndarray
    scales: np.ndarray | None
    gamma: np.ndarray
    vector_size: int
    columns: int

    @property
    def vectors(self):
        """Values viewed as (R, K // V, V)."""
        rows, length = self.values.shape
        return self.values.reshape(rows, length // self.vector_size, self.vector_size)

    def take_columns(self, start, stop):
        """Columns start..stop (whole vectors) with their scales: a slice along K."""
        size = self.vector_size
        if start % size or (stop % size and stop < self.values.shape[1]):
            raise ValueError(f"columns {start}..{stop} do not fall on {size}-element vectors")
        stop = min(stop, self.values.shape[1])
        scales = None if self.scales is None else self.scales[:, start // size:-(-stop // size)]
        return QuantizedRows(self.values[:, start:stop], scales, self.gamma, size,
                             min(self.columns, stop) - start)

    def dequantize(self):
        scaled = self.values.astype(np.float64)
        if self.scales is not None:
            scaled = scaled * np.repeat(self.scales, self.vector_size, axis=1)
        return (scaled * self.gamma)[:, :self.columns]


def quantize(x, config, per_row=False):
    """Quantize to the configuration's format: VSQ when it has vector scales, else INT-N."""
    from vsq_accel.spec.config import AcceleratorConfig

    arguments.instance("config", config, AcceleratorConfig)
    if config.vector_scales:
        return quantize_vsq(x, config.vector_size, config.data_bits, config.scale_bits,
                            per_row)
    return quantize_int(x, config.vector_size, config.data_bits, per_row)


def quantize_vsq(x, vector_size, data_bits, scale_bits, per_row=False):
    """VS-Quant: an unsigned scale_bits scale per vector, a float gamma per tensor or row.

    The per-vector scale is rounded up, so that a vector's largest element never clips,
    and the elements are then quantized with the scale the hardware will use.
    """
    scale_bits = arguments.integer("scale_bits", scale_bits, *SCALE_BITS)
    vectors, columns = _as_vectors(x, vector_size, data_bits, per_row)
    qmax = (1 << (data_bits - 1)) - 1
    smax = (1 << scale_bits) - 1
    float_scales = np.abs(vectors).max(axis=2) / qmax
    gamma = _coarse_max(float_scales, per_row) / smax
    safe_gamma = np.where(gamma > 0, gamma, 1.0)
    scales = np.clip(np.ceil(float_scales / safe_gamma), 0, smax).astype(np.int64)
    steps = scales * gamma
    values = _round_clip(vectors, steps[:, :, None], qmax)
    return QuantizedRows(values.reshape(len(vectors), -1), scales, gamma, vector_size, columns)


def quantize_int(x, vector_size, data_bits, per_row=False):
    """Symmetric INT-N with one float scale per tensor or per row (per output channel)."""
    vectors, columns = _as_vectors(x, vector_size, data_bits, per_row)
    qmax = (1 << (data_bits - 1)) - 1
    rows = vectors.reshape(len(vectors), -1)
    gamma = _coarse_max(np.abs(rows), per_row) / qmax
    values = _round_clip(rows, gamma, qmax)
    return QuantizedRows(values, None, gamma, vector_size, columns)


def _as_vectors(x, vector_size, data_bits, per_row):
    """Check the arguments, pad x's rows with zeros to a multiple of V, return
    (R, K // V, V) and K."""
    vector_size = arguments.integer("vector_size", vector_size, *VECTOR_SIZE)
    arguments.integer("data_bits", data_bits, *DATA_BITS)
    arguments.flag("per_row", per_row)
    x = arguments.real_matrix("x", x)
    rows, columns = x.shape
    padded = np.zeros((rows, -(-columns // vector_size) * vector_size))
    padded[:, :columns] = x
    return padded.reshape(rows, -1, vector_size), columns


def _coarse_max(magnitudes, per_row):
    """Largest magnitude per row (R, 1), or of the whole tensor broadcast to every row."""
    row_max = magnitudes.reshape(len(magnitudes), -1).max(axis=1, keepdims=True,
                                                          initial=0.0)
    return row_max if per_row else np.full_like(row_max, row_max.max(initial=0.0))


def _round_clip(x, steps, qmax):
    """Round half up to the nearest step and clip to +-qmax; a zero step gives zeros."""
    safe_steps = np.where(steps > 0, steps, 1.0)
    return np.clip(np.floor(x / safe_steps + 0.5), -qmax, qmax).astype(np.int64)
