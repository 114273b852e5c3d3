"""The RVV softmax kernel on QEMU, bit for bit against the golden softmax's vector
kernel at P = vl: random rows around the chunk edges, the extremes of the logit range,
masked keys and real MiniLM rows; and its instruction-count model against QEMU's log."""

import numpy as np
import pytest

from vsq_accel.accuracy.arithmetic import FloatArithmetic
from vsq_accel.accuracy.encoder_study import long_passages
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.api.emulator import Emulator
from vsq_accel.golden.softmax import (softmax_exponentials, softmax_reciprocal,
                                      softmax_row_vector_kernel)
from vsq_accel.rvv import kernel
from vsq_accel.rvv.ara import LANES, AraAssumptions, ara_cycles
from vsq_accel.rvv.instructions import clamped_rises, profile, traced_instructions
from vsq_accel.rvv.kernel import VLENS, run_rows, vector_length
from vsq_accel.spec.config import AcceleratorConfig

SEED = 20261204


def config_for(vlen, **keys):
    return AcceleratorConfig(softmax_width=vector_length(vlen), **keys)


def check_rows(rows, keeps, config, vlen):
    """Every row in both of loop 2's outputs: m, d, r and the values, as golden."""
    for exponentials in (False, True):
        results = run_rows(rows, keeps, config, vlen, exponentials)
        for logits, keep, got in zip(rows, keeps, results):
            want = softmax_row_vector_kernel(logits, keep, config)
            values = (softmax_exponentials(np.asarray(logits)[None], np.asarray(keep)[None],
                                           np.array([want.row_max]), config)[0]
                      if exponentials else want.probs)
            assert (got.row_max, got.row_sum) == (want.row_max, want.row_sum), len(logits)
            assert got.reciprocal == softmax_reciprocal(np.array([want.row_sum]), config)[0]
            assert np.array_equal(got.values, values), (len(logits), exponentials)


def edge_rows(config, rng):
    """Lengths 1, vl - 1, vl, vl + 1, 197 and 1024: random logits and keep flags, then
    the extremes: every logit the most negative or the largest, both alternating, a row
    with nothing kept and a row with only its last logit kept."""
    vl, low, high = config.softmax_lanes, config.softmax_logit_min, config.softmax_logit_max
    lengths = sorted({1, max(vl - 1, 1), vl, vl + 1, 197, 1024})
    rows = [rng.integers(low, high + 1, n) for n in lengths]
    keeps = [rng.random(n) < 0.85 for n in lengths]
    n = 2 * vl + 3
    alternating = np.where(np.arange(n) % 2, high, low)
    rows += [np.full(n, low), np.full(n, high), alternating, alternating, alternating]
    last_only = np.arange(n) == n - 1
    keeps += [np.ones(n, bool)] * 3 + [np.zeros(n, bool), last_only]
    return rows, keeps


@pytest.mark.parametrize("vlen", VLENS)
def test_rvv_kernel_is_bit_exact_on_edge_rows(vlen):
    print(f"seed {SEED}")
    config = config_for(vlen)
    check_rows(*edge_rows(config, np.random.default_rng(SEED + vlen)), config, vlen)


def test_rvv_kernel_takes_other_softmax_widths():
    """Narrow logits (8 bits, F = 0) and wide ones (16 bits, F = 4, 16-bit terms)."""
    print(f"seed {SEED}")
    rng = np.random.default_rng(SEED)
    for keys in ({"softmax_logit_bits": 8, "softmax_frac_bits": 0},
                 {"softmax_logit_bits": 16, "softmax_frac_bits": 4, "softmax_exp_bits": 15,
                  "softmax_recip_bits": 16, "ppu_bits": 16}):
        config = config_for(256, **keys)
        check_rows(*edge_rows(config, rng), config, 256)


class _Recording(FloatArithmetic):
    """Float arithmetic that keeps every head's Q and K."""

    def __init__(self):
        self.heads = []

    def attention(self, q, k, v, mask):
        self.heads.append((q, k))
        return super().attention(q, k, v, mask)


@pytest.mark.parametrize("vlen", [128, 1024])
def test_rvv_kernel_is_bit_exact_on_minilm_rows(vlen):
    """A 200-token passage through MiniLM: every head's base-2 integer logits (as the
    array's Q K^T gives them), one query row per head, half the keys masked in some."""
    model = MiniLM()
    passage = long_passages(model, count=1, min_tokens=200)[0]
    recording = _Recording()
    model.embed([passage], recording)
    config = config_for(vlen)
    emulator = Emulator(config)
    rows = [emulator.logits(q, k).values[index % len(q)]
            for index, (q, k) in enumerate(recording.heads)]
    keeps = [np.arange(len(row)) < (len(row) if index % 3 else len(row) // 2)
             for index, row in enumerate(rows)]
    check_rows(rows, keeps, config, vlen)


@pytest.mark.parametrize("vlen", [128, 512])
def test_rvv_instruction_counts_follow_the_model(vlen):
    """Per row and per chunk from a reference row, checked on other rows: QEMU's count
    of what the kernel executed equals the model's, clamps and empty rows included."""
    print(f"seed {SEED}")
    config, rng = config_for(vlen), np.random.default_rng(SEED)
    vl = config.softmax_lanes
    for exponentials in (False, True):
        counts = profile(config, vlen, exponentials)
        for n in (1, vl + 1, 197):
            for keep in (rng.random(n) < 0.8, np.zeros(n, bool)):
                logits = rng.integers(config.softmax_logit_min, config.softmax_logit_max, n)
                executed = traced_instructions(logits, keep, config, vlen, exponentials)
                assert len(executed) == counts.instructions(
                    -(-n // vl), clamped_rises(logits, keep, config, vl), keep.any())


def test_ara_estimate_is_bound_by_the_lut_gather():
    """With one gathered element a cycle, both loops gather every logit: a long row
    takes at least 2 cycles a logit on any lane count, and more lanes never cost more."""
    counts = profile(config_for(128), 128, exponentials=True)
    for length in (197, 25_000):
        cycles = [ara_cycles(length, lanes, counts) for lanes in LANES]
        assert all(value >= 2 * length for value in cycles)
        assert cycles == sorted(cycles, reverse=True)
    faster = AraAssumptions(indexed_elements=8)
    assert ara_cycles(25_000, 4, counts, faster) < ara_cycles(25_000, 4, counts)


def test_rvv_missing_toolchain_names_the_packages(monkeypatch):
    monkeypatch.setattr(kernel.shutil, "which", lambda tool: None)
    with pytest.raises(kernel.ToolchainMissing, match="apt-get install gcc-riscv64-linux-gnu"):
        kernel.build()


def test_rvv_kernel_refuses_terms_wider_than_its_elements():
    config = config_for(128, softmax_exp_bits=16, softmax_recip_bits=24)
    with pytest.raises(ValueError, match="term x r needs more than 32 bits"):
        run_rows([np.zeros(3, np.int64)], [np.ones(3, bool)], config, 128)
