"""Float64 models of the tiles, exact or with the hardware's substitutions.

`exact`: softmax in base e and GELU (tanh form), the network as trained. `friendly`:
ReLU instead of GELU and softmax in base 2 with log2(e) folded into the score scale,
which equals base e up to rounding; the integer program follows this one, so the
difference between the two is the substitution error and the rest is quantization.
Each model returns its output and its named intermediates, which also calibrate the
integer program's per-tensor scales.
"""

import numpy as np

from vsq_accel.golden.softmax import softmax_base2, softmax_base_e

__all__ = ["attention_head", "multi_head", "feed_forward", "gelu"]


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def attention_head(x, head, friendly):
    q, k, v = x @ head.wq + head.bq, x @ head.wk + head.bk, x @ head.wv + head.bv
    scores = q @ k.T / np.sqrt(head.dk)
    probs = softmax_base2(scores * np.log2(np.e)) if friendly else softmax_base_e(scores)
    out = probs @ v
    return out, {"q": q, "k": k, "v": v, "scores": scores, "probs": probs, "o": out}


def multi_head(x, mha, friendly):
    outputs, tensors = [], {}
    for index, head in enumerate(mha.heads):
        out, inner = attention_head(x, head, friendly)
        outputs.append(out)
        tensors.update({f"head{index}.{name}": value for name, value in inner.items()})
    concat = np.concatenate(outputs, axis=1)
    out = concat @ mha.wo + mha.bo
    tensors.update({"concat": concat, "out": out})
    return out, tensors


def feed_forward(x, ffn, friendly):
    pre = x @ ffn.w1 + ffn.b1
    hidden = np.maximum(pre, 0) if friendly else gelu(pre)
    out = hidden @ ffn.w2 + ffn.b2
    return out, {"pre": pre, "hidden": hidden, "out": out}
