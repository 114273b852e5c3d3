"""`make synth`: what the arithmetic costs, from synthesis.

`run` (results/synth.json):
One lane and the default 16-lane array in three formats at equal vector width
(INT4, INT4-VSQ with 8-bit scales, INT8), area per MAC in transistors (generic
synthesis) and ECP5 LUTs; the multi-format array that runs all three (INT8 in nibble
passes at half rate) against the INT4-VSQ and the INT8 arrays (`multi_format`);
INT4-VSQ lanes at V = 16, 32 and 64, to see the scale multiplier amortized (plotted to
results/synth_vector_size.png); the softmax unit beside one lane; Fmax of the default
lane, array and softmax unit on an ECP5-85k.
NVIDIA reports energy, not area: VSQ about +1 % over INT4, the INT8 datapath 2.76x INT4.

`run_post_processing` (results/synth_ppu.json): the blocks between the array and the
next operand, each beside one lane: the PPU's scaling stage, the requantizer, the row
requantizer, the corner turn and the softmax unit (with its exponential mode); area on
the default configuration, Fmax against 100 MHz on an ECP5-85k at 4 lanes.

`run_gelu` (results/synth_gelu.json): the PPU's scaling stage with and without its GELU.

`run_ppu_share` (results/synth_ppu_share.json): the PPU's scaling stage taking a column
in 1, 2 or 4 parts (`ppu_share`), its multipliers shared by the parts.

`run_accelerator` (results/synth_accelerator.json): the whole accelerator, placed and
routed on the ECP5-85k in the configuration of configs/fpga/ecp5_85k.json, and what the
default configuration would need (ECP5 synthesis alone); the first's ECP5 cells also
block by block.

Every results file names, under "rtl", the block and configuration of each figure and
the SHA-256 of their Verilog (`rtl_gen.synth.rtl_hash`): tests/rtl_gen/test_synth_results.py
fails when the RTL of today differs, so that no figure outlives its hardware. A
place-and-route that runs out of time with every seed leaves its Fmax null.
"""

import concurrent.futures
import dataclasses
from pathlib import Path

from vsq_accel.bench.tiles import PPU_SHARES
from vsq_accel.rtl_gen.designs import SYNTHESIZED
from vsq_accel.rtl_gen.synth import DEVICE, synthesize
from vsq_accel.spec.config import AcceleratorConfig

PLOT = Path(__file__).resolve().parent / "results" / "synth_vector_size.png"
ACCELERATOR_PLOT = PLOT.with_name("synth_accelerator.png")
# The accelerator sized for the device place and route targets (`rtl_gen.synth.DEVICE`).
ECP5_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "fpga" / "ecp5_85k.json"
# Without vector scales there is no d x p multiply to split: three lane stages.
FORMATS = {
    "int4": AcceleratorConfig(vector_scales=False, lane_stages=3),
    "int4_vsq": AcceleratorConfig(),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False, lane_stages=3),
}
MULTI_FORMAT = AcceleratorConfig(formats=["int4_vsq", "int4", "int8"])


class _Study:
    """Synthesizes blocks and records what each figure came from: `rtl` maps a key to the
    block, its configuration and the SHA-256 of its Verilog, which tests/rtl_gen holds
    against the Verilog of today."""

    def __init__(self):
        self.rtl = {}

    def __call__(self, key, block, config, place_and_route=True, by_block=False):
        figures = synthesize(lambda: SYNTHESIZED[block].build(config), block, place_and_route,
                             by_block)
        self.rtl[key] = {"block": block, "config": config.to_dict(),
                         "sha256": figures.pop("rtl_sha256")}
        return figures


def run():
    results, study = {}, _Study()
    for name, config in FORMATS.items():
        for block in ("lane", "array"):
            # Fmax only for the default (INT4-VSQ) blocks: place and route is the slow part.
            figures = study(f"{block}_{name}", block, config,
                            place_and_route=name == "int4_vsq")
            macs = config.vector_size * (config.lanes if block == "array" else 1)
            results[f"transistors_per_mac_{block}_{name}"] = figures["transistors"] / macs
            results[f"luts_per_mac_{block}_{name}"] = figures["luts"] / macs
            for key in ("cells", "transistors", "memory_bits", "luts", "flip_flops",
                        "carry_cells", "block_rams", "lut_rams"):
                results[f"{key}_{block}_{name}"] = figures[key]
            if "fmax_mhz" in figures:
                results[f"fmax_mhz_{block}"] = figures["fmax_mhz"]
                results[f"critical_path_{block}"] = figures.get("critical_path")
    for block in ("lane", "array"):
        for name in ("int4_vsq", "int8"):
            results[f"area_ratio_{name}_over_int4_{block}"] = (
                results[f"transistors_{block}_{name}"] / results[f"transistors_{block}_int4"])
    results["area_ratio_int4_vsq_over_int4"] = results["area_ratio_int4_vsq_over_int4_lane"]
    results["area_ratio_int8_over_int4"] = results["area_ratio_int8_over_int4_lane"]

    sweep = {}
    for size in (16, 32, 64):
        config = dataclasses.replace(FORMATS["int4_vsq"], vector_size=size)
        figures = study(f"lane_int4_vsq_v{size}", "lane", config, place_and_route=False)
        sweep[size] = figures["transistors"] / size
        results[f"transistors_per_mac_lane_int4_vsq_v{size}"] = sweep[size]
    _plot(sweep)

    softmax = study("softmax", "softmax", FORMATS["int4_vsq"])
    results.update({f"{key}_softmax": value for key, value in softmax.items()
                    if key not in ("meets_target", "critical_path_steps")})
    results["softmax_over_lane_transistors"] = (softmax["transistors"]
                                                / results["transistors_lane_int4_vsq"])
    results.update(multi_format(results, study))
    return {**results, "rtl": study.rtl}


