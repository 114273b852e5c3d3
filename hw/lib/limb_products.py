"""Wide products cut to the FPGA's multipliers: an ECP5 DSP block multiplies 18 x 18
signed bits, so a 40 x 16-bit product is several blocks whose sum, left to the fabric
in the same cycle as the multiplies, would be the longest path of the PPU and the
requantizer. Here each product of 17-bit pieces (limbs) gets its own register stage,
and the shifted pieces are summed in a pipelined adder tree."""

from amaranth import Value

from vsq_accel.hw.lib.arith import add
from vsq_accel.hw.lib.pipeline import pipelined_trees, stage
from vsq_accel.spec.timing import LIMB_BITS

__all__ = ["pipelined_products"]


def _limbs(value):
    """(limb, offset) pieces of a value: unsigned limbs, the top one signed if it is."""
    value = Value.cast(value)
    width, signed = len(value), value.shape().signed
    pieces = []
    for offset in range(0, width, LIMB_BITS):
        limb = value[offset:offset + LIMB_BITS]
        pieces.append((limb.as_signed() if signed and offset + LIMB_BITS >= width else limb,
                       offset))
    return pieces


def pipelined_products(m, prefix, pairs, valid, adds_per_stage=1, kept=(), **carried):
    """a * b for each (a, b) in `pairs`: ``prefix_p_`` every limb product, then the
    adder tree of the shifted limb products, `adds_per_stage` levels a stage
    (``prefix_s0_``, ...). Returns the last stage: the `products`, `valid`, the `carried`
    values (`kept` as in `hw.lib.pipeline.stage`), and `depth`, the stages added. A
    product has the width of a times b (the sum of the shifted limbs would be wider), so
    a product multiplied again is cut into the limbs `spec.timing.product_stages`
    counts."""
    terms = [[(a_limb * b_limb, a_offset + b_offset)
              for a_limb, a_offset in _limbs(a) for b_limb, b_offset in _limbs(b)]
             for a, b in pairs]
    counts = [len(group) for group in terms]
    flat = stage(m, f"{prefix}_p", valid=valid, kept=kept, **carried,
                 limb=[product for group in terms for product, _ in group])
    groups, start = [], 0
    for group, count in zip(terms, counts):
        groups.append([flat.limb[start + index] << offset
                       for index, (_, offset) in enumerate(group)])
        start += count
    summed = pipelined_trees(m, f"{prefix}_s", groups, add, adds_per_stage, flat.valid,
                             {key: getattr(flat, key) for key in carried}, kept)
    summed.products = [_exact(product, a, b) for product, (a, b) in zip(summed.results, pairs)]
    summed.depth += 1
    return summed


def _exact(product, a, b):
    """`product` cut to the width of a x b, which holds every product of the two."""
    a, b = Value.cast(a), Value.cast(b)
    value = product[:len(a) + len(b)]
    return value.as_signed() if a.shape().signed or b.shape().signed else value
