"""The PPU's GELU stages: y to GELU(y) in y's unit 2^-s, lane by lane, as the golden
`golden.gelu` computes it, on a PPU built with `ppu_gelu`."""

from amaranth import Const, Mux

from vsq_accel.hw.lib.arith import round_half_up, saturate, shifted_with_half, table_lookup
from vsq_accel.hw.lib.limb_products import pipelined_products
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.spec.tables import (GELU_FRAC_BITS, GELU_PHI_BITS, GELU_RANGE,
                                   GELU_SEGMENT_BITS, gelu_table)
from vsq_accel.spec.timing import check_stages, gelu_stages

__all__ = ["gelu"]

_PLACE_BITS = GELU_FRAC_BITS - GELU_SEGMENT_BITS


def gelu(m, prefix, config, valid, y, apply, shift, **carried):
    """Stages ``g0_`` 2 y 2^Q >> s -> ``gx_`` x rounded -> ``g1_`` x clamped to the
    table's range, as its segment and place -> ``g2_`` the segment's point and rise from
    the table -> ``gm_`` the rise times the place -> ``g3_`` Phi interpolated -> y * Phi
    (limb products) -> ``g4_`` rounded:
    GELU(y) in the lanes where `apply`, y in the others. Returns the last stage (`y`,
    `valid`, the `carried` values) and its `depth`."""
    g0 = stage(m, f"{prefix}0", valid=valid, apply=apply, y=y, **carried,
               halved=[shifted_with_half(value << GELU_FRAC_BITS, shift) for value in y])
    gx = stage(m, f"{prefix}x", valid=g0.valid, apply=g0.apply, y=g0.y, **_of(g0, carried),
               x=[round_half_up(halved) for halved in g0.halved])
    # Clamped in two steps: to a few bits past the range by a reduction of the top bits
    # (`saturate`), then to the range by comparisons that short.
    span = GELU_RANGE << GELU_FRAC_BITS
    short = [saturate(x, (2 * span).bit_length() + 1) for x in gx.x]
    clamped = [Mux(x < -span, 0, Mux(x > span, 2 * span, x + span)) for x in short]
    g1 = stage(m, f"{prefix}1", valid=gx.valid, apply=gx.apply, y=gx.y, **_of(gx, carried),
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
    gm = stage(m, f"{prefix}m", valid=g2.valid, apply=g2.apply, y=g2.y, point=g2.point,
               **_of(g2, carried),
               rise=[rise * place for rise, place in zip(g2.rise, g2.place)])
    half = 1 << (_PLACE_BITS - 1)
    g3 = stage(m, f"{prefix}3", valid=gm.valid, apply=gm.apply, y=gm.y, **_of(gm, carried),
               phi=[(point + ((rise + half) >> _PLACE_BITS))[:GELU_PHI_BITS + 1]
                    for point, rise in zip(gm.point, gm.rise)])
    product = pipelined_products(m, f"{prefix}p", list(zip(g3.y, g3.phi)), g3.valid,
                                 apply=g3.apply, y=g3.y, **_of(g3, carried))
    rounding = 1 << (GELU_PHI_BITS - 1)
    g4 = stage(m, f"{prefix}4", valid=product.valid, **_of(product, carried),
               y=[Mux(product.apply, ((value + rounding) >> GELU_PHI_BITS)[:len(y_in)], y_in)
                  for value, y_in in zip(product.products, product.y)])
    g4.depth = 7 + product.depth
    check_stages("PPU's GELU", g4.depth, gelu_stages(config))
    return g4


def _of(previous, carried):
    """The carried values as the previous stage registered them."""
    return {key: getattr(previous, key) for key in carried}
