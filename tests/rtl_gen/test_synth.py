"""A small lane through generic and ECP5 synthesis, so that an unsynthesizable construct
shows up in CI (the full study, with place and route, is `make synth`); the register
replicas that synthesis must not merge; what the transistor estimate counts; the seeds
of place and route; the Verilog's hash in the figures."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.array.vector_mac import VectorMacLane
from vsq_accel.hw.lib.pipeline import replicas
from vsq_accel.rtl_gen import synth
from vsq_accel.rtl_gen.synth import synthesize
from vsq_accel.spec.config import AcceleratorConfig


def test_small_lane_synthesizes():
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    figures = synthesize(lambda: VectorMacLane(config), "lane", place_and_route=False)
    # The lane's registers: d (dot_bits), p (scale_product_width) and d * p.
    registers = config.dot_bits + config.scale_product_width + config.product_bits
    assert figures["flip_flops"] == registers
    assert figures["cells"] > 0 and figures["transistors"] > 0 and figures["luts"] > 0
    assert figures["dsps"] == 0, "multipliers are mapped to logic before DSP inference"


class _TwoCopies(wiring.Component):
    """One input registered twice by `replicas`, each copy on its own output."""

    value: In(8)
    first: Out(8)
    second: Out(8)

    def elaborate(self, platform):
        m = Module()
        first, second = replicas(m, "copy", self.value, 2, enable=1)
        m.d.comb += [self.first.eq(first), self.second.eq(second)]
        return m


def test_replicas_survive_synthesis():
    """Identical flip-flops are merged unless marked; the replicas must stay two."""
    figures = synthesize(_TwoCopies, "copies", place_and_route=False)
    assert figures["flip_flops"] == 16


class _RegisterAndMemory(wiring.Component):
    """An 8-bit register with an enable and a reset, and a 16 x 8 memory."""

    value: In(8)
    enable: In(1)
    address: In(4)
    held: Out(8)
    read: Out(8)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.enable):
            m.d.sync += self.held.eq(self.value)
        m.submodules.memory = memory = Memory(shape=8, depth=16, init=[])
        write, read = memory.write_port(), memory.read_port(domain="comb")
        m.d.comb += [write.addr.eq(self.address), write.data.eq(self.value),
                     write.en.eq(self.enable), read.addr.eq(self.address),
                     self.read.eq(read.data)]
        return m


def test_registers_and_memories_are_counted():
    """A flip-flop with an enable and a reset costs a plain one (16 transistors) and two
    multiplexers (12 each); a memory bit, an SRAM cell (6)."""
    figures = synthesize(_RegisterAndMemory, "block", place_and_route=False)
    assert figures["memory_bits"] == 16 * 8
    assert figures["transistors"] == 8 * (16 + 2 * 12) + 16 * 8 * 6


def _fake_nextpnr(timed_out_seeds):
    """A `_run` whose nextpnr runs out of time with the given seeds and otherwise reports
    123.4 MHz; yosys does nothing."""
    import json
    import subprocess

    def run(command, work, timeout=None):
        command = [str(part) for part in command]
        if "nextpnr" not in command[0]:
            return
        assert timeout == synth.PNR_SECONDS
        seed = int(command[command.index("--seed") + 1])
        if seed in timed_out_seeds:
            raise subprocess.TimeoutExpired(command, timeout)
        (work / "report.json").write_text(json.dumps(
            {"fmax": {"clk": {"achieved": 123.4}}, "critical_paths": []}))
    return run


def test_place_and_route_tries_the_next_seed_when_one_runs_out_of_time(monkeypatch, tmp_path):
    """Seed 1 runs out of time: seed 2 gives the figures and is named; when every seed
    runs out, the figures say so instead of an Fmax."""
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    monkeypatch.setattr(synth, "_run", _fake_nextpnr({1}))
    figures = synth._place_and_route(tmp_path, lambda: VectorMacLane(config), True, "lane")
    assert figures["pnr_seed"] == 2 and figures["fmax_mhz"] == 123.4
    monkeypatch.setattr(synth, "_run", _fake_nextpnr(set(synth.PNR_SEEDS)))
    figures = synth._place_and_route(tmp_path, lambda: VectorMacLane(config), True, "lane")
    assert figures == {"pnr_timed_out": list(synth.PNR_SEEDS)}


def test_the_figures_name_the_verilog_they_came_from():
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    figures = synthesize(lambda: VectorMacLane(config), "lane", place_and_route=False)
    assert figures["rtl_sha256"] == synth.rtl_hash(VectorMacLane(config), "lane")
    other = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=3)
    assert figures["rtl_sha256"] != synth.rtl_hash(VectorMacLane(other), "lane")
