"""Weights of the encoder tiles: one attention head, multi-head attention, feed-forward.

Each checks its arrays when built (finite reals, shapes that fit together) and keeps
them as float64, so a tile's compiler and models never meet a weight of the wrong shape.
"""

import dataclasses

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.spec.config import AcceleratorConfig

__all__ = ["AttentionHead", "MultiHeadAttention", "FeedForward", "random_attention_head",
           "random_multi_head", "random_feed_forward", "pad_heads", "tile_input"]


def _matrix(weights, name, rows=None, columns=None):
    """Replace field `name` of frozen `weights` by its checked float64 matrix."""
    where = f"{type(weights).__name__}.{name}"
    matrix = arguments.real_matrix(where, getattr(weights, name))
    for axis, (size, what) in enumerate(((rows, "rows"), (columns, "columns"))):
        if size is not None and matrix.shape[axis] != size:
            raise ValueError(f"{where} has {matrix.shape[axis]} {what}; it must have {size}")
    object.__setattr__(weights, name, matrix)
    return matrix


def _vector(weights, name, length):
    where = f"{type(weights).__name__}.{name}"
    object.__setattr__(weights, name, arguments.real_vector(where, getattr(weights, name),
                                                            length))


@dataclasses.dataclass(frozen=True)
class AttentionHead:
    """Projections d_model -> dk (queries, keys) and d_model -> dv (values), with biases."""

    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    bq: np.ndarray
    bk: np.ndarray
    bv: np.ndarray

    def __post_init__(self):
        d_model, dk = _matrix(self, "wq").shape
        _matrix(self, "wk", d_model, dk)
        dv = _matrix(self, "wv", d_model).shape[1]
        for name, length in (("bq", dk), ("bk", dk), ("bv", dv)):
            _vector(self, name, length)

    @property
    def d_model(self):
        return self.wq.shape[0]

    @property
    def dk(self):
        return self.wq.shape[1]

    @property
    def dv(self):
        return self.wv.shape[1]


@dataclasses.dataclass(frozen=True)
class MultiHeadAttention:
    """h heads, their outputs concatenated (n x h*dv), times Wo (h*dv x d_model) + bo."""

    heads: tuple
    wo: np.ndarray
    bo: np.ndarray

    def __post_init__(self):
        heads = tuple(self.heads) if isinstance(self.heads, (list, tuple)) else None
        if not heads or not all(isinstance(head, AttentionHead) for head in heads):
            raise TypeError("MultiHeadAttention.heads must be a non-empty sequence of "
                            "AttentionHead")
        object.__setattr__(self, "heads", heads)
        first = heads[0]
        for index, head in enumerate(heads):
            if (head.d_model, head.dk, head.dv) != (first.d_model, first.dk, first.dv):
                raise ValueError(f"MultiHeadAttention.heads[{index}] is {head.d_model} -> "
                                 f"{head.dk}, {head.dv}; every head must be "
                                 f"{first.d_model} -> {first.dk}, {first.dv} like heads[0]")
        _matrix(self, "wo", len(heads) * first.dv)
        _vector(self, "bo", self.wo.shape[1])

    @property
    def d_model(self):
        return self.heads[0].d_model


@dataclasses.dataclass(frozen=True)
class FeedForward:
    """d_model -> d_ff -> d_model."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def __post_init__(self):
        d_model, d_ff = _matrix(self, "w1").shape
        _vector(self, "b1", d_ff)
        _matrix(self, "w2", d_ff, d_model)
        _vector(self, "b2", d_model)

    @property
    def d_model(self):
        return self.w1.shape[0]


def _linear(rng, fan_in, fan_out):
    """Weights with unit-variance outputs for unit-variance inputs, small biases."""
    return rng.normal(0, fan_in ** -0.5, (fan_in, fan_out)), rng.normal(0, 0.1, fan_out)


def random_attention_head(rng, d_model, dk, dv=None):
    (wq, bq), (wk, bk), (wv, bv) = (_linear(rng, d_model, size)
                                    for size in (dk, dk, dv or dk))
    return AttentionHead(wq, wk, wv, bq, bk, bv)


def random_multi_head(rng, d_model, heads, dk):
    wo, bo = _linear(rng, heads * dk, d_model)
    return MultiHeadAttention(tuple(random_attention_head(rng, d_model, dk)
                                    for _ in range(heads)), wo, bo)


def random_feed_forward(rng, d_model, d_ff):
    (w1, b1), (w2, b2) = _linear(rng, d_model, d_ff), _linear(rng, d_ff, d_model)
    return FeedForward(w1, b1, w2, b2)


def pad_heads(wo, heads, config):
    """Wo's rows (the concatenation's columns) with each head's part padded with zero
    rows to whole vectors, as the heads' requantized outputs are: heads of any width
    (MobileViT's 24, 30, 36) concatenate on vector boundaries."""
    size = config.vector_size
    parts = np.split(np.asarray(wo), heads)
    return np.concatenate([np.pad(part, ((0, -len(part) % size), (0, 0))) for part in parts])


WEIGHTS = {"sa": AttentionHead, "mhsa": MultiHeadAttention, "ffn": FeedForward}


def tile_input(tile, x, weights, config):
    """x (tokens x d_model) checked against tile "sa", "mhsa" or "ffn" and its weights,
    as float64: the boundary of every function that runs or compiles a tile."""
    if tile not in WEIGHTS:
        raise ValueError(f"tile={tile!r} is unknown: it must be one of "
                         f"{', '.join(map(repr, WEIGHTS))}")
    arguments.instance("weights", weights, WEIGHTS[tile])
    arguments.instance("config", config, AcceleratorConfig)
    x = arguments.real_matrix("x", x)
    if x.shape[1] != weights.d_model:
        raise ValueError(f"x has {x.shape[1]} columns; the weights take d_model = "
                         f"{weights.d_model}")
    return x
