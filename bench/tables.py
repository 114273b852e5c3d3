"""The tables that README.md and docs/ quote, generated from the code and from
bench/results, so that no quoted figure or table can drift from its source.

A document marks a generated table with `<!-- table: NAME -->` and `<!-- end table -->`;
`python -m vsq_accel.bench.tables` (`make docs`) rewrites what lies between, and
`--check` lists the tables that differ (tests/test_docs.py fails on any).
"""

import dataclasses
import json
import re
import sys
from pathlib import Path

from vsq_accel.rtl_gen.synth import TARGET_MHZ
from vsq_accel.spec.commands import encoding_table
from vsq_accel.spec.config import AcceleratorConfig, allowed

__all__ = ["TABLES", "DOCUMENTS", "generated", "drift", "rewrite", "main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARKED = re.compile(r"(<!-- table: (\S+) -->\n)(.*?)(<!-- end table -->)", re.S)


def _results(name):
    return json.loads((RESULTS / f"{name}.json").read_text())


@dataclasses.dataclass(frozen=True)
class _Figure:
    """A row of figures: a label, then values of one results file joined by ' / '."""

    label: str
    source: str
    keys: tuple
    form: str = "{:.3f}"
    scale: float = 1

    def row(self, link):
        values = _results(self.source)
        text = " / ".join(self.form.format(values[key] * self.scale) for key in self.keys)
        where = f"[`{self.source}.json`]({link}{self.source}.json)"
        return f"| {self.label} | {text} | {where}: `{'`, `'.join(self.keys)}` |"


def _figures(figures, link):
    lines = ["| figure | value | source |", "|---|---|---|"]
    return "\n".join(lines + [figure.row(link) for figure in figures])


def _tiles(*suffixes):
    return tuple(f"tile_util_{tile}{suffix}" for suffix in suffixes
                 for tile in ("sa", "mhsa", "ffn"))


HEADLINE = [
    _Figure("MAC utilization of the 16-lane INT4-VSQ8 array in RTL (GEMM 64 x 512 x 64, "
            "Verilator)", "mac_utilization", ("mac_utilization",), "{:.4f}"),
    _Figure("array busy over whole SA / MHSA / FFN tiles in RTL, DeiT-Small shapes, host "
            "loads hidden; FFN with the PPU's GELU", "tiles",
            _tiles("_loads_hidden") + ("tile_util_ffn_gelu_loads_hidden",)),
    _Figure("MiniLM-L6 embeddings, cosine to float, INT4-VSQ8 / INT8, every matmul on the "
            "array's arithmetic", "accuracy", ("minilm_int4_vsq8_attn_mean_cos",
                                               "minilm_int8_attn_mean_cos")),
    _Figure("MiniLM-L6, the matmuls a sensitivity pass picks in INT8 within 5 bits per "
            "weight, the rest INT4-VSQ8 (golden model): mean cosine / bits per weight",
            "accuracy", ("minilm_mixed_sensitive_5_bits_mean_cos",
                         "minilm_mixed_sensitive_5_bits_bits_per_weight")),
    _Figure("BERT-Base in INT4-VSQ at 5 nm, 0.67 V, modelled, data on chip: TOPS/W "
            "/ inferences/s/W (NVIDIA: 38.7 / 1734)", "energy",
            ("tops_per_w_bert_base_128_int4_vsq_on_chip_host",
             "inferences_per_s_per_w_bert_base_128_int4_vsq_on_chip_host"), "{:.1f}"),
    _Figure("Fmax on an ECP5-85k after place and route, MHz: array / softmax unit",
            "synth", ("fmax_mhz_array", "fmax_mhz_softmax"), "{:.1f}"),
    _Figure("the whole accelerator, 4 lanes, synthesized for the ECP5-85k: LUT4 / DSPs / "
            "block RAMs (of 83 640 / 156 / 208)",
            "synth_accelerator", ("luts_accelerator_ecp5", "dsps_accelerator_ecp5",
                                  "block_rams_accelerator_ecp5"), "{:g}"),
    _Figure("array busy over a long-row SA head in RTL (1024 tokens, rows of four blocks "
            "of keys), host loads hidden: measured / model", "tiles",
            ("tile_util_sa_long_loads_hidden", "tile_util_sa_long_loads_hidden_model")),
    _Figure("the seed's 25 000-token layer in one pass, performance model, default "
            "configuration", "workloads", ("default_config_util_seed",)),
    _Figure("a bit-exact 25 000-token attention head in the golden model, times a float32 "
            "head", "seed_sa", ("time_ratio_vs_float32",), "{:.1f}x"),
]

RTL_FIGURES = [
    _Figure("MAC utilization, default configuration, GEMM 64 x 512 x 64, Verilator",
            "mac_utilization", ("mac_utilization",), "{:.4f}"),
    _Figure("same, M = 197 (the last tile row padded)", "mac_utilization",
            ("mac_utilization_m197",), "{:.4f}"),
    _Figure(f"PPU scaling stage, a column in {AcceleratorConfig().ppu_parts} parts, columns "
            "per cycle: y / ReLU / logits / rows scaled (2000 columns)", "ppu",
            tuple(f"columns_per_cycle_ppu_{mode}"
                  for mode in ("y", "relu", "logits", "row_scaled")),
            "{:.4f}"),
    _Figure("requantizer, columns per cycle (8000 columns)", "ppu",
            ("columns_per_cycle_requantizer",), "{:.4f}"),
    _Figure("row requantizer, beats per cycle, 300 rows of 197: P = 16 / P = 12 (V = 16)",
            "ppu", ("beats_per_cycle_row_requantizer", "beats_per_cycle_row_requantizer_p12"),
            "{:.4f}"),
    _Figure("softmax unit, logits per cycle over P, 300 rows of 128 / of 197", "softmax",
            ("throughput_per_p_row128", "throughput_per_p_row197")),
    _Figure("softmax, max / mean abs error against exact base 2 (an output step is "
            "0.0078)", "softmax", ("max_abs_err_vs_base2", "mean_abs_err_vs_base2"),
            "{:.4f}"),
    _Figure("softmax, max / mean abs error against exact base e", "softmax",
            ("max_abs_err_vs_base_e", "mean_abs_err_vs_base_e"), "{:.4f}"),
    _Figure("array busy over whole SA / MHSA / FFN tiles, DeiT-Small shapes, the host's "
            "64-bit transfers counted", "tiles", _tiles("")),
    _Figure("same, the host's loads hidden", "tiles", _tiles("_loads_hidden")),
    _Figure("the performance model on the same command lists: transfers counted, then "
            "hidden", "tiles", _tiles("_model", "_loads_hidden_model")),
    _Figure("FFN with a GELU, DeiT-Small shapes: the PPU's (ppu_gelu) / the host's (X W1 + "
            "b1 out and back in blocks of rows, the host answering at once), transfers "
            "counted, then loads hidden", "tiles",
            tuple(f"tile_util_{name}{suffix}" for suffix in ("", "_loads_hidden")
                  for name in ("ffn_gelu", "ffn_host_gelu"))),
    _Figure("the performance model on the same command lists", "tiles",
            tuple(f"tile_util_{name}{suffix}" for suffix in ("_model", "_loads_hidden_model")
                  for name in ("ffn_gelu", "ffn_host_gelu"))),
    _Figure("long-row SA head (n = 1024, d_model = dk = 64, softmax_max_row = 256): "
            "transfers counted / loads hidden, measured then model", "tiles",
            tuple(f"tile_util_sa_long{suffix}" for suffix in
                  ("", "_loads_hidden", "_model", "_loads_hidden_model"))),
    _Figure("tile engine in Verilator under cocotb, cycles per second: SA / MHSA / FFN",
            "tiles", tuple(f"{tile}_sim_cycles_per_second" for tile in ("sa", "mhsa", "ffn")),
            "{:.0f}"),
]

SEED_HEAD = [
    _Figure("float32 head, seconds (query blocks of 1024)", "seed_sa", ("float32_seconds",),
            "{:.1f}"),
    _Figure("bit-exact integer head, seconds (1024 queries x 2048 keys a block)", "seed_sa",
            ("integer_seconds",), "{:.1f}"),
    _Figure("peak traced memory of the integer head, MB (n x n int64 scores: 5000 MB)",
            "seed_sa", ("peak_mem_bytes",), "{:.0f}", 1e-6),
    _Figure("relative RMS error of the integer head against the float32 head", "seed_sa",
            ("rel_rms_err_vs_float32",)),
]


def _configuration():
    lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(AcceleratorConfig):
        default = json.dumps(field.default)
        lines.append(f"| `{field.name}` | {default} | {allowed(field)} | "
                     f"{field.metadata['meaning']} |")
    return "\n".join(lines)


def _workloads():
    values = _results("workloads")
    rows = [("BERT-Base, 128 tokens", "bert_base_128"), ("BERT-Large, 384 tokens",
                                                          "bert_large_384"),
            ("DeiT-Small, 197 tokens", "deit_s"), ("DeiT-Base, 197 tokens", "deit_b")]
    lines = ["| model | batch 1 | fills hidden | batch 8 | NVIDIA |", "|---|---|---|---|---|"]
    for label, key in rows:
        batch = values.get(f"util_{key}_batch8")
        lines.append(f"| {label} | {values[f'util_{key}']:.1%} | "
                     f"{values[f'util_{key}_fill_hidden']:.1%} | "
                     f"{'' if batch is None else f'{batch:.1%}'} | "
                     f"{values[f'nvidia_util_{key}']:.0%} |")
    return "\n".join(lines)


def _golden_speed():
    values = _results("golden_speed")
    formats = ("int4_pc", "int4_vsq8", "int8")
    lines = ["| M x K x N | threads | float32 GMAC/s | INT4 per-channel | INT4-VSQ8 | INT8 |",
             "|---|---|---|---|---|---|"]
    for threads in ("1_thread", "2_threads"):
        for shape in ("257x384x384", "257x1536x384"):
            cells = [f"{values[f'{fmt}_gmacs_{shape}_{threads}']:.1f} "
                     f"({values[f'{fmt}_ratio_{shape}_{threads}']:.1f}x)" for fmt in formats]
            lines.append(f"| {shape.replace('x', ' x ')} | {threads.split('_')[0]} | "
                         f"{values[f'float32_gmacs_{shape}_{threads}']:.1f} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def _tile_accuracy():
    values = _results("tile_accuracy")
    lines = ["| tile | INT4 per-channel | INT4-VSQ8 | INT8 | substitution alone |",
             "|---|---|---|---|---|"]
    for tile, label in (("sa", "SA"), ("mhsa", "MHSA"), ("ffn", "FFN")):
        cells = [f"{values[f'{tile}_{fmt}_err_vs_exact']:.3f}"
                 for fmt in ("int4_pc", "int4_vsq8", "int8")]
        lines.append(f"| {label}, against exact float | " + " | ".join(cells)
                     + f" | {values[f'{tile}_substitution_err']:.3f} |")
    cells = [f"{values[f'ffn_{fmt}_err_vs_friendly']:.3f}"
             for fmt in ("int4_pc", "int4_vsq8", "int8")]
    lines.append("| FFN, against float with ReLU | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def _gelu_accuracy():
    values = _results("gelu_accuracy")

    def pair(key, form="{:.4f}"):
        return " / ".join(form.format(values[key.format(where)]) for where in ("host", "ppu"))

    pre = (f"pre-activations: std {values['deit_s_pre_std']:.2f}, mean "
           f"{values['deit_s_pre_mean']:.2f}, {values['deit_s_pre_min']:.1f} .. "
           f"{values['deit_s_pre_max']:.1f}")
    rows = [("GELU itself, x in [-8, 8] (y at 2^-11)", "largest error: I-BERT's polynomial / "
             "the PPU's table", f"{values['gelu_max_error_ibert_polynomial']:.4f} / "
             f"{values['gelu_max_error_ppu']:.4f}", ""),
            (f"MiniLM-L6, {values['minilm_sentences']} sentences", "embedding cosine to float",
             pair("minilm_float_{}_gelu_mean_cos", "{:.5f}"),
             pair("minilm_int4_vsq8_{}_gelu_mean_cos")),
            (f"digits ViT, GELU twin, {values['vit_digits_test_images']} test images",
             "top-1", pair("vit_digits_gelu_float_{}_gelu_top1", "{:.3f}"),
             pair("vit_digits_gelu_int4_vsq8_{}_gelu_top1", "{:.3f}")),
            (f"DeiT-Small-sized FFN, 197 tokens, random weights ({pre}), compiled tile "
             "program", "output cosine to float", "",
             pair("deit_s_ffn_{}_gelu_mean_cos", "{:.5f}"))]
    lines = ["| model | figure | float matmuls: host GELU / PPU GELU | INT4-VSQ8: host GELU / "
             "PPU GELU |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {' | '.join(row)} |" for row in rows])


def _matmul_accuracy():
    values = _results("matmul_accuracy")
    rows = [("INT4 per-channel", "-", "-", "int4_pc"), ("INT4-VSQ", 4, 4, "int4_vsq4_p4"),
            ("INT4-VSQ", 4, "8 (exact)", "int4_vsq4_p8"), ("INT4-VSQ", 6, 8, "int4_vsq6_p8"),
            ("INT4-VSQ", 6, "12 (exact)", "int4_vsq6_p12"),
            ("INT4-VSQ (default)", 8, 8, "int4_vsq8_p8"),
            ("INT4-VSQ", 8, "16 (exact)", "int4_vsq8_p16"), ("INT8 per-channel", "-", "-",
                                                             "int8_pc")]
    lines = ["| format | scale bits M | scale product bits | relative RMS error |",
             "|---|---|---|---|"]
    lines += [f"| {name} | {bits} | {product} | {values[f'rel_rms_err_{key}']:.3f} |"
              for name, bits, product, key in rows]
    return "\n".join(lines)


def _one_pass():
    values = _results("one_pass")

    def pair(key, form="{:.4f}"):
        return " / ".join(form.format(values[key.format(passes)]) for passes in (1, 2))

    rows = [(f"MiniLM-L6, {values['minilm_long_passages']} passages of 256+ tokens, blocks "
             f"of {values['keys_per_block']} keys", "embedding cosine to float",
             *(pair(f"minilm_long_{fmt}_passes{{}}_mean_cos") + f" (+-"
               f"{values[f'minilm_long_{fmt}_difference_stderr']:.4f})"
               for fmt in ("int8", "int4_vsq8"))),
            ("the same, each attention head on the float model's Q, K, V",
             "relative error", *(pair(f"minilm_heads_{fmt}_passes{{}}_rel_err")
                                 for fmt in ("int8", "int4_vsq8"))),
            (f"rows like a pretrained ViT's, 1024 keys, blocks of {values['keys_per_block']}",
             "output cosine to float", *(pair(f"vit_like_{fmt}_passes{{}}_mean_cos")
                                         for fmt in ("int8", "int4_vsq8"))),
            (f"the seed's head, n = {values['seed_tokens']}, random data, blocks of 1024",
             "relative RMS error", "", pair("seed_head_passes{}_rel_rms_err"))]
    lines = ["| inputs | figure | INT8: one pass / two passes | INT4-VSQ8: one pass / two "
             "passes |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {' | '.join(row)} |" for row in rows])


def _accuracy():
    from vsq_accel.accuracy.__main__ import formats_table
    return formats_table(_results("accuracy")).rstrip()


def _accuracy_mixed():
    from vsq_accel.accuracy.__main__ import mixed_table
    return mixed_table(_results("accuracy")).rstrip()


def _coverage():
    values = _results("coverage")
    lines = ["| block (Verilog module) | lines | branches | toggles |", "|---|---|---|---|"]
    for block, kinds in values["blocks"].items():
        cells = [f"{hit / total:.1%}" if total else "-" for hit, total in kinds.values()]
        lines.append(f"| `{block}` | {' | '.join(cells)} |")
    commands = values["commands"]
    lines += ["", f"Command set: {commands['hit']} of {commands['bins']} bins hit; not hit: "
              f"{', '.join(commands['not_hit']) or 'none'}."]
    return "\n".join(lines)


def _synthesis():
    values = _results("synth")
    rows = [("lane: transistors per MAC (generic)", "transistors_per_mac_lane_{}", "{:.0f}"),
            ("array: transistors per MAC", "transistors_per_mac_array_{}", "{:.0f}"),
            ("array: ECP5 LUTs per MAC", "luts_per_mac_array_{}", "{:.0f}")]
    lines = ["| figure (L = 16, V = 16) | INT4 | INT4-VSQ8 | INT8 |", "|---|---|---|---|"]
    for label, key, form in rows:
        cells = [form.format(values[key.format(fmt)]) for fmt in ("int4", "int4_vsq", "int8")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    per_v = " / ".join(f"{values[f'transistors_per_mac_lane_int4_vsq_v{v}']:.0f}"
                       for v in (16, 32, 64))
    fmax = " / ".join(f"{values[f'fmax_mhz_{block}']:.1f}"
                      for block in ("lane", "array", "softmax"))
    lines += ["", "| figure | value |", "|---|---|",
              f"| INT4-VSQ8 lane, transistors per MAC at V = 16 / 32 / 64 | {per_v} |",
              f"| softmax unit (P = 16, 12-bit logits) over one INT4-VSQ8 lane, transistors "
              f"| {values['softmax_over_lane_transistors']:.1f}x |",
              f"| Fmax on the ECP5-85k, MHz: INT4-VSQ8 lane / array / softmax unit | {fmax} |"]
    return "\n".join(lines)


def _post_processing_synthesis():
    values = _results("synth_ppu")
    lanes = values["timing_lanes"]
    lines = ["| block | transistors | over one INT4-VSQ lane | ECP5 LUTs / DSPs / block RAMs "
             f"| Fmax at {lanes} lanes | its longest path |", "|---|---|---|---|---|---|"]
    for block, label in (("ppu_scale", "PPU scaling stage"), ("requantizer", "requantizer"),
                         ("row_requantizer", "row requantizer (P = 16)"),
                         ("corner_turn", "corner turn (the logits' memory)"),
                         ("softmax", "softmax unit with exponential mode")):
        fmax = values[f"fmax_mhz_{block}_l{lanes}"]
        lines.append(
            f"| {label} | {values[f'transistors_{block}'] / 1e6:.2f} M | "
            f"{values[f'{block}_over_lane_transistors']:.1f}x | {values[f'luts_{block}']} / "
            f"{values[f'dsps_{block}']} / {values[f'block_rams_{block}']} | "
            + ("out of time with every seed" if fmax is None else f"{fmax:.1f} MHz")
            + f" | `{values[f'critical_path_{block}_l{lanes}']}` |")
    return "\n".join(lines)


def _accelerator_synthesis():
    values = _results("synth_accelerator")
    device, placed = values["device"], values.get("placed_accelerator_ecp5")
    resources = (("LUT4", "luts", "TRELLIS_COMB"), ("flip-flops", "flip_flops", "TRELLIS_FF"),
                 ("DSPs (18 x 18)", "dsps", "MULT18X18D"),
                 ("block RAMs (18 Kbit)", "block_rams", "DP16KD"))

    def share(used, key):
        return "-" if used is None else f"{used:,} ({used / device[key]:.0%})"

    lines = [f"| resource | the {device['name']} has | ECP5 configuration, synthesized | "
             "placed (in the timing shell) | default configuration, synthesized |",
             "|---|---|---|---|---|"]
    for label, key, bel in resources:
        lines.append(f"| {label} | {device[key]:,} | "
                     f"{share(values[f'{key}_accelerator_ecp5'], key)} | "
                     f"{share(placed and placed.get(bel, 0), key)} | "
                     f"{share(values[f'{key}_accelerator'], key)} |")
    if placed is None:
        seeds = values.get("pnr_timed_out_accelerator_ecp5")
        estimates = values.get("placement_fmax_mhz_accelerator_ecp5", {})
        missing = values.get("placement_endpoints_missing_target_accelerator_ecp5", {})
        placed_estimate = "".join(
            f"; from the placement, {mhz:.1f} MHz"
            + (f", about {missing[seed]:,} endpoints miss {TARGET_MHZ} MHz"
               if seed in missing else "") + f" (seed {seed})"
            for seed, mhz in estimates.items())
        timing = (f"out of time with seed {', '.join(map(str, seeds))}{placed_estimate}"
                  if seeds else f"does not place: {values['pnr_failed_accelerator_ecp5']}")
    else:
        timing = (f"{values['fmax_mhz_accelerator_ecp5']:.1f} MHz (seed "
                  f"{values['pnr_seed_accelerator_ecp5']}), "
                  f"`{values['critical_path_accelerator_ecp5']}`")
    lines += [f"| Fmax | | | {timing} | not placed |", "",
              "| block (ECP5 configuration) | LUT4 | flip-flops | DSPs | block RAMs |",
              "|---|---|---|---|---|"]
    blocks = values["blocks_accelerator_ecp5"]
    for name, cells in sorted(blocks.items(), key=lambda item: -item[1]["luts"]):
        lines.append(f"| {name} | {cells['luts']:,} | {cells['flip_flops']:,} | "
                     f"{cells['dsps']} | {cells['block_rams']} |")
    return "\n".join(lines)


def _gelu_synthesis():
    values = _results("synth_gelu")
    lines = ["| PPU scaling stage | transistors (L = 16) | ECP5 LUTs / DSPs (L = 16) | Fmax at "
             "4 lanes | its longest path |", "|---|---|---|---|---|"]
    for label, name in (("without a GELU", ""), ("with the GELU (ppu_gelu)", "_gelu")):
        block = f"ppu_scale{name}"
        lines.append(f"| {label} | {values[f'transistors_{block}'] / 1e6:.2f} M | "
                     f"{values[f'luts_{block}']} / {values[f'dsps_{block}']} | "
                     f"{values[f'fmax_mhz_{block}_l4']:.1f} MHz | "
                     f"`{values[f'critical_path_{block}_l4']}` |")
    return "\n".join(lines)


def _ppu_share():
    values, tiles = _results("synth_ppu_share"), _results("tiles")
    lines = ["| PPU scaling stage | transistors (L = 16) | ECP5 LUTs / DSPs (L = 16) | Fmax at "
             "4 lanes | SA / MHSA / FFN cycles, loads hidden (RTL) |", "|---|---|---|---|---|"]
    for share in (1, 2, 4):
        block = f"ppu_scale_share{share}"

        def cycles(tile):
            key = tile if share == AcceleratorConfig().ppu_parts else f"{tile}_ppu_share{share}"
            measured = tiles[f"{key}_cycles_loads_hidden"]
            over = measured / tiles[f"{tile}_ppu_share1_cycles_loads_hidden"] - 1
            return f"{measured:,}" + (f" ({over:+.2%})" if share > 1 else "")

        label = "a column a cycle" if share == 1 else f"a column in {share} parts"
        if share == AcceleratorConfig().ppu_parts:
            label += " (the default)"
        lines.append(f"| {label} | {values[f'transistors_{block}'] / 1e6:.2f} M | "
                     f"{values[f'luts_{block}']:,} / {values[f'dsps_{block}']} | "
                     f"{values[f'fmax_mhz_{block}_l4']:.1f} MHz | "
                     + " / ".join(cycles(tile) for tile in ("sa", "mhsa", "ffn")) + " |")
    return "\n".join(lines)


def _multi_format():
    values, cycles = _results("synth"), _results("workloads")
    arrays = ("int4_vsq", "multi_format", "int8")

    def row(label, cells):
        return f"| {label} | " + " | ".join(cells) + " |"

    transistors = [values[f"transistors_array_{name}"] for name in arrays]
    lanes = values["timing_lanes_multi_format"]
    fmax = [values[f"fmax_mhz_array_int4_vsq_l{lanes}"], values["fmax_mhz_multi_format"], None]
    return "\n".join([
        "| 16 lanes x 16, ECP5-85k | INT4-VSQ8 array | multi-format array | INT8 array |",
        "|---|---|---|---|",
        row("transistors (generic synthesis)", [f"{t:,.0f}" for t in transistors]),
        row("over the INT4-VSQ8 array", [f"{t / transistors[0]:.2f}x" for t in transistors]),
        row("ECP5 LUTs", [f"{values[f'luts_array_{name}']:,}" for name in arrays]),
        row(f"Fmax after place and route at {lanes} lanes, MHz",
            [f"{f:.1f}" if f else "not placed" for f in fmax]),
        row("MACs a cycle: INT4 formats / INT8",
            [f"{values['macs_per_cycle_multi_format_int4']} / -",
             f"{values['macs_per_cycle_multi_format_int4']} / "
             f"{values['macs_per_cycle_multi_format_int8']}",
             f"- / {values['macs_per_cycle_int8_array']}"]),
        "",
        "| BERT-Base on NVIDIA's configuration (16 x 64) | INT8 over INT4-VSQ |",
        "|---|---|",
        f"| this array, cycles (performance model), 128 / 384 tokens | "
        f"{cycles['multi_format_int8_over_int4_vsq_cycles_bert_base_128']:.3f} / "
        f"{cycles['multi_format_int8_over_int4_vsq_cycles_bert_base_384']:.3f} |",
        f"| NVIDIA, inferences a second (88 / 45) | "
        f"{cycles['nvidia_int4_vsq_over_int8_inferences']:.3f} |"])


def _energy():
    values = _results("energy")
    lines = ["| 16 x 64, 5 nm, 0.67 V | format | uJ per inference | MAC array | buffers "
             "| PPU | softmax | host | TOPS/W | inferences/s/W | INT8 over INT4-VSQ |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for suffix, host in (("", "DRAM"), ("_on_chip_host", "on-chip memory")):
        for workload, label in (("bert_base_128", "BERT-Base, 128 tokens"),
                                ("deit_s", "DeiT-Small")):
            for format in ("int4_vsq", "int8"):
                key = f"{workload}_{format}{suffix}"
                shares = [f"{values[f'share_{part}_{key}']:.1%}"
                          for part in ("mac_array", "buffers", "ppu", "softmax", "host")]
                ratio = (f"{values[f'energy_ratio_int8_vs_int4_vsq_{workload}{suffix}']:.2f}"
                         if format == "int8" else "")
                lines.append(f"| {label}, host data from {host} | {format} | "
                             f"{values[f'energy_uj_{key}']:,.0f} | " + " | ".join(shares)
                             + f" | {values[f'tops_per_w_{key}']:.1f} | "
                             f"{values[f'inferences_per_s_per_w_{key}']:,.0f} | {ratio} |")
    for workload, label in (("bert_base_128", "BERT-Base"), ("deit_s", "DeiT-Small")):
        tops = (f"{values['nvidia_tops_per_w_bert_base_128_int4_vsq']:.1f}"
                if workload == "bert_base_128" else "")
        lines.append(f"| NVIDIA's chip, measured, {label} | int4_vsq | | | | | | | {tops} | "
                     f"{values[f'nvidia_inferences_per_s_per_w_{workload}_int4_vsq']:,} | "
                     f"{values[f'nvidia_energy_ratio_int8_vs_int4_vsq_{workload}']:.2f} |")
    return "\n".join(lines)


def _ara():
    from vsq_accel.bench.ara import LANE_RATE_GATHER, LENGTHS
    from vsq_accel.rvv.ara import LANES

    values = _results("ara")
    lines = ["| row length | softmax unit, P = "
             f"{values['unit_softmax_lanes']} | "
             + " | ".join(f"Ara, {lanes} lanes" for lanes in LANES)
             + " | Ara, 16 lanes, LUT at lane rate | RVV instructions (4 lanes) |",
             "|---" * (len(LANES) + 4) + "|"]
    for length in LENGTHS:
        cells = [f"{values[f'unit_cycles_row{length}']:,.0f}"]
        cells += [f"{values[f'ara_cycles_l{lanes}_row{length}']:,}" for lanes in LANES]
        cells += [f"{values[f'ara_cycles_{LANE_RATE_GATHER}_l16_row{length}']:,}",
                  f"{values[f'ara_instructions_l4_row{length}']:,}"]
        lines.append(f"| {length:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sweep():
    values = _results("sweep")
    lines = ["| workers | wall | the tasks' own seconds | speedup | bound |",
             "|---|---|---|---|---|"]
    for workers in (1, 2):
        speedup, bound = ((f"{values['speedup_2_workers']:.2f}x",
                           f"{values['speedup_bound_2_workers']:.2f}x") if workers == 2
                          else ("", ""))
        lines.append(f"| {workers} | {values[f'wall_s_{workers}_workers']:.0f} s | "
                     f"{values[f'task_seconds_{workers}_workers']:.0f} s | {speedup} | {bound} |")
    return "\n".join(lines)


def _sweep_deit_s():
    from vsq_accel.sweep.pareto import front, objectives

    rows = json.loads((RESULTS / "sweep_deit_s" / "sweep.json").read_text())["rows"]
    best = [row["config"] for row in front(rows, dict(objectives(rows).values()))]
    lines = ["| configuration | V | L | scale bits | DeiT-S cycles | utilization | energy, uJ "
             "(5 nm) | array transistors | array LUT4 | digits ViT top-1 | on the front |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| `{row['config']}` | {row['vector_size']} | {row['lanes']} | "
            f"{row['scale_bits']} | {row['cycles_deit_s']:,} | "
            f"{row['utilization_deit_s']:.3f} | {row['energy_uj_deit_s_int4_vsq']:,.0f} | "
            f"{row['transistors_array']:,} | {row['luts_array']:,} | "
            f"{row['top1_vit_digits']:.3f} | {'yes' if row['config'] in best else ''} |")
    return "\n".join(lines)


TABLES = {
    "headline": lambda: _figures(HEADLINE, "bench/results/"),
    "rtl_figures": lambda: _figures(RTL_FIGURES, "../bench/results/"),
    "seed_head": lambda: _figures(SEED_HEAD, "../bench/results/"),
    "configuration": _configuration,
    "encoding": lambda: encoding_table(AcceleratorConfig()),
    "workloads": _workloads,
    "golden_speed": _golden_speed,
    "tile_accuracy": _tile_accuracy,
    "matmul_accuracy": _matmul_accuracy,
    "gelu_accuracy": _gelu_accuracy,
    "accuracy": _accuracy,
    "accuracy_mixed": _accuracy_mixed,
    "one_pass": _one_pass,
    "synthesis": _synthesis,
    "multi_format": _multi_format,
    "gelu_synthesis": _gelu_synthesis,
    "ppu_share": _ppu_share,
    "post_processing_synthesis": _post_processing_synthesis,
    "accelerator_synthesis": _accelerator_synthesis,
    "coverage": _coverage,
    "ara": _ara,
    "energy": _energy,
    "sweep": _sweep,
    "sweep_deit_s": _sweep_deit_s,
}


def generated(text):
    """`text` with every marked table as generated now."""
    def fill(match):
        opening, name, _, closing = match.groups()
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; the tables are {', '.join(TABLES)}")
        return f"{opening}{TABLES[name]()}\n{closing}"
    return _MARKED.sub(fill, text)


def drift():
    """[(document, table name)] of every marked table whose text differs from its source."""
    stale = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in _MARKED.finditer(text):
            if match.group(0) != generated(match.group(0)):
                stale.append((path.relative_to(ROOT), match.group(2)))
    return stale


def rewrite():
    for path in DOCUMENTS:
        text = path.read_text()
        new = generated(text)
        if new != text:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--check"]:
        stale = drift()
        for path, name in stale:
            print(f"{path}: table {name} differs from its source (make docs)")
        return 1 if stale else 0
    if argv:
        print("usage: python -m vsq_accel.bench.tables [--check]", file=sys.stderr)
        return 2
    rewrite()
    return 0


if __name__ == "__main__":
    sys.exit(main())
