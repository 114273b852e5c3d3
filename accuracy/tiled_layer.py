"""One encoder layer of all-MiniLM-L6-v2 as the accelerator runs it: multi-head attention
(projections, attention, Wo) and the feed-forward network (W1; GELU in the PPU on a
configuration with `ppu_gelu`, else on the host with its output quantized again; W2) as
compiled tile programs, the residuals and LayerNorms on the host in float.

`TiledLayer.run` is a generator that yields each program and takes back what its STOREs
sent, so the golden interpreter (`run_golden`) and the RTL testbench drive the very same
host steps between the programs.
"""

import numpy as np

from vsq_accel.accuracy.host import gelu, layer_norm
from vsq_accel.golden.tile_float import feed_forward, multi_head
from vsq_accel.golden.tile_program import Calibration
from vsq_accel.golden.tile_weights import AttentionHead, FeedForward, MultiHeadAttention
from vsq_accel.toolchain.compiler import compile_feed_forward, compile_multi_head
from vsq_accel.toolchain.interpreter import run_program

__all__ = ["TiledLayer", "run_golden", "cosine"]


class TiledLayer:
    """Encoder layer `index` of a `MiniLM` in tile programs for `config`, each matmul in
    the format the precision policy `formats` names for it (`spec.precision.policy_for`;
    None: the entries' own)."""

    def __init__(self, model, index, config, formats=None):
        w, prefix = model.weights, f"encoder.layer.{index}."
        heads = model.settings["num_attention_heads"]

        def linear(name):
            """(weights in x out, bias): PyTorch keeps them out x in."""
            return w[f"{prefix}{name}.weight"].T, w[f"{prefix}{name}.bias"]

        (wq, bq), (wk, bk), (wv, bv) = (linear(f"attention.self.{name}")
                                        for name in ("query", "key", "value"))
        width = wq.shape[1] // heads
        parts = [slice(head * width, (head + 1) * width) for head in range(heads)]
        self.attention = MultiHeadAttention(
            tuple(AttentionHead(wq[:, p], wk[:, p], wv[:, p], bq[p], bk[p], bv[p])
                  for p in parts),
            *linear("attention.output.dense"))
        self.ffn = FeedForward(*linear("intermediate.dense"), *linear("output.dense"))
        self.norms = [(w[f"{prefix}{name}.LayerNorm.weight"], w[f"{prefix}{name}.LayerNorm.bias"])
                      for name in ("attention.output", "output")]
        self.eps = model.settings["layer_norm_eps"]
        self.config, self.formats, self.index = config, formats, index

    def run(self, x):
        """Yields the attention's program, then the FFN's, each compiled for its input
        (scales calibrated on a float run of the tile, as a host would) and takes back
        its output y, in the program's unit; returns the layer's output (float)."""
        _, tensors = multi_head(x, self.attention, friendly=True)
        program = compile_multi_head(x, self.attention, self.config,
                                     Calibration(tensors, self.config), formats=self.formats,
                                     layer=self.index)
        y = yield program
        x = layer_norm(x + y * program.unit, *self.norms[0], self.eps)
        _, tensors = feed_forward(x, self.ffn, friendly=False)
        program = compile_feed_forward(x, self.ffn, self.config,
                                       Calibration(tensors, self.config),
                                       activation="gelu" if self.config.ppu_gelu else gelu,
                                       formats=self.formats, layer=self.index)
        y = yield program
        return layer_norm(x + y * program.unit, *self.norms[1], self.eps)


def run_golden(layer, x):
    """(the layer's output, [each program's y]) with the golden interpreter."""
    steps, outputs = layer.run(x), []
    program = next(steps)
    while True:
        y, _ = run_program(program, layer.config)
        outputs.append(y)
        try:
            program = steps.send(y)
        except StopIteration as done:
            return done.value, outputs


def cosine(a, b):
    """Mean over tokens of the cosine between rows of a and b."""
    return float(np.mean(np.sum(a * b, axis=1)
                         / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))
