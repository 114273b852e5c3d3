"""Functional coverage of the command set: the kinds of command the RTL ran, against the
kinds the compiler emits and the errors the engine can stop with.

A command's bins: its opcode; for a MATMUL its mode (output kind x relu x gelu x
row_scale x per_row x accumulate x rescale), for a SOFTMAX its loops (loop1 x first x
loop2); and every buffer it reads or writes, by role. The bins to hit are those of the
compiler's programs (SA, MHSA, FFN, the FFN with its GELU in the PPU and on the host;
rows that fit the softmax and rows four times longer) and every `EngineError` but NONE.
The accelerator's harness records each command that retires and each error code it
reads (`Recorder`) into command_coverage.json in the test's folder; `sim/coverage.py`
merges them.
"""

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np

from vsq_accel.golden.tile_float import gelu
from vsq_accel.golden.tile_program import calibrate
from vsq_accel.golden.tile_weights import (random_attention_head, random_feed_forward,
                                           random_multi_head)
from vsq_accel.spec.commands import Buffer, Load, Matmul, Output, Softmax, Store
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.host_interface import EngineError
from vsq_accel.toolchain.compiler import COMPILERS, compile_feed_forward

__all__ = ["command_bins", "expected_bins", "Recorder", "FILE_NAME"]

FILE_NAME = "command_coverage.json"
_FLAGS = ("relu", "gelu", "row_scale", "per_row", "accumulate", "rescale")


def command_bins(command):
    """The bins a command falls in (strings)."""
    op = type(command).__name__.upper()
    bins = {f"op {op}"}
    name = Buffer(command.buffer).name if isinstance(command, (Load, Store)) else None
    if isinstance(command, Load):
        bins.add(f"LOAD writes {name}")
    elif isinstance(command, Store):
        bins.add(f"STORE reads {name}")
    elif isinstance(command, Matmul):
        flags = " ".join(flag for flag in _FLAGS if getattr(command, flag))
        bins.add(f"MATMUL {Output(command.output).name} {flags or 'plain'}")
        reads = {"LEFT", "RIGHT"}
        reads |= {"PARAMS"} if command.output != Output.ACC else set()
        reads |= {"STATE"} if command.row_scale or command.rescale else set()
        reads |= {"ACC"} if command.accumulate else set()
        bins |= {f"MATMUL reads {buffer}" for buffer in reads}
        bins.add(f"MATMUL writes {Buffer(command.dest).name}")
    elif isinstance(command, Softmax):
        loops = " ".join(f"{flag}={getattr(command, flag)}" for flag in ("loop1", "first", "loop2"))
        bins.add(f"SOFTMAX {loops}")
        bins |= {"SOFTMAX reads SCORES", "SOFTMAX writes STATE"}
        bins |= {"SOFTMAX reads STATE"} if not command.first else set()
        bins |= {f"SOFTMAX writes {Buffer(command.dest).name}"} if command.loop2 else set()
    return bins


@functools.cache
def expected_bins():
    """The bins of the compiler's programs on a small configuration, and every error."""
    config = AcceleratorConfig(lanes=4, softmax_max_row=16)
    gelu_ppu = dataclasses.replace(config, ppu_gelu=True)
    rng = np.random.default_rng(0)
    bins = {f"error {code.name}" for code in EngineError if code != EngineError.NONE}
    weights = {"sa": random_attention_head(rng, 32, 16), "mhsa": random_multi_head(rng, 32, 2, 16),
               "ffn": random_feed_forward(rng, 32, 64)}
    for tokens in (7, 4 * config.softmax_max_row + 1):
        x = rng.normal(size=(tokens, 32))
        for tile, compile_tile in COMPILERS.items():
            _, _, calibration = calibrate(tile, x, weights[tile], config)
            for command in compile_tile(x, weights[tile], config, calibration).commands:
                bins |= command_bins(command)
        _, _, calibration = calibrate("ffn", x, weights["ffn"], config)
        for activation, on in ((gelu, config), ("gelu", gelu_ppu)):
            for command in compile_feed_forward(x, weights["ffn"], on, calibration,
                                                activation=activation).commands:
                bins |= command_bins(command)
    return frozenset(bins)


@dataclasses.dataclass
class Recorder:
    """The bins a testbench's runs hit, written to FILE_NAME in the current folder (the
    test's) whenever one is new."""

    hit: set = dataclasses.field(default_factory=set)

    def command(self, command):
        self._add(command_bins(command))

    def error(self, code):
        if code != EngineError.NONE:
            self._add({f"error {EngineError(code).name}"})

    def _add(self, bins):
        if not bins <= self.hit:
            self.hit |= bins
            Path(FILE_NAME).write_text(json.dumps(sorted(self.hit)) + "\n")
