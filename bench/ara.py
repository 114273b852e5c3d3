"""NVIDIA's softmax on Ara: the RVV kernel's instructions per row (QEMU), its estimated
cycles on Ara with 2 to 16 lanes (`rvv.ara`), and the softmax unit's cycles per row
(P = 16) beside them; rows of 128, 197, 1024 and 25 000 logits, as the tile programs
run them (loop 2 writes the exponentials, r beside them).

The unit takes a row in beats of P logits, loop 1 of one row beside loop 2 of the one
before, so a row costs a beat per P logits in a stream of rows (`perf.model`; the RTL
measures 8.15 and 13.17 cycles per row of 128 and 197, `softmax.json`). A row of 25 000
runs as blocks of at most softmax_max_row keys with the same beats (one-pass attention).
"""

import math

from vsq_accel.perf.model import softmax_cycles
from vsq_accel.rvv.ara import LANES, AraAssumptions, ara_cycles
from vsq_accel.rvv.instructions import profile
from vsq_accel.rvv.kernel import vector_length
from vsq_accel.spec.config import AcceleratorConfig

__all__ = ["run", "LENGTHS"]

LENGTHS = (128, 197, 1024, 25_000)
QEMU_VLEN = 1024
STREAM_ROWS = 1000
# What a vector machine would need: the LUT read at the lanes' rate (an in-register
# gather as fast as the ALU), instead of an indexed load of one element a cycle.
LANE_RATE_GATHER = "lane_rate_gather"


def run():
    config = AcceleratorConfig(softmax_width=vector_length(QEMU_VLEN))
    counts = profile(config, QEMU_VLEN, exponentials=True)
    unit = AcceleratorConfig(softmax_max_row=4096)
    results = {"ara_instructions_per_row": counts.per_row,
               "ara_instructions_per_chunk": counts.per_chunk,
               "ara_vector_instructions_per_chunk": sum(
                   count for mix in (counts.loop1, counts.loop2)
                   for name, count in mix.items() if name.startswith("v")),
               "unit_softmax_lanes": unit.softmax_lanes}
    for length in LENGTHS:
        blocks = [min(unit.softmax_max_row, length - first)
                  for first in range(0, length, unit.softmax_max_row)]
        results[f"unit_cycles_row{length}"] = sum(
            softmax_cycles(STREAM_ROWS, block, unit) for block in blocks) / STREAM_ROWS
        for lanes in LANES:
            chunk = AraAssumptions().vlen_per_lane * lanes // 32
            results[f"ara_instructions_l{lanes}_row{length}"] = counts.instructions(
                math.ceil(length / chunk))
            results[f"ara_cycles_l{lanes}_row{length}"] = ara_cycles(length, lanes, counts)
            faster = AraAssumptions(indexed_elements=2 * lanes)
            results[f"ara_cycles_{LANE_RATE_GATHER}_l{lanes}_row{length}"] = ara_cycles(
                length, lanes, counts, faster)
    return results
