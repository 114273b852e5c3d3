"""The command set's encoding: round trips at the widest values, widths, fields that do
not fit."""

import numpy as np
import pytest

from vsq_accel.spec.commands import (COMMANDS, CommandError, Matmul, command_bits, decode, encode,
                                     field_widths)
from vsq_accel.spec.config import AcceleratorConfig

SEED = 43
CONFIG = AcceleratorConfig(lanes=4)


@pytest.mark.parametrize("config", [AcceleratorConfig(), CONFIG,
                                    AcceleratorConfig(ppu_mult_bits=24, acc_bits=20,
                                                      left_buffer_vectors=1 << 20)])
def test_every_command_round_trips_through_its_word(config):
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    bits = command_bits(config)
    assert bits % 32 == 0
    for cls in COMMANDS.values():
        widths = field_widths(cls, config)
        for values in ({name: (1 << width) - 1 for name, width, _ in widths},
                       {name: 0 for name, _, _ in widths},
                       {name: int(rng.integers(0, 1 << width)) for name, width, _ in widths}):
            command = cls(**values)
            word = encode(command, config)
            assert 0 <= word < (1 << bits)
            assert decode(word, config) == command


def test_default_words_and_widths():
    config = AcceleratorConfig()
    # Addresses reach 16384 entries (15 bits); the matmul is the longest command.
    assert dict((name, bits) for name, bits, _ in field_widths(Matmul, config))["left_base"] == 15
    assert command_bits(config) == 256


def test_a_value_that_does_not_fit_its_field_is_named():
    with pytest.raises(CommandError, match=r"Matmul\.m=65536 does not fit its 16-bit field"):
        encode(Matmul(m=1 << 16), CONFIG)
    with pytest.raises(CommandError, match="opcode 7 is not a command"):
        decode(7, CONFIG)
