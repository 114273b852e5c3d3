"""The one configuration object that drives the golden model, the RTL and the reports.

Every width in the hardware is derived here from the numerics contract, so the golden
model and the generator can never disagree about how wide a value is.
"""

import dataclasses
import json
import math
import sys
from pathlib import Path

from vsq_accel.spec.numerics import rhu, signed_bits_for
from vsq_accel.spec.precision import FORMATS

__all__ = ["AcceleratorConfig", "ConfigError", "BUFFER_SIZE_KEYS", "allowed"]


class ConfigError(ValueError):
    """A configuration value, or a combination of values, that the hardware cannot build."""


BUFFER_SIZE_KEYS = ("left_buffer_vectors", "right_buffer_vectors", "output_buffer_vectors",
                    "param_entries", "accumulator_entries")


class _Bound:
    """A range limit that depends on other keys: `value(config)`, written `text`."""

    def __init__(self, value, text):
        self.value, self.text = value, text


def _key(default, meaning, low=None, high=None, choices=None, why=""):
    """A configuration key: its default, what it means, and what is allowed: `choices`,
    or low..high (ints, or `_Bound`s on other keys; `why` says which)."""
    return dataclasses.field(default=default, metadata={
        "meaning": meaning, "low": low, "high": high, "choices": choices, "why": why})


_BUFFER = {"low": 64, "high": 1 << 20}


