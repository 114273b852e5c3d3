"""Dynamic instruction counts of the RVV softmax kernel, from QEMU's log of every
instruction it executed (`-singlestep -d exec`), and the count model they check:

    instructions(row) = per_row + chunks x (loop 1's chunk + loop 2's chunk)
                        + (clamped rises - 1) - 3 x (nothing kept)

chunks = ceil(n / vl). A rise of the max by more than the sum's width clamps its shift
(one more instruction; the first chunk of a reference row does it); a row with nothing
kept skips the reciprocal's division (three fewer).
"""

import collections
import dataclasses
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from vsq_accel.golden.softmax import softmax_loop1, softmax_start
from vsq_accel.rvv.kernel import build, run_rows, vector_length

__all__ = ["KernelProfile", "profile", "traced_instructions", "chunk_mix", "clamped_rises"]

FUNCTION = "softmax_row"
_TRACE_PC = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


@dataclasses.dataclass(frozen=True)
class KernelProfile:
    """Per-row and per-chunk instruction counts, and each loop's chunk by mnemonic."""

    per_row: int
    loop1: collections.Counter
    loop2: collections.Counter

    @property
    def per_chunk(self):
        return sum(self.loop1.values()) + sum(self.loop2.values())

    def instructions(self, chunks, clamps=1, kept=True):
        return self.per_row + chunks * self.per_chunk + (clamps - 1) - (0 if kept else 3)


def _disassembly(binary):
    """{pc: mnemonic} of the kernel's function."""
    listing = subprocess.run(["riscv64-linux-gnu-objdump", "-d", "--no-show-raw-insn",
                              str(binary)], capture_output=True, text=True, check=True).stdout
    body = listing.split(f"<{FUNCTION}>:\n", 1)[1].split("\n\n", 1)[0]
    instructions = {}
    for line in body.splitlines():
        address, _, text = line.strip().partition(":\t")
        instructions[int(address, 16)] = text.split()[0]
    return instructions


def traced_instructions(logits, keep, config, vlen, exponentials=False):
    """The mnemonics the kernel's function executed on one row, in order (QEMU's log)."""
    code = _disassembly(build())
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "trace.log"
        run_rows([logits], [keep], config, vlen, exponentials, trace=log)
        pcs = [int(match[1], 16) for line in log.read_text().splitlines()
               if (match := _TRACE_PC.match(line))]
    return [code[pc] for pc in pcs if pc in code]


def chunk_mix(mnemonics):
    """Split an executed sequence at each vsetvli: the chunks of loop 1 (with vredmax)
    and loop 2 (with vse32), each a Counter of mnemonics."""
    starts = [index for index, name in enumerate(mnemonics) if name == "vsetvli"]
    chunks = [collections.Counter(mnemonics[a:b])
              for a, b in zip(starts, starts[1:] + [len(mnemonics)])]
    return ([chunk for chunk in chunks if chunk["vredmax.vs"]],
            [chunk for chunk in chunks if chunk["vse32.v"]])


def profile(config, vlen, exponentials=False):
    """The model's counts, from a reference row of four full chunks of equal logits:
    a middle chunk of each loop, and the rest as the per-row count."""
    chunks = 4
    row = np.zeros(chunks * vector_length(vlen), np.int64)
    mnemonics = traced_instructions(row, np.ones(len(row), bool), config, vlen, exponentials)
    loop1, loop2 = chunk_mix(mnemonics)
    per_chunk = sum(loop1[1].values()) + sum(loop2[1].values())
    return KernelProfile(len(mnemonics) - chunks * per_chunk, loop1[1], loop2[1])


def clamped_rises(logits, keep, config, vl):
    """Chunks whose max rises by more than the sum's shift limit (sum_bits + 1): the
    golden loop 1 fed a chunk of vl logits at a time."""
    row_max, row_sum = softmax_start(1, config)
    clamps = 0
    for first in range(0, len(logits), vl):
        chunk = slice(first, first + vl)
        new_max, row_sum = softmax_loop1(np.asarray(logits)[None, chunk],
                                         np.asarray(keep)[None, chunk], row_max, row_sum,
                                         config)
        clamps += int(new_max[0] - row_max[0]) > config.softmax_sum_bits + 1
        row_max = new_max
    return clamps
