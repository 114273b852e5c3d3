"""Energy per inference in the Accelergy style: the events of the command lists
(`perf.activity`) times the energy of each, from a table of published figures
(`perf/energy_45nm.json`: Horowitz's 45 nm operations, scaled to other nodes and
voltages by Stillmaker and Baas's equations). The table is data: a user replaces it with
their own (`EnergyTable.load`).

How an event's energy is built from the table's entries (each an assumption, named):
- an add of n bits: linear in n through Horowitz's 8- and 32-bit adds; a multiply of
  a x b bits: the 8 x 8 multiply times a b / 64 (an array multiplier's partial products;
  it gives 3.2 pJ for 32 x 32, Horowitz 3.1); a multiplier wider than a format's
  operands spends energy for the operands' bits (the upper bits hold a sign extension);
- a lane pass: V multiplies and a V-input adder tree at the dot product's width, the
  lane's operand registers written (V (a + b) bits and the scales), and in a VSQ format
  the scale product and d x p; each vector's accumulation is an add of acc_bits and the
  accumulator's bits written;
- an SRAM access: bits x the per-bit energy of a 64-bit access at the buffer's size,
  interpolated in log-log through Horowitz's 8 KB, 32 KB and 1 MB points (clamped
  outside); a write costs `sram_write_per_read` reads;
- the PPU: per lane of a column, a multiply of acc x ppu_mult bits and the bias's add
  (and the softmax reciprocal's multiply where rows are scaled); the requantizer: the element's
  multiplies by its multiplier and its vector's reciprocal, and per vector the scale's
  multiply;
- the softmax: per logit of a beat, loop 1's compare, subtract, table read (E bits) and
  add, loop 2's subtract, table read and shift (an add); per row the divider, one subtract
  of the sum's width per reciprocal bit; per exponential vector the row requantizer as
  the PPU's;
- the host's transfers: each beat's bits from DRAM (`dram_64b`) or from an on-chip
  memory (`host_on_chip_64b`).
What the model cannot see (glitches, the clock tree, leakage) is in docs/energy.md.
"""

import dataclasses
import json
import math
from pathlib import Path

from vsq_accel.spec.commands import Buffer, buffer_size, entry_bits
from vsq_accel.spec.precision import format_config
from vsq_accel.spec.timing import HOST_DATA_BITS

__all__ = ["EnergyTableError", "EnergyTable", "TABLE_PATH", "event_energies", "energy_split",
           "COMPONENTS"]

TABLE_PATH = Path(__file__).with_name("energy_45nm.json")
_REQUIRED = ("add_8b", "add_32b", "mult_8x8", "mult_32x32", "sram_64b_8kb", "sram_64b_32kb",
             "sram_64b_1mb", "dram_64b", "register_bit", "host_on_chip_64b")
_SRAM_POINTS = ((8 * 1024, "sram_64b_8kb"), (32 * 1024, "sram_64b_32kb"),
                (1024 * 1024, "sram_64b_1mb"))
# The split of an inference's energy: an event's component is its name's first part.
COMPONENTS = {"lane_passes": "MAC array", "accumulations": "MAC array",
              "feeds": "buffers", "reads": "buffers", "writes": "buffers",
              "ppu_columns": "PPU",
              "row_scaled_columns": "PPU", "requant_vectors": "PPU",
              "softmax_beats": "softmax", "softmax_rows": "softmax",
              "exp_vectors": "softmax", "host_beats": "host"}


class EnergyTableError(ValueError):
    """A table that cannot price the events: the message names the entry."""


@dataclasses.dataclass(frozen=True)
class EnergyTable:
    """pJ per action at `node_nm` and `vdd`, and the energy-scaling coefficients by node."""

    node_nm: float
    vdd: float
    pj: dict
    write_per_read: float
    scaling: dict

    @classmethod
    def load(cls, path=TABLE_PATH):
        """The table of a JSON file (as `perf/energy_45nm.json`), checked entry by entry."""
        try:
            spec = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise EnergyTableError(f"{path}: {error}") from None
        actions = spec.get("actions")
        if not isinstance(actions, dict):
            raise EnergyTableError(f"{path}: no 'actions' object")
        pj = {}
        for name in _REQUIRED:
            if name not in actions:
                raise EnergyTableError(f"{path}: action {name!r} is missing")
            pj[name] = _number(actions[name].get("pj"), f"{path}: action {name!r}")
        ratio = _number(actions.get("sram_write_per_read", {}).get("ratio", 1.0),
                        f"{path}: action 'sram_write_per_read'")
        nodes = spec.get("energy_scaling", {}).get("nodes", {})
        scaling = {}
        for node, coefficients in nodes.items():
            where = f"{path}: energy_scaling node {node!r}"
            if not isinstance(coefficients, list) or len(coefficients) != 3:
                raise EnergyTableError(f"{where} must be [a, b, c]")
            scaling[_number(node, where)] = [_number(value, where, signed=True)
                                             for value in coefficients]
        node = _number(spec.get("node_nm"), f"{path}: node_nm")
        if node not in scaling:
            raise EnergyTableError(f"{path}: node_nm {node:g} has no energy_scaling entry")
        return cls(node, _number(spec.get("vdd"), f"{path}: vdd"), pj, ratio, scaling)

    def factor(self, node_nm, vdd):
        """Energy at (node_nm, vdd) over energy at the table's node and voltage."""
        nodes = sorted(self.scaling)
        if not math.isfinite(node_nm) or node_nm < 1:
            raise EnergyTableError(f"node {node_nm:g} nm: the table scales nodes of 1 nm and "
                                   f"more")
        if node_nm > nodes[-1]:
            raise EnergyTableError(f"node {node_nm:g} nm is larger than the table's largest, "
                                   f"{nodes[-1]:g} nm")
        if not 0 < vdd < 2 or not math.isfinite(vdd):
            raise EnergyTableError(f"vdd {vdd} V is not a supply voltage (0 to 2 V)")
        return self._at(node_nm, vdd) / self._at(self.node_nm, self.vdd)

    def _at(self, node_nm, vdd):
        """The energy factor, linear between nodes; below the smallest, times
        sqrt(node / smallest)."""
        nodes = sorted(self.scaling)
        extra = math.sqrt(node_nm / nodes[0]) if node_nm < nodes[0] else 1.0
        node_nm = max(node_nm, nodes[0])
        upper = next(node for node in nodes if node >= node_nm)
        lower = max(node for node in nodes if node <= node_nm)

        def value(node):
            a, b, c = self.scaling[node]
            return a * vdd ** 2 + b * vdd + c

        if upper == lower:
            return value(lower) * extra
        share = (node_nm - lower) / (upper - lower)
        return (value(lower) * (1 - share) + value(upper) * share) * extra


