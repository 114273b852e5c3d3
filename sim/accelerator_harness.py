"""The host of the accelerator in cocotb: cocotbext-axi's AXI4-Lite master and
AXI4-Stream source and sink, and monitors of the buffers' write ports, so that every
command's results are compared with the golden interpreter as the command retires."""

import collections
import logging
import random
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink,
                           AxiStreamSource)

from vsq_accel.perf.activity import program_activity
from vsq_accel.perf.dispatch import model_spans, program_cycles, schedule
from vsq_accel.sim.command_coverage import Recorder
from vsq_accel.sim.host_data import (bytes_to_entries, command_words, entries_to_bytes,
                                     pack_entries, unpack_entry)
from vsq_accel.sim.streams import CLOCK_NS
from vsq_accel.spec import ports
from vsq_accel.spec.commands import Buffer, End, Load, Matmul, Output, Softmax, Store
from vsq_accel.spec.host_interface import (EngineError, Register, Slot, command_lists,
                                           command_window)
from vsq_accel.spec.timing import COMMAND_ENTRIES
from vsq_accel.toolchain.interpreter import Host, interpret, program_output

__all__ = ["AcceleratorHarness", "written_entries", "Expected"]

MONITORED = (Buffer.LEFT, Buffer.RIGHT, Buffer.PARAMS, Buffer.OUTPUT, Buffer.STATE, Buffer.ACC)


