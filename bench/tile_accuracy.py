"""Error of the tiles' integer programs against the float models, per format.

Random unit-variance tokens and weights (n = 197, d_model = 384, dk = 64, h = 6,
d_ff = 1536: a DeiT-Small-sized layer); relative RMS error of each tile's output against
the exact float model (GELU, softmax in base e) and against the float model with the
hardware's substitutions (ReLU), which separates quantization from substitution.
"""

import numpy as np

from vsq_accel.golden.tile_weights import (random_attention_head, random_feed_forward,
                                           random_multi_head)
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.tile_run import run_tile

SEED = 20261126
TOKENS, D_MODEL, DK, HEADS, D_FF = 197, 384, 64, 6, 1536
FORMATS = {
    "int4_pc": AcceleratorConfig(vector_scales=False),
    "int4_vsq8": AcceleratorConfig(),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False),
}


def _relative(got, want):
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def run():
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(TOKENS, D_MODEL))
    weights = {"sa": random_attention_head(rng, D_MODEL, DK),
               "mhsa": random_multi_head(rng, D_MODEL, HEADS, DK),
               "ffn": random_feed_forward(rng, D_MODEL, D_FF)}
    results = {"seed": SEED, "tokens": TOKENS, "d_model": D_MODEL}
    for tile, tile_weights in weights.items():
        for name, config in FORMATS.items():
            run_ = run_tile(tile, x, tile_weights, config)
            results[f"{tile}_{name}_err_vs_exact"] = _relative(run_.output, run_.exact)
            results[f"{tile}_{name}_err_vs_friendly"] = _relative(run_.output, run_.friendly)
        results[f"{tile}_substitution_err"] = _relative(run_.friendly, run_.exact)
    return results
