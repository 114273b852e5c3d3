"""Cycles of the RVV softmax kernel on Ara (CVA6 plus Ara's lanes), estimated from the
kernel's measured instruction mix (`instructions.profile`) and Ara's published
microarchitecture. Every assumption is a named field of `AraAssumptions`; the estimate is
a model, not a simulation of Ara's RTL.

Loop 1 is a chain per chunk: the chunk's max must reach the scalar core (a reduction,
then vmv.x.s) before its terms can be formed, and the sum must come back before the
next chunk's rescale; so a chunk costs its two vector segments end to end, each a
pipeline fill plus the slowest unit's occupancy, plus two round trips and the scalar
instructions. Loop 2's chunks are independent: a chunk costs its busiest resource
(load/store unit, ALU, multiplier or the scalar core's issue of its instructions).
"""

import dataclasses
import math

__all__ = ["AraAssumptions", "ara_cycles", "LANES"]

LANES = (2, 4, 8, 16)
ELEMENT_BYTES = 4                                     # the kernel's SEW = 32


@dataclasses.dataclass(frozen=True)
class AraAssumptions:
    """Ara's microarchitecture as the estimate takes it.

    vlen_per_lane : VLEN = 1024 bits x lanes (Ara's configurations: 4 lanes, VLEN 4096),
        so a chunk is 32 x lanes logits of 32 bits.
    lane_bytes : each lane's datapath is 64 bits: 2 elements of 32 bits per cycle.
    memory_bytes_per_lane : the AXI data width is 32 bits x lanes.
    indexed_elements : indexed loads (the LUT gather) move one element per cycle.
    fill : cycles from issue to a vector instruction's first element (dispatcher,
        sequencer, operand fetch); chained instructions overlap all but their fill.
    memory_latency : cycles from a load's issue to its first data (an L2 hit).
    reduction_step : cycles per level of the tree across lanes (log2 lanes levels),
        after each lane reduces its own elements.
    round_trip : cycles for a vector result (vmv.x.s) to reach the scalar core.
    divide : cycles of CVA6's 64-bit division (the reciprocal, once per row).
    scalar_ipc : CVA6 issues one instruction a cycle, vector instructions included.
    """

    vlen_per_lane: int = 1024
    lane_bytes: int = 8
    memory_bytes_per_lane: int = 4
    indexed_elements: int = 1
    fill: int = 4
    memory_latency: int = 10
    reduction_step: int = 5
    round_trip: int = 10
    divide: int = 64
    scalar_ipc: float = 1.0


VECTOR_MEMORY = {"vle32.v", "vse32.v"}
INDEXED = {"vluxei32.v"}
MULTIPLIER = {"vmul.vx"}
REDUCTIONS = {"vredmax.vs", "vredsum.vs"}
TO_SCALAR = {"vmv.x.s"}
CONFIGURATION = {"vsetvli"}


def ara_cycles(length, lanes, profile, assumptions=AraAssumptions()):
    """Estimated cycles of one row of `length` logits on Ara with `lanes` lanes."""
    a = assumptions
    chunk = a.vlen_per_lane * lanes // (8 * ELEMENT_BYTES)
    full, last = divmod(length, chunk)
    sizes = [chunk] * full + ([last] if last else [])
    scalar_row = (profile.per_row - 1) / a.scalar_ipc + a.divide   # the div, as `divide`
    loop1 = sum(_loop1_chunk(vl, lanes, profile.loop1, a) for vl in sizes)
    loop2 = sum(_loop2_chunk(vl, lanes, profile.loop2, a) for vl in sizes)
    return math.ceil(scalar_row + loop1 + loop2)


def _occupancy(name, vl, lanes, a):
    """Cycles a unit is busy with one instruction on vl elements."""
    if name in VECTOR_MEMORY:
        return math.ceil(vl * ELEMENT_BYTES / (a.memory_bytes_per_lane * lanes))
    if name in INDEXED:
        return math.ceil(vl / a.indexed_elements)
    return math.ceil(vl * ELEMENT_BYTES / (a.lane_bytes * lanes))


def _busy(mix, vl, lanes, a):
    """Cycles each unit is busy with one chunk's vector instructions: the load/store unit
    (loads, stores and the gather, one after another), the multiplier, the ALU (the
    rest), and the longest single ALU instruction."""
    busy = {"memory": 0, "multiplier": 0, "alu": 0, "longest_alu": 0}
    for name, count in mix.items():
        if not name.startswith("v") or name in CONFIGURATION:
            continue
        cycles = _occupancy(name, vl, lanes, a)
        unit = ("memory" if name in VECTOR_MEMORY | INDEXED
                else "multiplier" if name in MULTIPLIER else "alu")
        busy[unit] += cycles * count
        if unit == "alu":
            busy["longest_alu"] = max(busy["longest_alu"], cycles)
    return busy


def _loop1_chunk(vl, lanes, mix, a):
    """Two segments end to end, each ending in a reduction read by the scalar core
    (loads and the ceiling; the terms through the gather): their fills, reduction trees
    and round trips, the memory unit's work, the ALU's chain (its ops overlap but for
    one occupancy) and the scalar instructions."""
    busy = _busy(mix, vl, lanes, a)
    reduction = a.reduction_step * math.ceil(math.log2(lanes))
    segments = 2 * (a.fill + reduction + a.round_trip) + a.memory_latency
    scalar = sum(count for name, count in mix.items() if not name.startswith("v"))
    chain = segments + busy["memory"] + busy["longest_alu"] + scalar / a.scalar_ipc
    return max(sum(mix.values()) / a.scalar_ipc, chain)


def _loop2_chunk(vl, lanes, mix, a):
    """Independent chunks: the busiest unit, or the scalar core's issue."""
    busy = _busy(mix, vl, lanes, a)
    return max(busy["memory"], busy["multiplier"], busy["alu"],
               sum(mix.values()) / a.scalar_ipc)