def written_entries(command, config):
    """{buffer: entries} a command writes, exactly (strided rows without their gaps)."""
    if isinstance(command, Load):
        return {command.buffer: list(range(command.base, command.base + command.count))}
    if isinstance(command, Matmul) and command.output in (Output.Y, Output.OPERAND):
        return {command.dest: _rows(command.dest_base, command.dest_stride, command.m,
                                    -(-command.n // config.vector_size))}
    if isinstance(command, Matmul) and command.output == Output.LOGITS:
        return {Buffer.SCORES: list(range(command.dest_base, command.dest_base + command.m))}
    if isinstance(command, Matmul) and command.output == Output.ACC:
        return {Buffer.ACC: list(range(command.acc_base, command.acc_base + command.n))}
    if isinstance(command, Softmax):
        return {command.dest: _rows(command.dest_base, command.dest_stride, command.rows,
                                    -(-command.length // config.vector_size)),
                Buffer.STATE: list(range(command.state_base,
                                         command.state_base + command.rows))}
    return {}


def _rows(base, stride, rows, vectors):
    return [base + row * stride + vector for row in range(rows) for vector in range(vectors)]


class Expected:
    """The golden interpreter's run of a command list: what each command wrote (as it
    finished) and the buffers at the end."""

    def __init__(self, commands, images, config):
        self.writes = {}
        host = Host(images)

        def after(index, command, machine):
            self.writes[index] = {
                buffer: {entry: {name: np.array(values[entry])
                                 for name, values in machine.memory[buffer].items()}
                         for entry in entries}
                for buffer, entries in written_entries(command, config).items()}

        self.commands = commands
        self.machine = interpret(commands, host, config, after=after)


class AcceleratorHarness:
    """Drives the `Accelerator` top: reset, command list, data, status."""

    def __init__(self, dut, config, seed, stall=0.0):
        self.dut, self.config, self.stall = dut, config, stall
        self.pick = random.Random(seed)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        for bus in ("s_axil", "s_axis", "m_axis"):         # one line per transfer otherwise
            logging.getLogger(f"cocotb.{dut._name}.{bus}").setLevel(logging.WARNING)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk,
                                      dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        if stall:
            for end in (self.source, self.sink):
                end.set_pause_generator(self._pauses(stall))
            for channel in (self.axil.write_if.aw_channel, self.axil.write_if.w_channel,
                            self.axil.write_if.b_channel, self.axil.read_if.ar_channel,
                            self.axil.read_if.r_channel):
                channel.set_pause_generator(self._pauses(stall))
        self.checking = False      # set by `reset`
        self._index_bits = (COMMAND_ENTRIES - 1).bit_length()
        self.expected = None       # an Expected: each command is checked as it retires
        self.dispatched, self.retired_at = [], {}       # the commands' cycles
        self._first = 0            # the program's index of the running list's command 0
        self._written = []         # the list in the command memory
        self.recorder = Recorder()
        self._forget()

    def _forget(self):
        """Start afresh: no writes seen, no command retired."""
        self.shadow = {buffer: {} for buffer in MONITORED + (Buffer.SCORES,)}
        self.score_columns = []    # kept columns into the corner turn since the last block
        self.retired, self.mismatches = [], []   # indices, in the order they retired
        self.loads_held = 0        # cycles a LOAD's entry waited for the buffer's port
        self.exps_held = 0         # cycles the softmax's exponentials waited for it
        self.stores_held = 0       # cycles a write took the port a running STORE reads
        self.activity = collections.Counter()   # the events of `perf.activity` seen
        self.dispatched.clear()
        self.retired_at.clear()
        self._first = 0

    def _pauses(self, probability):
        while True:
            yield self.pick.random() < probability

    async def reset(self, check=True):
        """Reset; then, with `check`, watch every buffer write and compare each command
        as it retires, else only stamp the cycles of dispatches and retirements (edge
        triggers rather than a callback every cycle, for long runs)."""
        cocotb.start_soon(Clock(self.dut.clk, CLOCK_NS, unit="ns").start())
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)
        self.checking = check
        if check:
            cocotb.start_soon(self._monitor())
        else:
            cocotb.start_soon(self._stamp_dispatches())
            cocotb.start_soon(self._stamp_retirements())

    async def _stamp_dispatches(self):
        """Dispatches are at least DECODE_CYCLES apart: each is a rising edge."""
        while True:
            await RisingEdge(self.dut.engine.controller.dispatch)
            self.dispatched.append(_cycle())

    async def _stamp_retirements(self):
        """A slot retires at most every other cycle: a bit set after a change of
        `retired` is a retirement."""
        retired = self.dut.engine.retired
        while True:
            await retired.value_change
            await ReadOnly()
            self._retirements(int(retired.value))

    def _retirements(self, slots):
        """Record the commands of the slots whose bits are set in `slots`; their
        indices, in slot order."""
        running = int(self.dut.engine.controller.running.value)
        indices = []
        for slot in Slot:
            if slots >> slot & 1:
                index = self._first + (running >> (slot * self._index_bits)
                                       & ((1 << self._index_bits) - 1))
                self.retired_at[index] = _cycle()
                self.retired.append(index)
                self.recorder.command(self._written[index - self._first])
                indices.append(index)
        return indices

    async def _monitor(self):
        """Each cycle, before the clock edge: the writes into the buffers, and the
        index of a command that retires."""
        engine = self.dut.engine
        ports = {buffer: tuple(getattr(engine, f"{buffer.name.lower()}_write_{part}")
                               for part in ("en", "addr", "data")) for buffer in MONITORED}
        dut = self.dut
        transfers = {"feeds.LEFT": (engine.feeder_a.o__valid, engine.feeder_a.o__ready),
                     "feeds.RIGHT": (engine.feeder_b.o__valid, engine.feeder_b.o__ready),
                     "ppu_columns": (engine.ppu.i__valid, engine.ppu.i__ready),
                     "softmax_beats": (engine.softmax.i__valid, engine.softmax.i__ready),
                     "host_in": (dut.s_axis_tvalid, dut.s_axis_tready),
                     "host_out": (dut.m_axis_tvalid, dut.m_axis_tready)}
        while True:
            await FallingEdge(self.dut.clk)
            await ReadOnly()
            for buffer, (en, addr, data) in ports.items():
                if int(en.value):
                    self.shadow[buffer][int(addr.value)] = unpack_entry(
                        self.config, buffer, int(data.value))
                    self.activity[f"writes.{buffer.name}"] += 1
            for event, (valid, ready) in transfers.items():
                self.activity[event] += int(valid.value) & int(ready.value) & 1
            loader, exps = engine.loader, engine.exp_writer
            self.loads_held += int(loader.o__valid.value) & ~int(loader.o__ready.value) & 1
            self.exps_held += (int(exps.hold.value) & int(exps.busy.value)
                               & int(exps.i__valid.value))
            self.stores_held += int(engine.storer.hold.value) & int(engine.storer.busy.value)
            turn = engine.corner_turn
            if int(turn.i__valid.value) and int(turn.i__ready.value):
                self._score_column(int(turn.i__payload.value))
            if int(engine.controller.dispatch.value):
                self.dispatched.append(_cycle())
            for index in self._retirements(int(engine.retired.value)):
                if self.expected is not None:
                    self._scores_block(self.expected.commands[index])
                    self.mismatches += self.command_mismatches(index, self.expected)

    def _score_column(self, payload):
        """A column of logits into the corner turn (SCORES), if kept: one per lane."""
        config, width = self.config, self.config.softmax_logit_bits
        if not payload >> (config.lanes * width) & 1:
            return
        column = []
        for lane in range(config.lanes):
            value = payload >> (lane * width) & ((1 << width) - 1)
            column.append(value - (1 << width) if value >> (width - 1) else value)
        self.score_columns.append(column)

    def _scores_block(self, command):
        """At a LOGITS matmul's retirement: its columns, as SCORES rows."""
        if not (isinstance(command, Matmul) and command.output == Output.LOGITS):
            return
        columns = np.array(self.score_columns, np.int64).reshape(-1, self.config.lanes)
        self.score_columns = []
        for row in range(command.m):
            logits = np.zeros(self.config.softmax_max_row, np.int64)
            logits[:len(columns)] = columns[:, row]
            self.shadow[Buffer.SCORES][command.dest_base + row] = {"logits": logits}

    async def write_commands(self, commands):
        """Write a command list into the command window; an int in it is written as a
        raw command word (an opcode no command has, say)."""
        self._written = commands
        base, stride = command_window(self.config)
        for index, command in enumerate(commands):
            for word_index, word in enumerate(command_words(command, self.config)):
                await self.axil.write_dword(base + index * stride + 4 * word_index, word)

    async def read(self, register):
        return await self.axil.read_dword(register)

    async def start(self):
        await self.axil.write_dword(Register.CONTROL, 1)

    def serve(self, commands, images):
        """Start the host's side of the data streams, a task whose result is what the
        STOREs sent: in command order each LOAD's frame is sent and each STORE's frame
        received; an image that is a function of what was stored (a step the host
        computes) is computed once the STOREs before it have arrived."""
        return cocotb.start_soon(self._serve(commands, list(images)))

    async def _serve(self, commands, images):
        stored, pending = [], []             # pending: STOREs whose frames are still due
        for command in commands:
            if isinstance(command, Store):
                pending.append(command)
            elif isinstance(command, Load):
                image = images.pop(0)
                if callable(image):
                    stored += [await self._receive(store) for store in pending]
                    pending, image = [], image(stored)
                frame = entries_to_bytes(self.config, command.buffer,
                                         pack_entries(self.config, command.buffer, image))
                self.source.send_nowait(AxiStreamFrame(frame))
        return stored + [await self._receive(store) for store in pending]

    async def _receive(self, store):
        """A STORE's frame as the golden Host keeps it: each field of the buffer's
        entries ({"y": entries x V} for OUTPUT)."""
        frame = await self.sink.recv()
        entries = [unpack_entry(self.config, store.buffer, entry)
                   for entry in bytes_to_entries(self.config, store.buffer, bytes(frame.tdata))]
        return {name: np.array([entry[name] for entry in entries]) for name in entries[0]}

    async def run(self, program, poll=64, list_entries=COMMAND_ENTRIES):
        """Run a compiled program: data served, and its command lists
        (`command_lists`, of at most `list_entries` commands) written and run in turn,
        each until the engine stops (done, no error) within its budget (`budget`). When
        checking, every command's writes have been compared as it retired. Returns
        the program's output y and the cycles the engine counted, summed over the
        lists; `stored` keeps what every STORE sent."""
        self._forget()
        if self.checking:
            self.expected = Expected(program.commands, program.images, self.config)
        host = self.serve(program.commands, program.images)
        cycles, began = 0, time.perf_counter()
        for first, commands in command_lists(program.commands, list_entries):
            self._first = first
            await self.write_commands(commands)
            await self.start()
            status = status_fields(await self.wait_stopped(self.budget(commands), poll))
            assert status["done"] and not status["error"], (
                f"the engine stopped with {status} in the list from command {first}")
            list_cycles = await self.cycles()
            self.check_schedule(commands, first, list_cycles)
            cycles += list_cycles
        self.wall_seconds = time.perf_counter() - began
        if self.checking:
            self.check_model_cycles(program.commands, cycles, list_entries)
            self.check_model_activity(program.commands)
            assert sorted(self.retired) == list(range(len(program.commands) - 1)), (
                f"commands retired in the order {self.retired}")
            assert not self.mismatches, "\n".join(self.mismatches[:20])
            self.check_no_stray_writes(self.expected.machine)
        self.stored = await host
        return program_output(program, self.stored), cycles

    def budget(self, commands):
        """Cycles a command list may take: four times the performance model's (which
        counts the host's transfers unstalled) and 10 000 more."""
        return 4 * program_cycles(commands, model_spans(commands, self.config)) + 10_000

    def spans(self):
        """Each command's cycles from dispatch to retirement, in command order."""
        return [self.retired_at[index] - dispatched
                for index, dispatched in enumerate(self.dispatched)]

    def overlapped(self):
        """The commands that started while an earlier one was still running."""
        return [index for index, dispatched in enumerate(self.dispatched)
                if any(self.retired_at[earlier] > dispatched for earlier in range(index))]

    def check_schedule(self, commands, first, cycles):
        """The controller dispatched every command of the list from the program's
        command `first` when `perf.dispatch` says it does, given the cycles each took,
        and the cycle counter reads the model's total."""
        stop = first + len(commands) - 1
        assert len(self.dispatched) == len(self.retired_at) == stop, (
            f"{len(self.dispatched)} dispatches, {len(self.retired_at)} retirements of "
            f"{stop} commands")
        dispatched = self.dispatched[first:]
        model = schedule(commands, self.spans()[first:] + [0])
        start = dispatched[0] - model.dispatched[0]
        late = [(first + index, cycle - start, want) for index, (cycle, want)
                in enumerate(zip(dispatched, model.dispatched)) if cycle - start != want]
        assert not late, ("commands dispatched at other cycles than the controller's model "
                          f"(index, cycle, model): {late[:10]}")
        assert cycles == model.cycles, (
            f"{cycles} cycles, the controller's model {model.cycles} for the same commands")

    def check_model_cycles(self, commands, cycles, list_entries):
        """Each command took the performance model's cycles (`model_spans`), its drain
        included, where they are the design's alone: every MATMUL; every SOFTMAX unless
        a matmul's writes held its exponentials; the host's transfers when the host did
        not stall and no write held a LOAD's entry or a STORE's read. When all are, the
        program's cycles are the model's (`program_cycles`)."""
        exact = {Matmul: True, Softmax: not self.exps_held,
                 Load: not (self.stall or self.loads_held),
                 Store: not (self.stall or self.stores_held)}
        model = model_spans(commands, self.config)
        off = [(index, type(command).__name__, span, want) for index, (command, span, want)
               in enumerate(zip(commands, self.spans(), model)) if exact[type(command)]
               and span != want]
        assert not off, ("commands took other cycles than the performance model's "
                         f"(index, command, cycles, model): {off[:10]}")
        if all(exact.values()):
            want = program_cycles(commands, model, list_entries)
            assert cycles == want, f"{cycles} cycles, the performance model's {want}"

    def check_model_activity(self, commands):
        """The energy model's events (`perf.activity`) that the engine shows are the ones
        it counted: every buffer write, the operand feeders' reads, the PPU's columns,
        the softmax's beats and the host's beats, both ways."""
        model = program_activity(commands, self.config)
        seen = dict(self.activity)
        seen["host_beats"] = seen.pop("host_in", 0) + seen.pop("host_out", 0)
        events = {*seen, *(f"writes.{buffer.name}" for buffer in MONITORED)}
        off = {event: (seen.get(event, 0), model.get(event, 0)) for event in sorted(events)
               if seen.get(event, 0) != model.get(event, 0)}
        assert not off, f"activity other than the energy model's (seen, model): {off}"

    async def cycles(self):
        return await self.read(Register.CYCLES_LO) | await self.read(Register.CYCLES_HI) << 32

    async def wait_stopped(self, limit_cycles, poll=64):
        """The status once the engine stops (polled every `poll` cycles)."""
        for _ in range(0, limit_cycles, poll):
            await ClockCycles(self.dut.clk, poll)
            status = await self.read(Register.STATUS)
            if not status & 1:
                fields = status_fields(status)
                self.recorder.error(fields["code"])
                if fields["done"] and not fields["error"]:
                    self.recorder.command(End())    # the engine stops at END
                return status
        raise AssertionError(f"stuck at cycle {_cycle()}: the engine did not stop within its "
                             f"budget of {limit_cycles} cycles: {status_fields(status)}, "
                             f"{len(self.retired)} commands retired, the last "
                             f"{self.retired[-1] if self.retired else None}; host stream "
                             f"frames not yet sent: {self.source.count()}")

    def command_mismatches(self, index, expected):
        """How the entries command `index` wrote, in the monitors' copy, differ from
        the golden's (a list of messages, empty when equal)."""
        found = []
        for buffer, entries in expected.writes[index].items():
            for entry, want in entries.items():
                got = self.shadow[buffer].get(entry)
                if got is None:
                    found.append(f"command {index} did not write {Buffer(buffer).name}[{entry}]")
                    continue
                found += [f"command {index}: {Buffer(buffer).name}[{entry}].{name} is {value}, "
                          f"the golden interpreter's {want[name]}"
                          for name, value in got.items() if not np.array_equal(value, want[name])]
        return found

    def check_no_stray_writes(self, machine):
        """Every entry the hardware wrote holds what the golden machine holds there."""
        for buffer, entries in self.shadow.items():
            for entry, got in entries.items():
                assert machine.written[buffer][entry], (
                    f"{Buffer(buffer).name}[{entry}] was written, no command writes it")
                for name, value in got.items():
                    assert np.array_equal(value, machine.memory[buffer][name][entry]), (
                        f"{Buffer(buffer).name}[{entry}].{name} differs at the end")


def _cycle():
    """The clock cycle now (at either edge)."""
    return int(get_sim_time("ns") // CLOCK_NS)


def status_fields(status):
    """The status word's fields (`spec.ports.status`), its code as an `EngineError`."""
    fields = ports.status().unpack(status)
    return {"busy": fields.busy, "done": fields.done, "error": fields.error,
            "code": EngineError(fields.code), "command": fields.command}