@dataclasses.dataclass(frozen=True)
class AcceleratorConfig:
    """Parameters of the VSQ datapath: each field's `meaning` and allowed values are in
    its metadata (the table of docs/configuration.md is generated from them).

    Raises
    ------
    ConfigError
        Naming the parameter, its value and what is allowed.
    """

    lanes: int = _key(16, "vector-MAC lanes L, also the output tile edge", 1, 64)
    vector_size: int = _key(16, "elements V per vector along the reduction",
                            choices=(8, 16, 32, 64), why="a power of two")
    data_bits: int = _key(4, "signed operand width N (-2^(N-1) accepted)", choices=(4, 8))
    vector_scales: bool = _key(True, "per-vector scales (VSQ); false: plain INT-N, p = 1")
    formats: tuple | None = _key(
        None, "operand formats the MAC array runs, chosen per GEMM: on a 4-bit array any of "
        "int4_vsq, int4 and int8, an int8 vector being two entries (high and low nibbles) "
        "at half rate; null: the format of data_bits and vector_scales alone")
    scale_bits: int = _key(8, "unsigned per-vector scale width M", 2, 8)
    scale_product_bits: int = _key(
        8, "the 2M-bit scale product is rounded half up to this (so with the default 8, "
        "`scale_bits` below 4 needs this lowered too)",
        1, _Bound(lambda c: 2 * c.scale_bits, "2 * scale_bits"), why="at most 2 * scale_bits")
    acc_bits: int = _key(24, "signed accumulator, saturating after every add; at least one "
                         "scaled vector product (`product_bits`)", 16, 40)
    lane_stages: int = _key(
        4, "register stages of a lane before its accumulator: 2 (dot and scale products, "
        "then their product), 3 (the element products summed in pairs, registered before "
        "the rest of the adder tree) or 4 (also d times each half of the scale product); "
        "each stage is a cycle of fill per matmul, for 100 MHz on ECP5", 2, 4)
    softmax_width: int | None = _key(None, "logits P per cycle of the softmax unit; null: "
                                     "`lanes`", 1, 64)
    softmax_logit_bits: int = _key(
        12, "signed width W of the base-2 logits: with F = 2, -512..511.75 units "
        "(pretrained ViTs reach about 410; 8 is int8's -32..31.75)",
        8, _Bound(lambda c: min(16, c.ppu_bits), "min(16, ppu_bits)"), why="at most ppu_bits")
    softmax_frac_bits: int = _key(2, "fraction bits F of the base-2 logits", 0, 4)
    softmax_exp_bits: int = _key(14, "fraction bits of the 2^x terms and of the denominator",
                                 8, 16)
    softmax_max_row: int = _key(1024, "longest row the softmax unit takes, in logits (rounded "
                                "up to whole beats); it sets the denominator's integer bits "
                                "and the logit buffer", 16, 4096)
    softmax_max_keys: int = _key(
        32768, "longest row of an attention in keys, over all its blocks of softmax_max_row "
        "(one-pass attention): it sets the running sum's integer bits",
        _Bound(lambda c: c.softmax_max_row, "softmax_max_row"), 1 << 20,
        why="at least softmax_max_row")
    softmax_recip_bits: int = _key(
        16, "width of the per-row reciprocal floor(2^k / d)",
        _Bound(lambda c: c.softmax_out_bits + 2, "softmax_out_bits + 2"), 24,
        why="at least softmax_out_bits + 2")
    softmax_out_bits: int = _key(8, "probabilities, unsigned Q0.(bits-1), 1.0 saturating to "
                                 "the largest code", 4, 8)
    ppu_bits: int = _key(16, "signed width of the PPU's outputs y, which saturate there; "
                         "their unit is set per tensor by calibration", 12, 24)
    # The PPU's multiplier maps an accumulator unit to y's: a scale up to 2^(ppu_bits - 1)
    # (a tensor whose largest accumulator is 1 at the top of y's range), which a narrower
    # multiplier cannot hold, and the compiler could not scale the tensor.
    ppu_mult_bits: int = _key(
        16, "unsigned fixed-point multipliers standing for float scales (up to "
        "2^(ppu_bits-1): a tensor whose largest accumulator is 1)",
        _Bound(lambda c: max(8, c.ppu_bits), "max(8, ppu_bits)"), 24,
        why="at least 8 and ppu_bits")
    ppu_gelu: bool = _key(False, "an integer GELU in the PPU (MATMUL's gelu): y * Phi(y) "
                          "from a table of 65 points, interpolated (golden.gelu)")
    ppu_share: int | None = _key(
        None, "parts the PPU's scaling stage takes a column in, one a cycle, lanes / "
        "ppu_share lanes each, sharing its multipliers, behind a queue (a tile's columns "
        "arrive together, then none while the next tile accumulates); null: 2 where lanes "
        "is even (0.59 of the area, +0.6 % of DeiT-Small's cycles), else 1",
        1, _Bound(lambda c: c.lanes, "lanes"), why="a divisor of lanes")
    ppu_recip_bits: int = _key(16, "R of the requantizer's per-vector reciprocal "
                               "floor(2^R / s_q)", 8, 20)
    left_buffer_vectors: int = _key(16384, "LEFT entries, one vector and its scale each: the "
                                    "array's A operand", **_BUFFER)
    right_buffer_vectors: int = _key(16384, "RIGHT entries, likewise: the array's B operand",
                                     **_BUFFER)
    output_buffer_vectors: int = _key(4096, "OUTPUT entries, V outputs y each, for the host",
                                      **_BUFFER)
    param_entries: int = _key(4096, "PARAMS entries: multiplier, shift and bias of one "
                              "output column (or row)", **_BUFFER)
    accumulator_entries: int = _key(256, "ACC entries, a column of L accumulators each, kept "
                                    "between matmuls: P V's partial sums over a long row's "
                                    "blocks of keys", **_BUFFER)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            # bool is a subclass of int, so check it explicitly in both directions.
            if field.type is bool and not isinstance(value, bool):
                raise ConfigError(f"{field.name}={_spelled(value)} must be true or false")
            if field.type in (int | None, tuple | None) and value is None:
                continue
            if field.type in (int, int | None) and (isinstance(value, bool)
                                                    or not isinstance(value, int)):
                raise ConfigError(f"{field.name}={_spelled(value)} must be an integer")
        # Keys with fixed bounds first, so that a bound taken from another key is valid.
        for field in sorted(dataclasses.fields(self), key=_depends):
            self._check_key(field)
        self._check_formats()
        for name in self.supported_formats:
            needed = signed_bits_for(*self.product_range(name))
            if self.acc_bits < needed:
                data_bits, scaled = FORMATS[name]
                raise ConfigError(
                    f"acc_bits={self.acc_bits} is too narrow to hold one scaled vector "
                    f"product, which needs {needed} bits with vector_size="
                    f"{self.vector_size}, data_bits={data_bits}" + (
                        f", scale_bits={self.scale_bits}, "
                        f"scale_product_bits={self.scale_product_bits}" if scaled else "")
                    + (f" (format {name})" if self.formats is not None else ""))
        if self.lanes % self.ppu_parts:
            raise ConfigError(f"ppu_share={self.ppu_share} must divide lanes={self.lanes}: "
                              "a column passes the PPU in equal parts")
        block = math.lcm(self.softmax_lanes, self.vector_size)
        if self.softmax_max_row < block:
            raise ConfigError(
                f"softmax_max_row={self.softmax_max_row} cannot hold a block of keys for rows "
                f"longer than it: a block is whole softmax beats of {self.softmax_lanes} and "
                f"whole vectors of vector_size={self.vector_size}, at least {block} keys")

    def _check_formats(self):
        """`formats`: known names, each once, the array's own among them; INT8 on a 4-bit
        array only (an 8-bit entry has no room for scales), VSQ only with scale fields."""
        if self.formats is None:
            return
        if not isinstance(self.formats, (list, tuple)) or not self.formats:
            raise ConfigError(f"formats={_spelled(self.formats)} must be a list of format "
                              f"names ({', '.join(FORMATS)}) or null")
        object.__setattr__(self, "formats", tuple(self.formats))
        for name in self.formats:
            if name not in FORMATS:
                raise ConfigError(f"formats: {_spelled(name)} is not a format; the formats "
                                  f"are {', '.join(FORMATS)}")
        if len(set(self.formats)) != len(self.formats):
            raise ConfigError(f"formats={_spelled(list(self.formats))} names a format twice")
        if self.own_format not in self.formats:
            raise ConfigError(
                f"formats={_spelled(list(self.formats))} leaves out {self.own_format}, the "
                f"format of the entries (data_bits={self.data_bits}, vector_scales="
                f"{_spelled(self.vector_scales)})")
        if self.data_bits == 8 and len(self.formats) > 1:
            raise ConfigError(f"formats={_spelled(list(self.formats))}: an 8-bit array runs "
                              "its own format only; a 4-bit array (data_bits=4) runs "
                              "int4_vsq, int4 and int8")
        if "int8_vsq" in self.formats and self.data_bits == 4:
            raise ConfigError(f"formats={_spelled(list(self.formats))}: int8_vsq runs on an "
                              "8-bit array only (data_bits=8)")
        if "int4_vsq" in self.formats and not self.vector_scales:
            raise ConfigError(f"formats={_spelled(list(self.formats))} names int4_vsq, but "
                              "with vector_scales=false the entries have no scales")

    def _check_key(self, field):
        rules, value = field.metadata, getattr(self, field.name)
        if value is None or isinstance(value, bool) or field.type == tuple | None:
            return
        if rules["choices"] is not None:
            if value not in rules["choices"]:
                why = f"{rules['why']}, " if rules["why"] else ""
                raise ConfigError(f"{field.name}={value} is not allowed: "
                                  f"it must be {why}{_alternatives(rules['choices'])}")
            return
        low, high = (bound.value(self) if isinstance(bound, _Bound) else bound
                     for bound in (rules["low"], rules["high"]))
        if not low <= value <= high:
            raise ConfigError(f"{field.name}={value} is out of range: it must be in "
                              f"{low}..{high}" + (f" ({rules['why']})" if rules["why"] else ""))

    # -- Operand ranges -------------------------------------------------------------------

    @property
    def data_min(self):
        """Most negative operand, -2^(N-1); the datapath accepts it."""
        return -(1 << (self.data_bits - 1))

    @property
    def data_max(self):
        return (1 << (self.data_bits - 1)) - 1

    @property
    def scale_max(self):
        return (1 << self.scale_bits) - 1

    @property
    def operand_levels(self):
        """Largest operand magnitude in units of the coarse scale gamma: 2^(N-1) - 1,
        times the largest per-vector scale with VSQ."""
        return self.data_max * (self.scale_max if self.vector_scales else 1)

    # -- Lane widths ----------------------------------------------------------------------

    @property
    def scale_product_shift(self):
        """Bits dropped when the 2M-bit scale product is rounded to scale_product_bits."""
        return 2 * self.scale_bits - self.scale_product_bits

    @property
    def scale_product_max(self):
        """Largest rounded scale product p; 1 without vector scales.

        Rounding half up can carry into one more bit than scale_product_bits when more
        than M+1 bits are dropped; the contract keeps that exact value.
        """
        if not self.vector_scales:
            return 1
        return rhu(self.scale_max * self.scale_max, self.scale_product_shift)

    @property
    def scale_product_width(self):
        """Unsigned width that holds every rounded scale product."""
        return self.scale_product_max.bit_length()

    @property
    def dot_range(self):
        """Smallest and largest exact V-element dot product."""
        low, high = self.data_min, self.data_max
        return self.vector_size * low * high, self.vector_size * low * low

    @property
    def dot_bits(self):
        return signed_bits_for(*self.dot_range)

    def product_range(self, name):
        """Smallest and largest scaled vector product d * p of format `name`."""
        data_bits, scaled = FORMATS[name]
        low, high = -(1 << (data_bits - 1)), (1 << (data_bits - 1)) - 1
        p = self.scale_product_max if scaled else 1
        return self.vector_size * low * high * p, self.vector_size * low * low * p

    @property
    def product_bits(self):
        """Signed width of one scaled vector product d * p, in the widest format."""
        return max(signed_bits_for(*self.product_range(name))
                   for name in self.supported_formats)

    # -- Formats ----------------------------------------------------------------------------

    @property
    def own_format(self):
        """The format of the entries: int4_vsq, int4 or int8."""
        return next(name for name, (data_bits, scaled) in FORMATS.items()
                    if data_bits == self.data_bits and scaled == self.vector_scales)

    @property
    def supported_formats(self):
        """The formats a MATMUL may name, by its `format` code: the entries' own (code
        0), then the others of `formats` in their order."""
        return (self.own_format,) + tuple(name for name in self.formats or ()
                                          if name != self.own_format)

    def format_code(self, name):
        """A MATMUL's `format` code for the format `name`."""
        if name not in self.supported_formats:
            raise ValueError(f"format {name!r} is not one this array runs: formats="
                             f"{_spelled(list(self.supported_formats))}")
        return self.supported_formats.index(name)

    def entries_per_vector(self, name):
        """LEFT or RIGHT entries of one vector in format `name`: two for INT8 in nibble
        passes (its high nibbles, then its low ones), else one."""
        return 2 if name == "int8" and self.nibble_passes else 1

    @property
    def nibble_passes(self):
        """Whether INT8 operands run on 4-bit lanes, as two entries each (high, low)."""
        return self.data_bits == 4 and "int8" in self.supported_formats

    @property
    def lane_data_bits(self):
        """Width of the A elements a lane holds: 8 with nibble passes, else data_bits."""
        return 8 if self.nibble_passes else self.data_bits

    @property
    def lane_dot_bits(self):
        """Signed width of a lane's dot product: with nibble passes, of 8-bit A elements
        times 4-bit B nibbles, signed (-8..7) or unsigned (0..15)."""
        if not self.nibble_passes:
            return self.dot_bits
        products = [a * b for a in (-128, 127) for b in (-8, 15)]
        return signed_bits_for(self.vector_size * min(products),
                               self.vector_size * max(products))

    @property
    def acc_min(self):
        return -(1 << (self.acc_bits - 1))

    @property
    def acc_max(self):
        return (1 << (self.acc_bits - 1)) - 1

    @property
    def macs_per_cycle(self):
        return self.lanes * self.vector_size

    @property
    def format_name(self):
        """Short name of the arithmetic, e.g. INT4-VSQ8 or INT8."""
        name = f"INT{self.data_bits}"
        return f"{name}-VSQ{self.scale_bits}" if self.vector_scales else name

    @property
    def ppu_parts(self):
        """Parts S a column passes the PPU in: ppu_share, or 2 where that is None and the
        lanes are even."""
        if self.ppu_share is not None:
            return self.ppu_share
        return 2 if self.lanes % 2 == 0 else 1

    # -- Softmax widths -------------------------------------------------------------------

    @property
    def softmax_lanes(self):
        """Logits per cycle P: softmax_width, or the lane count when that is None."""
        return self.lanes if self.softmax_width is None else self.softmax_width

    @property
    def softmax_logit_min(self):
        """Most negative logit; its ceiling in whole units starts the running max."""
        return -(1 << (self.softmax_logit_bits - 1))

    @property
    def softmax_logit_max(self):
        return (1 << (self.softmax_logit_bits - 1)) - 1

    @property
    def softmax_out_shift(self):
        """k - O: loop 2 rounds term x r, a probability with k fraction bits, to O."""
        return self.softmax_recip_shift - (self.softmax_out_bits - 1)

    # -- PPU widths -----------------------------------------------------------------------

    @property
    def ppu_input_bits(self):
        """Signed width of what the requantizer takes: PPU outputs y (ppu_bits), or the
        softmax's exponentials 2^(x - m) (at most 1.0 with E fraction bits)."""
        return max(self.ppu_bits, self.softmax_exp_bits + 2)

    @property
    def softmax_value_bits(self):
        """Unsigned width of the softmax unit's values: probabilities (softmax_out_bits),
        or exponentials 2^(x - m) of at most 1.0 with E fraction bits."""
        return max(self.softmax_out_bits, self.softmax_exp_bits + 1)

    @property
    def softmax_max_beats(self):
        """Longest row in beats of P logits."""
        return -(-self.softmax_max_row // self.softmax_lanes)

    @property
    def softmax_sum_bits(self):
        """Unsigned width of the denominator: a longest row (softmax_max_keys) of terms of
        at most 1.0."""
        longest = max(self.softmax_max_keys, self.softmax_max_beats * self.softmax_lanes)
        return self.softmax_exp_bits + longest.bit_length()

    @property
    def softmax_recip_shift(self):
        """k of r = floor(2^k / d): r < 2^recip_bits for every d of at least one term."""
        return self.softmax_exp_bits - 1 + self.softmax_recip_bits

    @property
    def softmax_out_max(self):
        return (1 << (self.softmax_out_bits - 1)) - 1

    # -- Buffers ----------------------------------------------------------------------------

    @property
    def score_rows(self):
        """Rows of logits the score buffer holds: two blocks of L query rows, so that the
        array computes one block of S while the softmax reads the other."""
        return 2 * self.lanes

    @property
    def state_rows(self):
        """Rows of softmax state (running max, sum, reciprocal): two blocks of L rows."""
        return 2 * self.lanes

    # -- Serialisation --------------------------------------------------------------------

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        if not isinstance(values, dict):
            raise ConfigError(f"a configuration must be a JSON object, not {type(values).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown configuration key(s) {', '.join(map(_spelled, unknown))}; "
                              f"known keys are {', '.join(sorted(known))}")
        return cls(**values)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text):
        try:
            values = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            raise ConfigError(f"not valid JSON: {error}") from None
        except RecursionError:
            raise ConfigError("not a configuration: JSON nested too deeply") from None
        return cls.from_dict(values)

    @classmethod
    def load(cls, path):
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise ConfigError(f"cannot read configuration {path}: {error.strerror}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{path}: not UTF-8 text (byte {error.start} is "
                              f"{raw[error.start]:#04x}); a configuration is a UTF-8 JSON "
                              "file") from None
        try:
            return cls.from_json(text)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None

    @classmethod
    def load_for_command_line(cls, path):
        """The configuration at `path` (the default without one); an invalid one prints
        one line on stderr and exits with status 2, as argparse does for bad options."""
        try:
            if path is not None and not str(path).strip():
                raise ConfigError("--config is empty: name a configuration file, or leave "
                                  "--config out for the default")
            return cls.load(path) if path is not None else cls()
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None

    def save(self, path):
        Path(path).write_text(self.to_json())


