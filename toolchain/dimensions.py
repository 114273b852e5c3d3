"""The buffers and matmuls of the encoder tiles for any n, d_model, dk, h, d_ff, read off
the compiled command lists in a configuration's format.

    python -m vsq_accel.toolchain.dimensions [--n 25000] [--d-model 512] [--dk 64] [--heads 8]
                                [--d-ff 2048] [--config FILE.json]

prints, for SA (one head), MHSA and FFN, every region the tile's program places in a
buffer (its entries and bytes in the configuration's format: V elements of N bits and
an M-bit scale per operand entry, padded to whole vectors), and every matmul command's
shape and MACs, merged where equal. MHSA's heads have equal shapes: one is
compiled and counted h times.
"""

import argparse
import sys

import numpy as np

from vsq_accel.golden.tile_weights import AttentionHead, FeedForward
from vsq_accel.spec.commands import Buffer, Matmul, entry_bits
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.compiler import (ShapeCalibration, compile_attention_head,
                                          compile_feed_forward, compile_linear)

__all__ = ["tile_dimensions", "main"]


def tile_dimensions(n, d_model, dk, heads, d_ff, config):
    """{tile: {"tensors": [(name, buffer, entries, bytes)],
    "matmuls": [(op, M, K, N, times)]}}."""
    zeros, calibration = np.zeros, ShapeCalibration(config)
    head = AttentionHead(zeros((d_model, dk)), zeros((d_model, dk)), zeros((d_model, dk)),
                         zeros(dk), zeros(dk), zeros(dk))
    attention = compile_attention_head(zeros((n, d_model)), head, config, calibration, False)
    width = heads * -(-dk // config.vector_size) * config.vector_size   # heads on vectors
    concat = compile_linear(zeros((n, width)), zeros((width, d_model)), None, config,
                            calibration, "output projection", bounded=False,
                            reduction=heads * dk)
    ffn = compile_feed_forward(zeros((n, d_model)), FeedForward(
        zeros((d_model, d_ff)), zeros(d_ff), zeros((d_ff, d_model)), zeros(d_model)), config,
        calibration, bounded=False)
    return {
        "SA (one head)": _describe([(attention, 1, {})], config),
        "MHSA": _describe([(attention, heads, {"o": None}),      # O goes into concat_op
                           (concat, 1, {"x": "concat_op"})], config),
        "FFN": _describe([(ffn, 1, {})], config),
    }


def _describe(programs, config):
    """Regions and merged matmuls of (program, times, renamed regions) parts (renamed to
    None: left out); a region of a part that runs more than once (a head) is per run."""
    tensors, matmuls = [], {}
    for program, times, renames in programs:
        for name, region in program.allocations:
            if name == "x.right":
                continue                         # X once, though loaded into both buffers
            name = renames.get(name, name)
            if name is None:
                continue
            if times > 1 and name != "x":
                name += f" (per head, x {times})"
            entries = region.rows * region.vectors
            tensors.append((name, Buffer(region.buffer).name, entries,
                            entries * entry_bits(config, region.buffer) / 8))
        for command in program.commands:
            if isinstance(command, Matmul):
                key = (command.trace["op"], command.m, command.trace["reduction"], command.n)
                matmuls[key] = matmuls.get(key, 0) + times
    return {"tensors": tensors, "matmuls": [key + (times,) for key, times in matmuls.items()]}


def _human(count):
    for unit in ("", "K", "M", "G", "T"):
        if count < 1000:
            return f"{count:.4g}{unit}"
        count /= 1000
    return f"{count:.4g}P"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.toolchain.dimensions",
                                     description="Buffers, bytes and MACs of the SA, MHSA "
                                                 "and FFN tiles, from their command lists.")
    for flag, default in (("--n", 25000), ("--d-model", 512), ("--dk", 64), ("--heads", 8),
                          ("--d-ff", 2048)):
        parser.add_argument(flag, type=int, default=default)
    parser.add_argument("--config", metavar="FILE",
                        help="configuration JSON (default: the built-in default)")
    args = parser.parse_args(argv)
    for name in ("n", "d_model", "dk", "heads", "d_ff"):
        value = getattr(args, name)
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    config = AcceleratorConfig.load_for_command_line(args.config)
    tiles = tile_dimensions(args.n, args.d_model, args.dk, args.heads, args.d_ff, config)
    for tile, parts in tiles.items():
        print(f"\n{tile}  (n={args.n}, d_model={args.d_model}, dk={args.dk}, "
              f"h={args.heads}, d_ff={args.d_ff}; {config.format_name}, "
              f"{config.lanes} lanes x {config.vector_size})")
        print(f"  {'region':<30} {'buffer':<7} {'entries':>10} {'bytes':>10}")
        for name, buffer, entries, size in parts["tensors"]:
            print(f"  {name:<30} {buffer:<7} {entries:>10} {_human(size):>10}")
        total = 0
        for op, m, k, n, times in parts["matmuls"]:
            macs = times * m * k * n
            total += macs
            print(f"  {op:<18} {times:>6} x  M={m} K={k} N={n}: {_human(macs)} MACs")
        print(f"  total {_human(total)} MACs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
