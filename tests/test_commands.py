"""The command set: encoding round trips at the widest values, and every command list
the hardware would refuse is refused by the interpreter, naming the problem."""

import dataclasses

import numpy as np
import pytest

from vsq_accel.spec.commands import (COMMANDS, Buffer, CommandError, End, Load, Matmul, Output,
                                     Softmax, Store, command_bits, decode, encode, field_widths)
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.interpreter import Host, interpret

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


def _operands(count):
    return {"values": np.ones((count, CONFIG.vector_size), np.int64),
            "scales": np.ones(count, np.int64)}


def _run(commands, images=()):
    return interpret(commands, Host(images), CONFIG)


def test_a_region_outside_its_buffer_is_refused():
    size = CONFIG.left_buffer_vectors
    with pytest.raises(CommandError, match=rf"command 0 \(Load\) reaches LEFT entries "
                                           rf"{size - 2}\.\.{size + 1}, beyond its {size}"):
        _run([Load(buffer=Buffer.LEFT, base=size - 2, count=4), End()], [_operands(4)])


def test_reading_what_no_command_wrote_is_refused():
    params = {"mult": [1] * 4, "shift": [0] * 4, "bias": [0] * 4}
    commands = [Load(buffer=Buffer.LEFT, count=4), Load(buffer=Buffer.PARAMS, count=4),
                Matmul(wait=1, m=4, n=4, k=1, left_stride=1, right_stride=1, output=Output.Y,
                       dest=Buffer.OUTPUT, dest_stride=1), End()]
    with pytest.raises(CommandError, match=r"command 2 \(Matmul\) reads RIGHT entries that no "
                                           r"command wrote"):
        _run(commands, [_operands(4), params])


def test_a_missing_wait_is_refused():
    """The matmul reads what the load before it writes: without wait it could start first."""
    commands = [Load(buffer=Buffer.LEFT, count=4), Load(buffer=Buffer.RIGHT, count=4),
                Matmul(m=4, n=4, k=1, left_stride=1, right_stride=1, output=Output.ACC,
                       dest=Buffer.ACC), End()]
    with pytest.raises(CommandError, match=r"command 2 \(Matmul\) has no wait but conflicts "
                                           r"with a Load still in flight"):
        _run(commands, [_operands(4), _operands(4)])
    commands[2] = dataclasses.replace(commands[2], wait=1)
    machine = _run(commands, [_operands(4), _operands(4)])
    # Four 16-element dot products of ones, scale product rhu(1, 8) = 0.
    assert machine.memory[Buffer.ACC]["acc"][:16].tolist() == [0] * 16


@pytest.mark.parametrize("command, message", [
    (Softmax(rows=1, length=2000, loop1=1, first=1), r"rows of 2000 logits, longer than "
                                                      r"softmax_max_row=1024"),
    (Store(buffer=Buffer.SCORES, count=1), r"moves SCORES, which the host cannot reach"),
    (Matmul(m=1, n=1, k=1, output=Output.OPERAND, dest=Buffer.OUTPUT),
     r"writes operands into OUTPUT"),
])
def test_shapes_the_hardware_cannot_run_are_refused(command, message):
    with pytest.raises(CommandError, match=message):
        _run([command, End()])


def test_a_list_without_end_and_a_missing_image_are_refused():
    with pytest.raises(CommandError, match="the command list has no End"):
        _run([])
    with pytest.raises(CommandError, match="a LOAD found no more data from the host"):
        _run([Load(buffer=Buffer.LEFT, count=1), End()])
