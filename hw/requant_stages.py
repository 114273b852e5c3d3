"""The requantization's arithmetic, as `golden.ppu.requantize_rows` computes it, shared
by the column requantizer (the array's results) and the row requantizer (the softmax's
exponentials): a vector's scale and reciprocal from its max |y|, and each element's
operand value from y. Both are pipelines that never stall."""

from amaranth import Const, Mux

from golden.ppu import reciprocal_table
from hw.arith import rhu_variable, table_lookup
from hw.pipeline import stage

__all__ = ["scale_stages", "element_stages", "SCALE_STAGES", "ELEMENT_STAGES"]

SCALE_STAGES = 3
ELEMENT_STAGES = 4


def scale_stages(m, prefix, config, valid, magnitudes, scale_mult, scale_shift, **carried):
    """Each vector's max |y| to its scale and reciprocal: ``prefix1_`` times the scale
    multiplier -> ``prefix2_`` s_q = clamp(ceil(. / 2^shift), 1, 2^M - 1) -> ``prefix3_``
    floor(2^R / s_q) from a table of the 2^M - 1 scale values (no divider). Returns the
    last stage: `scale` and `reciprocal` per vector, and the `carried` values."""
    s1 = stage(m, f"{prefix}1", valid=valid, **carried, scale_shift=scale_shift,
               scaled=[amax * scale_mult for amax in magnitudes])
    ceilings = [-((-scaled) >> s1.scale_shift) for scaled in s1.scaled]
    forward = {key: getattr(s1, key) for key in carried}
    s2 = stage(m, f"{prefix}2", valid=s1.valid, **forward,
               scale=[Mux(ceiling < 1, 1, Mux(ceiling > config.scale_max, config.scale_max,
                                              ceiling))[:config.scale_bits]
                      for ceiling in ceilings])
    table = [Const(int(value), config.ppu_recip_bits + 1) for value in reciprocal_table(config)]
    forward = {key: getattr(s2, key) for key in carried}
    return stage(m, f"{prefix}3", valid=s2.valid, **forward, scale=s2.scale,
                 reciprocal=[table_lookup(table, scale) for scale in s2.scale])


def element_stages(m, prefix, config, valid, values, element_mult, reciprocals, element_shift,
                   **carried):
    """Each y to its operand element, given its vector's reciprocal (None without vector
    scales, for 1): ``prefix0_`` y times the element multiplier -> ``prefix1_`` that times each
    half of the reciprocal -> ``prefix2_`` their sum -> ``prefix3_`` rounded half up by
    the element shift + R and clipped to +-(2^(N-1) - 1). Returns the last stage: `x`
    per element, and the `carried` values."""
    recip_shift = 0 if reciprocals is None else config.ppu_recip_bits
    half = (config.ppu_recip_bits + 1) // 2
    scaled = {} if reciprocals is None else {"reciprocals": list(reciprocals)}
    e0 = stage(m, f"{prefix}0", valid=valid, **carried, **scaled,
               shift=element_shift + recip_shift,
               product=[value * element_mult for value in values])
    forward = {key: getattr(e0, key) for key in carried}
    if reciprocals is None:
        halves = {"low": e0.product}
    else:
        halves = {"low": [p * r[:half] for p, r in zip(e0.product, e0.reciprocals)],
                  "high": [p * r[half:] for p, r in zip(e0.product, e0.reciprocals)]}
    e1 = stage(m, f"{prefix}1", valid=e0.valid, **forward, shift=e0.shift, **halves)
    forward = {key: getattr(e1, key) for key in carried}
    products = (e1.low if reciprocals is None
                else [(high << half) + low for low, high in zip(e1.low, e1.high)])
    e2 = stage(m, f"{prefix}2", valid=e1.valid, **forward, shift=e1.shift, product=products)
    qmax = config.data_max
    rounded = [rhu_variable(product, e2.shift) for product in e2.product]
    forward = {key: getattr(e2, key) for key in carried}
    return stage(m, f"{prefix}3", valid=e2.valid, **forward,
                 x=[Mux(v > qmax, qmax, Mux(v < -qmax, -qmax, v))[:config.data_bits]
                    for v in rounded])