def multi_format(single, study):
    """The lane and array that run INT4-VSQ, INT4 and INT8 (8 x 4-bit products, INT8 in
    two nibble passes) against the single-format ones in `single` (`run`'s figures):
    area at 16 lanes; Fmax of it and of the INT4-VSQ array at `TIMING_LANES` (place and
    route of the 16-lane multi-format array ran for over 30 minutes without finishing;
    the longest paths lie within a lane); MACs a cycle in each format."""
    results = {}
    for block in ("lane", "array"):
        figures = study(f"{block}_multi_format", block, MULTI_FORMAT, place_and_route=False)
        for key in ("transistors", "luts", "flip_flops", "carry_cells"):
            results[f"{key}_{block}_multi_format"] = figures[key]
        for name in ("int4_vsq", "int8"):
            results[f"area_ratio_multi_format_vs_{name}_{block}"] = (
                figures["transistors"] / single[f"transistors_{block}_{name}"])
    results["area_ratio_multi_format_vs_int4_vsq"] = \
        results["area_ratio_multi_format_vs_int4_vsq_array"]
    results["timing_lanes_multi_format"] = TIMING_LANES
    for name, config in (("multi_format", MULTI_FORMAT), ("int4_vsq", FORMATS["int4_vsq"])):
        small = dataclasses.replace(config, lanes=TIMING_LANES)
        timed = study(f"array_{name}_l{TIMING_LANES}", "array", small)
        key = "multi_format" if name == "multi_format" else f"array_int4_vsq_l{TIMING_LANES}"
        results[f"fmax_mhz_{key}"] = timed.get("fmax_mhz")
        results[f"critical_path_{key}"] = timed.get("critical_path")
    macs = MULTI_FORMAT.macs_per_cycle
    results.update({"macs_per_cycle_multi_format_int4": macs,
                    "macs_per_cycle_multi_format_int8": macs // 2,
                    "macs_per_cycle_int8_array": FORMATS["int8"].macs_per_cycle})
    return results


POST_PROCESSING = ("ppu_scale", "requantizer", "row_requantizer", "corner_turn", "softmax")
# Place and route of the 16-lane PPU and requantizer ran for over 40 minutes each here
# without finishing; their longest paths lie within a lane, so their Fmax is measured on
# the same blocks at 4 lanes (P unchanged: the softmax side does not depend on L).
TIMING_LANES = 4


def run_post_processing():
    config = FORMATS["int4_vsq"]
    timing = dataclasses.replace(config, lanes=TIMING_LANES, softmax_width=config.softmax_lanes)
    study = _Study()
    lane = study("lane", "lane", config, place_and_route=False)
    results = {"transistors_lane": lane["transistors"], "timing_lanes": TIMING_LANES}
    for block in POST_PROCESSING:
        area = study(block, block, config, place_and_route=False)
        timed = study(f"{block}_l{TIMING_LANES}", block, timing)
        results.update({f"{key}_{block}": value for key, value in area.items()})
        results.update({f"{key}_{block}_l{TIMING_LANES}": timed.get(key)
                        for key in ("fmax_mhz", "critical_path", "luts", "dsps", "pnr_seed")})
        results[f"{block}_over_lane_transistors"] = area["transistors"] / lane["transistors"]
    return {**results, "rtl": study.rtl}


def run_gelu():
    """The PPU's scaling stage with and without its GELU (`hw.ppu.gelu`)."""
    config = FORMATS["int4_vsq"]
    results, rtl = _ppu_scale_variants({"": config,
                                        "_gelu": dataclasses.replace(config, ppu_gelu=True)})
    results["gelu_over_ppu_scale_transistors"] = (results["transistors_ppu_scale_gelu"]
                                                  / results["transistors_ppu_scale"])
    return {**results, "rtl": rtl}