def _number(value, where, signed=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EnergyTableError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number) or (number < 0 and not signed):
        raise EnergyTableError(f"{where}: {value!r} must be finite"
                               + ("" if signed else " and not negative"))
    return number


def event_energies(table, config, node_nm, vdd, host="dram"):
    """pJ of each kind of event (`perf.activity`) on `config` at (node_nm, vdd)."""
    factor = table.factor(node_nm, vdd)
    pj = table.pj

    def add(bits):
        slope = (pj["add_32b"] - pj["add_8b"]) / 24
        return max(pj["add_8b"] + (bits - 8) * slope, pj["add_8b"] * bits / 8)

    def mult(a, b):
        return pj["mult_8x8"] * a * b / 64

    def register(bits):
        return pj["register_bit"] * bits

    size = config.vector_size
    energies = {}
    for name in config.supported_formats:
        operands = format_config(config, name)
        a_bits = operands.data_bits if operands.data_bits == 4 else config.lane_data_bits
        b_bits = min(operands.data_bits, config.data_bits)   # nibble passes: 4-bit B
        dot_bits = a_bits + b_bits + max(size - 1, 1).bit_length()
        lane = (size * mult(a_bits, b_bits) + (size - 1) * add(dot_bits)
                + register(size * (a_bits + b_bits)))
        if operands.vector_scales:
            lane += (mult(config.scale_bits, config.scale_bits)
                     + mult(dot_bits, config.scale_product_width)
                     + register(2 * config.scale_bits))
        energies[f"lane_passes.{name}"] = lane
        energies[f"accumulations.{name}"] = add(config.acc_bits) + register(config.acc_bits)
        requant = size * (mult(config.ppu_bits, config.ppu_mult_bits)
                          + (mult(config.ppu_bits, config.ppu_recip_bits)
                             if operands.vector_scales else 0))
        vector_scale = (mult(config.ppu_bits, config.ppu_mult_bits) if operands.vector_scales
                        else 0)
        energies[f"requant_vectors.{name}"] = requant + vector_scale
        exp_requant = size * (mult(config.softmax_exp_bits + 1, config.ppu_mult_bits)
                              + (mult(config.softmax_exp_bits + 1, config.ppu_recip_bits)
                                 if operands.vector_scales else 0))
        energies[f"exp_vectors.{name}"] = exp_requant + vector_scale
    for buffer in (Buffer.LEFT, Buffer.RIGHT, Buffer.OUTPUT, Buffer.PARAMS, Buffer.STATE,
                   Buffer.ACC, Buffer.SCORES):
        bits = entry_bits(config, buffer)
        total = bits * buffer_size(config, buffer)
        energies[f"reads.{buffer.name}"] = bits * _sram_bit(pj, total / 8)
        energies[f"feeds.{buffer.name}"] = energies[f"reads.{buffer.name}"]
        energies[f"writes.{buffer.name}"] = energies[f"reads.{buffer.name}"] * table.write_per_read
    lanes = config.lanes
    energies["ppu_columns"] = lanes * (mult(config.acc_bits, config.ppu_mult_bits)
                                       + add(config.ppu_bits))
    energies["row_scaled_columns"] = lanes * mult(config.acc_bits, config.softmax_recip_bits)
    logit, exp, total_bits = (config.softmax_logit_bits, config.softmax_exp_bits,
                              config.softmax_sum_bits)
    energies["softmax_beats"] = config.softmax_lanes * (2 * add(logit) + add(total_bits)
                                                        + add(exp) + add(logit)
                                                        + 2 * register(exp))
    energies["softmax_rows"] = config.softmax_recip_bits * add(total_bits)
    energies["host_beats"] = (pj["dram_64b" if host == "dram" else "host_on_chip_64b"]
                              * HOST_DATA_BITS / 64)
    return {event: value * factor for event, value in energies.items()}


def _sram_bit(pj, size_bytes):
    """pJ per bit of an access to an SRAM of `size_bytes`: log-log through the table's
    three sizes, the end points' energy outside them."""
    points = [(math.log(size), math.log(pj[name] / 64)) for size, name in _SRAM_POINTS]
    x = math.log(max(size_bytes, 1))
    x = min(max(x, points[0][0]), points[-1][0])
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return math.exp(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return math.exp(points[-1][1])


def energy_split(activity, energies):
    """{component: pJ} of the events `activity` at the prices `energies`."""
    split = {}
    for event, count in activity.items():
        if event not in energies:
            raise EnergyTableError(f"no energy for the event {event!r}")
        component = COMPONENTS[event.split(".")[0]]
        split[component] = split.get(component, 0.0) + count * energies[event]
    return split