def _depends(field):
    """Whether a key's bounds depend on other keys."""
    return any(isinstance(field.metadata.get(end), _Bound) for end in ("low", "high"))


def allowed(field):
    """What a key allows, as the docs write it: `1..64`, `8, 16, 32 or 64`, `true, false`."""
    rules = field.metadata
    if field.type is bool:
        return "true, false"
    if field.type == tuple | None:
        return f"a list of {', '.join(FORMATS)}; null"
    if rules["choices"] is not None:
        return ", ".join(map(str, rules["choices"]))
    low, high = (bound.text if isinstance(bound, _Bound) else str(bound)
                 for bound in (rules["low"], rules["high"]))
    return f"{low}..{high}" + (", null" if field.type == int | None else "")


def _spelled(value):
    """A value as JSON spells it (`true`, `null`, `"text"`), for error messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _alternatives(values):
    """'one of 8, 16, 32 or 64' (or '4 or 8')."""
    *others, last = values
    return ("one of " if len(others) > 1 else "") + ", ".join(map(str, others)) + f" or {last}"


def _unique_keys(pairs):
    """A JSON object's dict, refusing a key given twice (JSON would keep the last)."""
    values = {}
    for key, value in pairs:
        if key in values:
            raise ConfigError(f"key {_spelled(key)} is given twice")
        values[key] = value
    return values
