"""PyTorch models through the accelerator's bit-exact arithmetic (optional: needs torch,
and transformers for the attention of its models).

    emulator = Emulator(config, record=True)
    emulate(model, emulator)        # every nn.Linear, and a Hugging Face model's attention
    model(**inputs)                 # now computes in the accelerator's integers

`emulate` swaps each `nn.Linear` for an `EmulatedLinear`, whose weight is quantized
once, and registers `emulator.attention` (one call per batch element and head, with
the softmax unit between Q K^T and P V) as the model's attention implementation in
transformers' AttentionInterface, the way quantization-emulation libraries inject
their operators. Everything else (embeddings, LayerNorm, GELU) stays in PyTorch, as it
stays on the host beside the accelerator. Tensors cross to numpy as float64 and come
back in the model's dtype; run the model in float64 (`model.double()`) to compare its
integers with the numpy API's.
"""

import numpy as np
import torch

from vsq_accel.api.emulator import Emulator

__all__ = ["EmulatedLinear", "emulate", "attention_function"]


class EmulatedLinear(torch.nn.Module):
    """An nn.Linear computed by `emulator.linear` (inference only: no gradients)."""

    def __init__(self, linear, emulator):
        super().__init__()
        self.emulator = emulator
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = emulator.weight(_numpy(linear.weight).T)      # PyTorch keeps out x in
        self.bias = None if linear.bias is None else _numpy(linear.bias)

    def forward(self, x):
        rows = _numpy(x).reshape(-1, self.in_features)
        y = self.emulator.linear(rows, self.weight, self.bias)
        return torch.from_numpy(y).to(x.dtype).reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"{self.emulator.config.format_name}")


def emulate(model, emulator):
    """Swap `model`'s linear layers (in place) and, for a transformers model, its
    attention for `emulator`'s arithmetic; returns the model."""
    if not isinstance(emulator, Emulator):
        raise TypeError(f"emulator must be an Emulator, not {type(emulator).__name__}")
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.Linear):
                setattr(parent, name, EmulatedLinear(child, emulator))
    if hasattr(model, "set_attn_implementation"):
        from transformers import AttentionInterface

        name = f"vsq_golden_{id(emulator):x}"
        AttentionInterface.register(name, attention_function(emulator))
        model.set_attn_implementation(name)
    return model


def attention_function(emulator):
    """An attention implementation for transformers' AttentionInterface:
    softmax(Q K^T * scaling + mask) V by `emulator.attention`, per batch element and
    head. The mask may only keep or drop keys (0 or the dtype's minimum when additive)."""

    def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                  **kwargs):
        batch, heads, queries, dk = query.shape
        repeat = heads // key.shape[1]                    # grouped-query attention
        key, value = (t.repeat_interleave(repeat, dim=1) for t in (key, value))
        keep = _keep(attention_mask, (batch, heads, queries, key.shape[2]))
        q, k, v = _numpy(query), _numpy(key), _numpy(value)
        out = np.stack([np.stack([
            emulator.attention(q[b, h], k[b, h], v[b, h], None if keep is None else keep[b, h],
                               scaling)
            for h in range(heads)], axis=1) for b in range(batch)])    # batch, query, head
        return torch.from_numpy(out).to(query.dtype), None

    return attention


def _keep(mask, shape):
    """Booleans (True: the key takes part) from a boolean or additive mask, or None."""
    if mask is None:
        return None
    mask = mask.detach().cpu()
    if mask.dtype == torch.bool:
        return np.broadcast_to(mask.numpy(), shape)
    dropped = mask <= torch.finfo(mask.dtype).min / 2
    if not torch.all(dropped | (mask == 0)):
        raise ValueError("the attention mask adds biases to the scores; the softmax unit "
                         "takes only masks that keep or drop keys")
    return np.broadcast_to((~dropped).numpy(), shape)


def _numpy(tensor):
    return tensor.detach().cpu().double().numpy()
