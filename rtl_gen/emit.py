"""Verilog emission: every design of a configuration, with the configuration and a summary."""

import functools
import os
import shutil
import tempfile
from pathlib import Path

from amaranth import Shape
from amaranth.back import verilog
from amaranth.lib import data

from vsq_accel.rtl_gen.designs import EMITTED
from vsq_accel.spec.commands import Buffer, buffer_size, command_bits, entry_bits

__all__ = ["emit"]


def emit(config, out_dir, designs=tuple(EMITTED)):
    """Write <design>.v for each design named (all by default), config.json and
    summary.md into out_dir. Returns the paths of the Verilog files.

    Everything is written into a temporary folder inside out_dir first and moved into
    place once all is written, so an interrupted run leaves out_dir as it was; files the
    generator does not write are never touched. Raises OSError when out_dir cannot be
    created or written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".emitting-", dir=out_dir))
    try:
        names = ["config.json"]
        (staging / "config.json").write_text(config.to_json())
        summaries = [_config_summary(config)]
        for design in designs:
            text, summary = _converted(config, design)
            names.append(f"{design}.v")
            (staging / names[-1]).write_text(text)
            summaries.append(summary)
        names.append("summary.md")
        (staging / "summary.md").write_text("\n".join(summaries))
        for name in names:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / f"{name}.v" for name in designs]


def _config_summary(config):
    lines = [
        f"# {config.format_name} datapath, {config.lanes} lanes x {config.vector_size} elements",
        "",
        "## MAC array",
        "",
        f"- MACs per cycle: {config.macs_per_cycle}",
        f"- operands: signed {config.data_bits}-bit, "
        f"{config.data_min}..{config.data_max}",
    ]
    if config.vector_scales:
        lines += [
            f"- per-vector scales: unsigned {config.scale_bits}-bit, 0..{config.scale_max}",
            f"- scale product: {2 * config.scale_bits} bits rounded half up to "
            f"{config.scale_product_bits} (largest {config.scale_product_max})",
        ]
    else:
        lines.append("- no per-vector scales: the dot product is accumulated as it is")
    lines += [
        f"- dot product: {config.dot_bits} bits; scaled product: {config.product_bits} bits",
        f"- accumulators: signed {config.acc_bits}-bit, saturating after every add",
        f"- collector: {config.lanes} x {config.lanes} accumulators "
        f"({config.lanes ** 2 * config.acc_bits} bits)",
        "",
        f"## Softmax: {config.softmax_lanes} logits per cycle",
        "",
        f"- logits: signed {config.softmax_logit_bits}-bit, base 2, "
        f"{config.softmax_frac_bits} fraction bits, {config.softmax_logit_min}..{config.softmax_logit_max}",
        f"- 2^x terms and denominator: {config.softmax_exp_bits} fraction bits; "
        f"denominator {config.softmax_sum_bits} bits",
        f"- rows up to {config.softmax_max_beats * config.softmax_lanes} logits "
        f"({config.softmax_max_beats} beats); longer rows: zeros and `error`",
        f"- reciprocal floor(2^{config.softmax_recip_shift} / d): "
        f"{config.softmax_recip_bits} bits, {config.softmax_recip_bits} pipeline stages",
        f"- probabilities: unsigned Q0.{config.softmax_out_bits - 1}, "
        f"1.0 saturates to {config.softmax_out_max}",
        "",
        "## PPU and command set",
        "",
        f"- y: signed {config.ppu_bits}-bit; multipliers {config.ppu_mult_bits} bits; "
        f"requantizer reciprocals floor(2^{config.ppu_recip_bits} / s_q)",
        f"- command words: {command_bits(config)} bits (python -m vsq_accel.spec.commands prints "
        "the fields)",
        "- buffers (entries x bits): " + ", ".join(
            f"{Buffer(buffer).name} {buffer_size(config, buffer)} x "
            f"{entry_bits(config, buffer)}" for buffer in Buffer),
        "",
    ]
    return "\n".join(lines)


@functools.cache
def _converted(config, name):
    """(Verilog, port summary) of a design, converted once per process: the tile
    engine takes half a minute, and the tests emit a configuration for each simulator
    and for the lint."""
    component = EMITTED[name].build(config)
    return verilog.convert(component, name=name, emit_src=False), _port_summary(name, component)


def _port_summary(name, component):
    lines = [f"## {name} ports", "", "| port | direction | bits |", "|---|---|---|"]
    for path, member, _ in component.signature.flatten(component):
        port = "__".join(str(part) for part in path)
        width = Shape.cast(member.shape).width
        lines.append(f"| {port} | {member.flow.name.lower()} | {width} |")
    lines += ["| clk, rst | in | 1 (rst: synchronous, active high) |", "", "Payload fields:", ""]
    for path, member, _ in component.signature.flatten(component):
        if path[-1] == "payload":
            port = "__".join(str(part) for part in path)
            fields = "; ".join(_describe_fields(member.shape, 0))
            lines.append(f"- {port}: {fields}")
    return "\n".join(lines + [""])


def _describe_fields(shape, offset, name=""):
    """Leaf fields of a payload layout as 'name: shape at bits lo..hi', LSB first."""
    if isinstance(shape, data.StructLayout):
        for field_name, field in shape:
            yield from _describe_fields(field.shape, offset + field.offset,
                                        f"{name}.{field_name}" if name else field_name)
    elif isinstance(shape, data.ArrayLayout):
        element = Shape.cast(shape.elem_shape)
        kind = "signed" if element.signed else "unsigned"
        yield (f"{name or 'element'}[0..{shape.length - 1}]: {kind}({element.width}) each, "
               f"bits {offset}..{offset + shape.size - 1}, element 0 lowest")
    else:
        cast = Shape.cast(shape)
        kind = "signed" if cast.signed else "unsigned"
        yield f"{name}: {kind}({cast.width}) at bits {offset}..{offset + cast.width - 1}"
