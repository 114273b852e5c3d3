"""The PPU's GELU stages: y to GELU(y) in y's unit 2^-s, lane by lane, as the golden
`golden.gelu` computes it, on a PPU built with `ppu_gelu`."""

from amaranth import Const, Mux

from vsq_accel.hw.lib.arith import round_half_up, shifted_with_half, table_lookup
from vsq_accel.hw.lib.limb_products import pipelined_products
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.spec.tables import (GELU_FRAC_BITS, GELU_PHI_BITS, GELU_RANGE,
                                   GELU_SEGMENT_BITS, gelu_table)
from vsq_accel.spec.timing import check_stages, gelu_stages

__all__ = ["gelu"]

_PLACE_BITS = GELU_FRAC_BITS - GELU_SEGMENT_BITS


def gelu(m, prefix, config, valid, y, apply, shift, **carried):
    """Stages ``g0_`` 2 y 2^Q >> s -> ``g1_`` x rounded, clamped to the table's range, as
    its segment and place -> ``g2_`` the segment's point and rise from the table ->
    ``g3_`` Phi interpolated -> y * Phi (limb products) -> ``g4_`` rounded: GELU(y) in
    the lanes where `apply`, y in the others. Returns the last stage (`y`, `valid`, the
    `carried` values) and its `depth`."""
    g0 = stage(m, f"{prefix}0", valid=valid, apply=apply, y=y, **carried,
               halved=[shifted_with_half(value << GELU_FRAC_BITS, shift) for value in y])
    span = GELU_RANGE << GELU_FRAC_BITS
    rounded = [round_half_up(halved) + span for halved in g0.halved]
    clamped = [Mux(value < 0, 0, Mux(value > 2 * span, 2 * span, value)) for value in rounded]
    g1 = stage(m, f"{prefix}1", valid=g0.valid, apply=g0.apply, y=g0.y, **_of(g0, carried),
               segment=[value[_PLACE_BITS:].as_unsigned()[:(2 * span).bit_length()
                                                          - _PLACE_BITS]
                        for value in clamped],
               place=[value[:_PLACE_BITS] for value in clamped])
    table = [int(point) for point in gelu_table()]
    points = table + [table[-1]] * ((1 << len(g1.segment[0])) - len(table))
    rises = [high - low for low, high in zip(points, points[1:] + points[-1:])]
    g2 = stage(m, f"{prefix}2", valid=g1.valid, apply=g1.apply, y=g1.y, place=g1.place,
               **_of(g1, carried),
               point=[table_lookup([Const(p, GELU_PHI_BITS + 1) for p in points], segment)
                      for segment in g1.segment],
               rise=[table_lookup([Const(r, max(rises).bit_length()) for r in rises], segment)
                     for segment in g1.segment])
    half = 1 << (_PLACE_BITS - 1)
    g3 = stage(m, f"{prefix}3", valid=g2.valid, apply=g2.apply, y=g2.y, **_of(g2, carried),
               phi=[(point + ((rise * place + half) >> _PLACE_BITS))[:GELU_PHI_BITS + 1]
                    for point, rise, place in zip(g2.point, g2.rise, g2.place)])
    product = pipelined_products(m, f"{prefix}p", list(zip(g3.y, g3.phi)), g3.valid,
                                 apply=g3.apply, y=g3.y, **_of(g3, carried))
    rounding = 1 << (GELU_PHI_BITS - 1)
    g4 = stage(m, f"{prefix}4", valid=product.valid, **_of(product, carried),
               y=[Mux(product.apply, ((value + rounding) >> GELU_PHI_BITS)[:len(y_in)], y_in)
                  for value, y_in in zip(product.products, product.y)])
    g4.depth = 5 + product.depth
    check_stages("PPU's GELU", g4.depth, gelu_stages(config))
    return g4


def _of(previous, carried):
    """The carried values as the previous stage registered them."""
    return {key: getattr(previous, key) for key in carried}
