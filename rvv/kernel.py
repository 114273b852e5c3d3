"""Build the RVV softmax kernel (`softmax.c`) and run it on QEMU's RISC-V user mode.

    results = run_rows(rows, keeps, config, vlen=512)      # vl = VLEN / 32 logits

A row's results are the kernel's m, d, r and its outputs (probabilities, or the
exponentials as the tile programs write them), for comparison with the golden
softmax's vector kernel at P = vl.
"""

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from vsq_accel.spec.tables import exp2_table

__all__ = ["ToolchainMissing", "KernelRow", "build", "run_rows", "vector_length",
           "VLENS", "COMPILER", "EMULATOR"]

SOURCE = Path(__file__).resolve().parent / "softmax.c"
BUILD = Path(__file__).resolve().parent.parent / "build" / "rvv"
COMPILER, EMULATOR = "riscv64-linux-gnu-gcc", "qemu-riscv64"
# QEMU 7.2 takes VLEN 128 to 1024 ("Vector extension implementation only supports VLEN
# in the range [128, 1024]").
VLENS = (128, 256, 512, 1024)
SEW = 32
# A run of a test's rows takes well under a second; past this QEMU is stuck.
RUN_SECONDS = 120
PROBABILITIES, EXPONENTIALS = 0, 1


class ToolchainMissing(RuntimeError):
    """The cross compiler or QEMU is not installed."""


@dataclasses.dataclass(frozen=True)
class KernelRow:
    row_max: int
    row_sum: int
    reciprocal: int
    values: np.ndarray


def vector_length(vlen):
    """Logits per chunk: VLEN / 32 (32-bit elements, LMUL 1), at most 64 (the widest
    softmax unit a configuration takes)."""
    return min(vlen // SEW, 64)


def build():
    """Compile the kernel (static, rv64gcv) if the source changed; returns the binary."""
    for tool, package in ((COMPILER, "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross"),
                          (EMULATOR, "qemu-user")):
        if shutil.which(tool) is None:
            raise ToolchainMissing(f"{tool} is not installed: apt-get install {package} "
                                   f"(make test does it as root)")
    binary = BUILD / "softmax"
    if not binary.exists() or binary.stat().st_mtime < SOURCE.stat().st_mtime:
        BUILD.mkdir(parents=True, exist_ok=True)
        # Each process compiles to its own file, then renames: test workers may race.
        partial = BUILD / f"softmax.{os.getpid()}"
        subprocess.run([COMPILER, "-O2", "-march=rv64gcv", "-static", "-Wall", "-Werror",
                        "-o", str(partial), str(SOURCE)], check=True)
        os.replace(partial, binary)
    return binary


def run_rows(rows, keeps, config, vlen, exponentials=False, trace=None):
    """The kernel on each row (a sequence of integer logit arrays, with their keep
    flags) under `qemu-riscv64 -cpu rv64,v=true,vlen=<vlen>`, with chunks of
    vector_length(vlen) logits; returns a KernelRow per row. `trace`: a file for QEMU's
    log of every instruction executed (`instruction_counts`)."""
    if config.softmax_exp_bits + 1 + config.softmax_recip_bits > SEW:
        raise ValueError(
            f"softmax_exp_bits={config.softmax_exp_bits} and softmax_recip_bits="
            f"{config.softmax_recip_bits}: term x r needs more than {SEW} bits")
    vl = vector_length(vlen)
    header = [len(rows), vl, config.softmax_frac_bits, config.softmax_exp_bits + 2,
              config.softmax_recip_shift, config.softmax_out_shift, config.softmax_out_max,
              config.softmax_sum_bits + 1,
              -((-config.softmax_logit_min) >> config.softmax_frac_bits),
              EXPONENTIALS if exponentials else PROBABILITIES]
    parts = [np.array(header, np.int64), exp2_table(config).astype(np.int64)]
    for logits, keep in zip(rows, keeps):
        parts += [np.array([len(logits)], np.int64), np.asarray(logits, np.int64),
                  np.asarray(keep, np.int64)]
    command = [EMULATOR, "-cpu", f"rv64,v=true,vext_spec=v1.0,vlen={vlen}"]
    if trace is not None:
        command += ["-singlestep", "-d", "exec,nochain", "-D", str(trace)]
    try:
        done = subprocess.run(command + [str(build())], input=np.concatenate(parts).tobytes(),
                              capture_output=True, check=False, timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the kernel ran past {RUN_SECONDS} s on {len(rows)} rows of "
                           f"{sum(map(len, rows))} logits (VLEN {vlen}): QEMU hangs") from None
    if done.returncode:
        raise RuntimeError(f"the kernel failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
    output, results, at = np.frombuffer(done.stdout, np.int64), [], 0
    for logits in rows:
        m, d, r = (int(value) for value in output[at:at + 3])
        results.append(KernelRow(m, d, r, output[at + 3:at + 3 + len(logits)].copy()))
        at += 3 + len(logits)
    return results
