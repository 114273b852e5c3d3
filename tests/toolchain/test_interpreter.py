"""The interpreter refuses every command list the hardware would refuse, naming the
problem."""

import dataclasses

import numpy as np
import pytest

from vsq_accel.spec.commands import Buffer, CommandError, End, Load, Matmul, Output, Softmax, Store
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.interpreter import Host, interpret

CONFIG = AcceleratorConfig(lanes=4)


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
    # Four 16-element dot products of ones, scale product rhu(1, 8) = 0: four columns of
    # the four lanes.
    assert machine.memory[Buffer.ACC]["acc"][:4].tolist() == [[0] * 4] * 4
    assert machine.written[Buffer.ACC][:5].tolist() == [True] * 4 + [False]


@pytest.mark.parametrize("command, message", [
    (Softmax(rows=1, length=2000, loop1=1, first=1), r"rows of 2000 logits, longer than "
                                                      r"softmax_max_row=1024"),
    (Store(buffer=Buffer.SCORES, count=1), r"moves SCORES, which the host cannot reach"),
    (Matmul(m=1, n=1, k=1, output=Output.OPERAND, dest=Buffer.OUTPUT),
     r"writes OPERAND into OUTPUT"),
    (Matmul(m=1, n=1, k=1, output=Output.LOGITS, dest=Buffer.LEFT),
     r"writes LOGITS into LEFT"),
    (Matmul(m=1, n=1, k=1, output=Output.ACC, dest=Buffer.OUTPUT), r"writes ACC into OUTPUT"),
    (Softmax(rows=1, length=1, loop1=1, first=1, dest=Buffer.OUTPUT),
     r"writes exponentials into OUTPUT"),
])
def test_shapes_the_hardware_cannot_run_are_refused(command, message):
    with pytest.raises(CommandError, match=message):
        _run([command, End()])


def test_a_list_without_end_and_a_missing_image_are_refused():
    with pytest.raises(CommandError, match="the command list has no End"):
        _run([])
    with pytest.raises(CommandError, match="a LOAD found no more data from the host"):
        _run([Load(buffer=Buffer.LEFT, count=1), End()])
