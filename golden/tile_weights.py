"""Weights of the encoder tiles: one attention head, multi-head attention, feed-forward."""

import dataclasses

import numpy as np

__all__ = ["AttentionHead", "MultiHeadAttention", "FeedForward", "random_attention_head",
           "random_multi_head", "random_feed_forward", "pad_heads"]


@dataclasses.dataclass(frozen=True)
class AttentionHead:
    """Projections d_model -> dk (queries, keys) and d_model -> dv (values), with biases."""

    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    bq: np.ndarray
    bk: np.ndarray
    bv: np.ndarray

    @property
    def dk(self):
        return self.wq.shape[1]


@dataclasses.dataclass(frozen=True)
class MultiHeadAttention:
    """h heads, their outputs concatenated (n x h*dv), times Wo (h*dv x d_model) + bo."""

    heads: tuple
    wo: np.ndarray
    bo: np.ndarray


@dataclasses.dataclass(frozen=True)
class FeedForward:
    """d_model -> d_ff -> d_model."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray


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
