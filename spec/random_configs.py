"""Random valid configurations, so that verification is not held only to the
configurations someone picked: the draw of `make test` (tests/rtl/test_random_configs.py)
and of the sweeps' random spaces (`sweep.space`), `make test-random` among them."""

import dataclasses
import random

from vsq_accel.spec.config import AcceleratorConfig, ConfigError

__all__ = ["draw", "drawn", "SMALL_BUFFERS"]

# Buffers big enough for the testbenches' tiles of the narrow draw (the long-row ones:
# 4 x softmax_max_row + 1 tokens, at most 97), small enough to build quickly; the wide
# draw's grow with its rows (`_buffers`).
SMALL_BUFFERS = {"left_buffer_vectors": 2048, "right_buffer_vectors": 2048,
                 "output_buffer_vectors": 512, "param_entries": 512, "accumulator_entries": 64}


def draw(rng, wide=False):
    """A valid configuration: every key drawn in (a bounded part of) its allowed range,
    drawn again until the configuration rules accept the combination. `wide`: more lanes,
    wider vectors and longer rows (`make test-random`)."""
    while True:
        lanes = rng.randint(1, 8 if wide else 4)
        values = {
            "lanes": lanes,
            "vector_size": rng.choice((8, 16, 32) if wide else (8, 16)),
            "data_bits": rng.choice((4, 8)),
            "vector_scales": rng.random() < 0.75,
            "scale_bits": rng.randint(2, 8),
            "scale_product_bits": rng.randint(1, 16),
            "acc_bits": rng.randint(16, 32),
            "lane_stages": rng.randint(2, 4),
            "softmax_width": rng.choice((None, rng.randint(1, 2 * lanes))),
            "softmax_logit_bits": rng.randint(8, 16),
            "softmax_frac_bits": rng.randint(0, 4),
            "softmax_exp_bits": rng.randint(8, 16),
            # the long-row tests run rows of four times this and one: up to 97
            # tokens in `make test`, 641 in the wide draw
            "softmax_max_row": rng.randint(16, 160 if wide else 24),
            "softmax_recip_bits": rng.randint(10, 24),
            "softmax_out_bits": rng.randint(4, 8),
            "ppu_bits": rng.randint(12, 24),
            "ppu_mult_bits": rng.randint(8, 24),
            "ppu_recip_bits": rng.randint(8, 20),
        }
        values.update(_buffers(values["softmax_max_row"]))
        try:
            config = AcceleratorConfig(**values)
        except ConfigError:
            continue
        # The formats are drawn once the rest is valid, and dropped where the rest cannot
        # take them (an 8-bit array, or acc_bits too narrow for INT8's products); then
        # the PPU's GELU and its sharing.
        formats = rng.choice((None, ("int4_vsq", "int4", "int8"), ("int4_vsq", "int8"),
                              ("int4", "int8"), ("int4_vsq", "int4")))
        gelu = rng.random() < 0.5
        share = rng.choice([None, *(parts for parts in range(1, lanes + 1)
                                    if lanes % parts == 0)])
        try:
            return AcceleratorConfig(**values, formats=formats, ppu_gelu=gelu, ppu_share=share)
        except ConfigError:
            return dataclasses.replace(config, ppu_gelu=gelu, ppu_share=share)


def _buffers(max_row):
    """SMALL_BUFFERS, grown where the long-row tiles of the wide draw need more: their
    4 x max_row + 1 tokens (two vectors each) take about 5 entries a token in LEFT and 4
    in RIGHT (X, Q, the heads' outputs; K^T, V), one in OUTPUT and one a key in PARAMS;
    each is given twice that, to a power of two."""
    tokens = 4 * max_row + 1
    need = {"left_buffer_vectors": 10 * tokens, "right_buffer_vectors": 8 * tokens,
            "output_buffer_vectors": 2 * tokens, "param_entries": 2 * tokens}
    return {**SMALL_BUFFERS, **{key: max(SMALL_BUFFERS[key], 1 << (entries - 1).bit_length())
                                for key, entries in need.items()}}


def drawn(seed, count, wide=False):
    """The first `count` configurations of the draw that `seed` fixes."""
    rng = random.Random(seed)
    return [draw(rng, wide) for _ in range(count)]
