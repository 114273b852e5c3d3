"""The requantization's arithmetic, as `golden.ppu.requantize_rows` computes it, shared
by the column requantizer (the array's results) and the row requantizer (the softmax's
exponentials): a vector's scale and reciprocal from its max |y|, and each element's
operand value from y. Both are pipelines that never stall; their wide products are cut
to the FPGA's multipliers (`hw.lib.limb_products`)."""

from amaranth import Const, Mux

from vsq_accel.hw.lib.arith import (clip_symmetric, round_half_up, saturate, shifted_with_half,
                                    table_lookup)
from vsq_accel.hw.lib.limb_products import pipelined_products
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.spec.tables import reciprocal_table

__all__ = ["scale_stages", "element_stages"]


def _forward(previous, carried):
    return {key: getattr(previous, key) for key in carried}


def scale_stages(m, prefix, config, valid, magnitudes, scale_mult, scale_shift, **carried):
    """Each vector's max |y| to its scale and reciprocal: ``prefix_m`` times the scale
    multiplier -> ``prefix_f`` that shifted down, and whether a nonzero bit fell off ->
    ``prefix_c`` s_q = clamp(ceil, 1, 2^M - 1) -> ``prefix_r`` floor(2^R / s_q) from a
    table of the 2^M - 1 scale values (no divider). Returns the last stage: `scale` and
    `reciprocal` per vector, the `carried` values, and `depth`, the stages added
    (`spec.timing.requant_scale_stages`)."""
    scaled = pipelined_products(m, f"{prefix}_m", [(amax, scale_mult) for amax in magnitudes],
                                valid, **carried, scale_shift=scale_shift)
    # The bits below the shift: a thermometer code of the shift (no subtractor).
    width = len(scaled.products[0])
    below = ~(Const((1 << width) - 1, width) << scaled.scale_shift)[:width]
    floor = stage(m, f"{prefix}_f", valid=scaled.valid, **_forward(scaled, carried),
                  floor=[product >> scaled.scale_shift for product in scaled.products],
                  fraction=[(product & below).any() for product in scaled.products])
    top = config.scale_max
    ceiling = stage(m, f"{prefix}_c", valid=floor.valid, **_forward(floor, carried),
                    scale=[Mux(whole >= top, top,
                               Mux(~whole.any() & ~fraction, 1, whole + fraction))
                           [:config.scale_bits]
                           for whole, fraction in zip(floor.floor, floor.fraction)])
    table = [Const(int(value), config.ppu_recip_bits + 1) for value in reciprocal_table(config)]
    last = stage(m, f"{prefix}_r", valid=ceiling.valid, **_forward(ceiling, carried),
                 scale=ceiling.scale,
                 reciprocal=[table_lookup(table, scale) for scale in ceiling.scale])
    last.depth = scaled.depth + len((floor, ceiling, last))
    return last


def element_stages(m, prefix, config, valid, values, element_mult, reciprocals, element_shift,
                   wide=None, **carried):
    """Each y to its operand element, given its vector's reciprocal (None without vector
    scales, for 1): ``prefix_m`` y times the element multiplier -> ``prefix_r`` that
    times the reciprocal -> ``prefix_h`` shifted by the element shift + R (with the bit
    below) -> ``prefix_n`` narrowed (2v to N + 2 bits, which no clipped value needs) and
    rounded half up -> ``prefix_x`` clipped to +-(2^(N-1) - 1). With `wide` (nibble
    passes) N is 8 where it is set, else the entries' own. Returns the last stage: `x`
    per element, the `carried` values, and `depth`, the stages added
    (`spec.timing.requant_element_stages`)."""
    bits = config.data_bits
    if wide is not None:
        bits, carried = config.lane_data_bits, {**carried, "wide": wide}
    recip_shift = 0 if reciprocals is None else config.ppu_recip_bits
    scaled = {} if reciprocals is None else {"reciprocals": list(reciprocals)}
    # A copy of its vector's reciprocal per element: one register would drive the
    # multipliers of a whole vector.
    product = pipelined_products(m, f"{prefix}_m", [(value, element_mult) for value in values],
                                 valid, kept=("reciprocals",), **carried, **scaled,
                                 shift=element_shift + recip_shift)
    depth = product.depth
    if reciprocals is not None:
        product = pipelined_products(m, f"{prefix}_r",
                                     list(zip(product.products, product.reciprocals)),
                                     product.valid, **_forward(product, carried),
                                     shift=product.shift)
        depth += product.depth
    shifted = stage(m, f"{prefix}_h", valid=product.valid, **_forward(product, carried),
                    halved=[shifted_with_half(p, product.shift) for p in product.products])
    rounded = stage(m, f"{prefix}_n", valid=shifted.valid, **_forward(shifted, carried),
                    value=[round_half_up(saturate(v, bits + 2)) for v in shifted.halved])
    clipped = [clip_symmetric(v, bits) for v in rounded.value]
    if wide is not None:
        clipped = [Mux(rounded.wide, x, clip_symmetric(v, config.data_bits))
                   for x, v in zip(clipped, rounded.value)]
    last = stage(m, f"{prefix}_x", valid=rounded.valid, **_forward(rounded, carried),
                 x=clipped)
    last.depth = depth + len((shifted, rounded, last))
    return last