def run_ppu_share():
    """The PPU's scaling stage taking a column in `ppu_share` parts (1: every lane at
    once); what each costs the DeiT-Small tiles in cycles is in results/tiles.json."""
    config = FORMATS["int4_vsq"]
    results, rtl = _ppu_scale_variants(
        {f"_share{share}": dataclasses.replace(config, ppu_share=share)
         for share in sorted({config.ppu_parts, *PPU_SHARES})})
    return {**results, "rtl": rtl}


def _ppu_scale_variants(configs):
    """The PPU's scaling stage in each configuration of `configs` (figure suffix ->
    configuration): area on it, Fmax at `TIMING_LANES` lanes on an ECP5-85k."""
    results, study = {}, _Study()
    for name, config in configs.items():
        timing = dataclasses.replace(config, lanes=TIMING_LANES)
        area = study(f"ppu_scale{name}", "ppu_scale", config, place_and_route=False)
        timed = study(f"ppu_scale{name}_l{TIMING_LANES}", "ppu_scale", timing)
        results.update({f"{key}_ppu_scale{name}": area[key]
                        for key in ("transistors", "luts", "flip_flops", "dsps")})
        results.update({f"{key}_ppu_scale{name}_l{TIMING_LANES}": timed.get(key)
                        for key in ("fmax_mhz", "critical_path", "luts", "dsps", "pnr_seed")})
    return results, study.rtl


def run_accelerator():
    """The whole accelerator (`accelerator.v`): on `ECP5_CONFIG`, placed and routed on
    the device, its cells against what the device has, and block by block; on the
    default configuration, the cells it would need (ECP5 synthesis alone) and its
    transistors. The two (`accelerator_on_the_device`, `accelerator_by_default`) run
    side by side, each in a process of its own."""
    results, rtl = {"device": DEVICE}, {}
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        parts = [pool.submit(part) for part in (accelerator_on_the_device,
                                                 accelerator_by_default)]
    for part in parts:
        figures = part.result()
        rtl.update(figures.pop("rtl"))
        results.update(figures)
    plot_device_use(results)
    return {**results, "rtl": rtl}


def accelerator_on_the_device():
    return _accelerator("accelerator_ecp5", AcceleratorConfig.load(ECP5_CONFIG), True)


def accelerator_by_default():
    return _accelerator("accelerator", AcceleratorConfig(), False)


def _accelerator(key, config, on_the_device):
    study = _Study()
    figures = study(key, "accelerator", config, place_and_route=on_the_device,
                    by_block=on_the_device)
    figures.pop("critical_path_steps", None)
    return {**{f"{name}_{key}": value for name, value in figures.items()}, "rtl": study.rtl}


def plot_device_use(results):
    """The device's LUTs, flip-flops, DSPs and block RAMs that the ECP5 configuration
    takes, block by block (stacked; synthesized apart, they add up to more than the
    whole, which a mark shows), and what the default configuration would take (a mark,
    past 100 % where it does not fit), to ACCELERATOR_PLOT."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    device, blocks = results["device"], results["blocks_accelerator_ecp5"]
    resources = {"luts": "LUT4", "flip_flops": "flip-flops", "dsps": "DSPs",
                 "block_rams": "block RAMs"}
    order = sorted(blocks, key=lambda name: -sum(blocks[name][key] / device[key]
                                                 for key in resources))
    figure, axes = pyplot.subplots(figsize=(8.5, 3.6))
    rows = range(len(resources))
    left = [0.0] * len(resources)
    colors = iter(pyplot.get_cmap("tab20").colors)
    for name in order:
        shares = [100 * blocks[name][key] / device[key] for key in resources]
        if max(shares) < 1:
            continue
        axes.barh(rows, shares, left=left, label=name, color=next(colors))
        left = [before + share for before, share in zip(left, shares)]
    for suffix, style, label in (("_ecp5", "r|", "the whole, synthesized"),
                                 ("", "k|", "default configuration")):
        shares = [100 * results[f"{key}_accelerator{suffix}"] / device[key]
                  for key in resources]
        axes.plot(shares, rows, style, markersize=18, markeredgewidth=2, label=label)
    axes.axvline(100, color="grey", linestyle="--", linewidth=1)
    axes.set_yticks(list(rows), list(resources.values()))
    axes.invert_yaxis()
    axes.set_xlabel(f"share of the {device['name']} (%), blocks under 1 % left out")
    axes.set_title("The whole accelerator, 4 lanes (configs/fpga/ecp5_85k.json)")
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(ACCELERATOR_PLOT, dpi=120)


def _plot(sweep):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5, 3.5))
    axes.plot(list(sweep), list(sweep.values()), marker="o")
    axes.set_xscale("log", base=2)
    axes.set_xticks(list(sweep), [str(size) for size in sweep])
    axes.set_xlabel("vector size V")
    axes.set_ylabel("transistors per MAC (generic)")
    axes.set_title("INT4-VSQ lane: the scale path amortized")
    figure.tight_layout()
    figure.savefig(PLOT, dpi=120)
