"""How a program reaches the command memory: in lists of at most COMMAND_ENTRIES."""

import pytest

from vsq_accel.spec.commands import Buffer, End, Load
from vsq_accel.spec.host_interface import command_lists
from vsq_accel.spec.timing import COMMAND_ENTRIES


def _program(length):
    """`length` commands, END last, each LOAD told apart by its base."""
    return [Load(buffer=Buffer.LEFT, base=index, count=1) for index in range(length - 1)] + [
        End()]


@pytest.mark.parametrize("length", [1, 2, COMMAND_ENTRIES, COMMAND_ENTRIES + 1,
                                    3 * (COMMAND_ENTRIES - 1) + 1, 2500])
def test_lists_hold_the_program_in_order(length):
    program = _program(length)
    lists = command_lists(program)
    assert len(lists) == max(1, -(-(length - 1) // (COMMAND_ENTRIES - 1)))
    body = []
    for first, commands in lists:
        assert first == len(body)
        assert len(commands) <= COMMAND_ENTRIES and isinstance(commands[-1], End)
        assert not any(isinstance(command, End) for command in commands[:-1])
        body += commands[:-1]
    assert body == program[:-1]


def test_short_lists_split_anywhere():
    lists = command_lists(_program(10), entries=3)
    assert [first for first, _ in lists] == [0, 2, 4, 6, 8]
    assert [len(commands) for _, commands in lists] == [3, 3, 3, 3, 2]


@pytest.mark.parametrize("commands, entries, message", [
    ([Load(buffer=Buffer.LEFT, base=0, count=1)], COMMAND_ENTRIES, "one END, its last"),
    ([End(), End()], COMMAND_ENTRIES, "one END, its last"),
    ([], COMMAND_ENTRIES, "one END, its last"),
    ([End()], 1, "entries=1: a list holds 2 to 1024 commands"),
    ([End()], COMMAND_ENTRIES + 1, "entries=1025: a list holds 2 to"),
])
def test_a_program_that_cannot_be_listed_is_named(commands, entries, message):
    with pytest.raises(ValueError, match=message):
        command_lists(commands, entries)
