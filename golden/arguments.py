"""Argument checks at the boundary of the golden model's public functions: a wrong
argument raises TypeError (wrong kind) or ValueError (wrong value) naming the argument,
the value and what is allowed, instead of a wrong result or an error from deep inside.
The internal fast paths stay unchecked."""

import numpy as np

__all__ = ["integer", "flag", "real_matrix", "real_vector", "integer_array", "integers",
           "instance"]


def _shown(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def integer(name, value, low, high):
    """An int (numpy's too, never a bool) in low..high."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={_shown(value)} must be an integer in {low}..{high}")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is out of range: it must be in {low}..{high}")
    return int(value)


def flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={_shown(value)} must be True or False")
    return bool(value)


def instance(name, value, cls):
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, not {type(value).__name__}")
    return value


def _real(name, value, ndim, shape_text):
    """An array of `ndim` dimensions, none empty, of finite real numbers, as float64."""
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise TypeError(f"{name} holds complex numbers; only real values can be quantized")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, not {array.dtype}")
    if array.ndim != ndim or 0 in array.shape:
        raise ValueError(f"{name} must be {shape_text}, not of shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def real_matrix(name, value):
    """A 2-D array of finite real numbers with at least one row and one column, as
    float64."""
    return _real(name, value, 2, "a 2-D array (rows x reduction axis) with at least one "
                                 "row and one column")


def real_vector(name, value, length):
    """A 1-D array of `length` finite real numbers, as float64."""
    array = _real(name, value, 1, f"a 1-D array of {length} numbers")
    if len(array) != length:
        raise ValueError(f"{name} has {len(array)} numbers; it must have {length}")
    return array


def integer_array(name, value, low, high, shape=None):
    """An array of integers (not floats, not bools) in low..high, of `shape` if given."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"{name} must be an integer numpy array, not {kind}")
    if shape is not None and value.shape != tuple(shape):
        raise ValueError(f"{name} has shape {value.shape}; it must be {tuple(shape)}")
    if value.size and (value.min() < low or value.max() > high):
        raise ValueError(f"{name} must lie in {low}..{high}, found "
                         f"{value.min()}..{value.max()}")
    return value


def integers(name, value, ndim=None):
    """Integers (a list or an array, not floats or bools) as an int64 array, of `ndim`
    dimensions if given."""
    array = np.asarray(value)
    if array.dtype.kind not in "iu" and not (array.dtype.kind == "O" and all(
            isinstance(item, (int, np.integer)) and not isinstance(item, bool)
            for item in array.flat)):
        raise TypeError(f"{name} must hold integers, not {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, not shape {array.shape}")
    return array
