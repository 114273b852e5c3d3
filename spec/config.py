"""The one configuration object that drives the golden model, the RTL and the reports.

Every width in the hardware is derived here from the numerics contract, so the golden
model and the generator can never disagree about how wide a value is.
"""

import dataclasses
import json
import sys
from pathlib import Path

from vsq_accel.spec.numerics import rhu, signed_bits_for

__all__ = ["AcceleratorConfig", "ConfigError", "BUFFER_SIZE_KEYS"]


class ConfigError(ValueError):
    """A configuration value, or a combination of values, that the hardware cannot build."""


_VECTOR_SIZES = (8, 16, 32, 64)
BUFFER_SIZE_KEYS = ("left_buffer_vectors", "right_buffer_vectors", "output_buffer_vectors",
                    "param_entries", "accumulator_entries")
_DATA_BITS = (4, 8)


@dataclasses.dataclass(frozen=True)
class AcceleratorConfig:
    """Parameters of the VSQ datapath.

    Parameters
    ----------
    lanes : int
        Vector-MAC lanes L (1..64), also the edge of the square output tile.
    vector_size : int
        Elements V per vector along the reduction dimension (8, 16, 32 or 64).
    data_bits : int
        Signed operand width N (4 or 8).
    vector_scales : bool
        Whether every vector carries its own unsigned scale (VSQ). Without them the lane
        multiplies the dot product by 1: plain INT-N with per-tensor or per-channel scales.
    scale_bits : int
        Width M of the unsigned per-vector scale (2..8).
    scale_product_bits : int
        The 2M-bit scale product is rounded half up to this many bits (1..2M).
    acc_bits : int
        Width of the signed accumulator, saturating after every add (16..40).
    lane_stages : int
        Register stages of a lane before its accumulator: 2 (dot and scale products, then
        their product), 3 (the element products, summed in pairs, registered before the
        rest of the adder tree) or 4 (also d times each half of the scale product,
        registered before their sum). Each stage is one cycle of fill per matmul for a
        shorter critical path.
    softmax_width : int or None
        Logits P the softmax unit takes per cycle (1..64); None ties it to `lanes`.
    softmax_logit_bits : int
        Signed width W of the base-2 logits (8..16, at most ppu_bits). With F = 2 the
        default 12 covers +-512 units: pretrained vision transformers reach about 410,
        far beyond int8's 31.75 (see the README's measurement).
    softmax_frac_bits : int
        Fractional bits F of the logits (0..4; 2 means quarter units).
    softmax_exp_bits : int
        Fractional bits of the 2^x terms and of the running denominator (8..16).
    softmax_max_row : int
        Longest row, in elements (16..4096, rounded up to whole beats of P); it sets the
        denominator's integer bits and the logit buffer's size.
    softmax_recip_bits : int
        Width of the per-row reciprocal floor(2^k / d) (out_bits + 2 .. 24).
    softmax_out_bits : int
        Width of the probabilities, unsigned fraction Q0.(bits-1) (4..8), so that they
        feed the MAC array as signed operands; 1.0 saturates to the largest code.
    ppu_bits : int
        Signed width of the post-processing unit's scaled outputs y (12..24), which
        saturate there; their unit is set per tensor by calibration.
    ppu_mult_bits : int
        Width of the unsigned fixed-point multipliers that stand for float scales (8..24).
    ppu_recip_bits : int
        R of the requantizer's per-vector reciprocal floor(2^R / s_q) (8..20).
    left_buffer_vectors, right_buffer_vectors : int
        Entries of the two operand buffers (64..2^20), one V-element vector and its scale
        each: the left one feeds the array's A stream, the right one its B stream.
    output_buffer_vectors : int
        Entries of the output buffer (64..2^20), V PPU outputs y each, for the host.
    param_entries : int
        Entries of the PPU parameter table (64..2^20): multiplier, shift and bias of one
        output column (or row).
    accumulator_entries : int
        Accumulators kept between matmuls (64..2^20), for reductions that stream through
        in parts (attention over rows longer than softmax_max_row).

    Raises
    ------
    ConfigError
        Naming the parameter, its value and what is allowed.
    """

    lanes: int = 16
    vector_size: int = 16
    data_bits: int = 4
    vector_scales: bool = True
    scale_bits: int = 8
    scale_product_bits: int = 8
    acc_bits: int = 24
    lane_stages: int = 4
    softmax_width: int | None = None
    softmax_logit_bits: int = 12
    softmax_frac_bits: int = 2
    softmax_exp_bits: int = 14
    softmax_max_row: int = 1024
    softmax_recip_bits: int = 16
    softmax_out_bits: int = 8
    ppu_bits: int = 16
    ppu_mult_bits: int = 16
    ppu_recip_bits: int = 16
    left_buffer_vectors: int = 16384
    right_buffer_vectors: int = 16384
    output_buffer_vectors: int = 4096
    param_entries: int = 4096
    accumulator_entries: int = 4096

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            # bool is a subclass of int, so check it explicitly in both directions.
            if field.type is bool and not isinstance(value, bool):
                raise ConfigError(f"{field.name}={_spelled(value)} must be true or false")
            if field.type == int | None and value is None:
                continue
            if field.type in (int, int | None) and (isinstance(value, bool)
                                                    or not isinstance(value, int)):
                raise ConfigError(f"{field.name}={_spelled(value)} must be an integer")
        self._check_range("lanes", 1, 64)
        if self.vector_size not in _VECTOR_SIZES:
            raise ConfigError(f"vector_size={self.vector_size} is not allowed: "
                              f"it must be a power of two, {_alternatives(_VECTOR_SIZES)}")
        if self.data_bits not in _DATA_BITS:
            raise ConfigError(f"data_bits={self.data_bits} is not allowed: "
                              f"it must be {_alternatives(_DATA_BITS)}")
        self._check_range("scale_bits", 2, 8)
        self._check_range("scale_product_bits", 1, 2 * self.scale_bits,
                          "(at most 2 * scale_bits)")
        self._check_range("acc_bits", 16, 40)
        self._check_range("lane_stages", 2, 4)
        if self.acc_bits < self.product_bits:
            raise ConfigError(
                f"acc_bits={self.acc_bits} is too narrow to hold one scaled vector product, "
                f"which needs {self.product_bits} bits with vector_size={self.vector_size}, "
                f"data_bits={self.data_bits}" + (
                    f", scale_bits={self.scale_bits}, "
                    f"scale_product_bits={self.scale_product_bits}"
                    if self.vector_scales else ""))
        self._check_softmax()
        self._check_range("ppu_bits", 12, 24)
        # The PPU's multiplier maps an accumulator unit to y's: a scale up to 2^(ppu_bits
        # - 1) (a tensor whose largest accumulator is 1 at the top of y's range), which a
        # narrower multiplier cannot hold, and the compiler could not scale the tensor.
        self._check_range("ppu_mult_bits", max(8, self.ppu_bits), 24,
                          "(at least 8 and ppu_bits)")
        self._check_range("ppu_recip_bits", 8, 20)
        self._check_range("softmax_logit_bits", 8, min(16, self.ppu_bits),
                          "(at most ppu_bits)")
        for name in BUFFER_SIZE_KEYS:
            self._check_range(name, 64, 1 << 20)

    def _check_softmax(self):
        if self.softmax_width is not None:
            self._check_range("softmax_width", 1, 64)
        self._check_range("softmax_frac_bits", 0, 4)
        self._check_range("softmax_exp_bits", 8, 16)
        self._check_range("softmax_out_bits", 4, 8)
        self._check_range("softmax_recip_bits", self.softmax_out_bits + 2, 24,
                          "(at least softmax_out_bits + 2)")
        self._check_range("softmax_max_row", 16, 4096)

    def _check_range(self, name, low, high, why=""):
        value = getattr(self, name)
        if not low <= value <= high:
            raise ConfigError(f"{name}={value} is out of range: it must be in {low}..{high}"
                              + (f" {why}" if why else ""))

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

    @property
    def product_bits(self):
        """Signed width of one scaled vector product d * p."""
        low, high = self.dot_range
        return signed_bits_for(low * self.scale_product_max, high * self.scale_product_max)

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
        """Unsigned width of the denominator: a longest row of terms of at most 1.0."""
        return self.softmax_exp_bits + (self.softmax_max_beats * self.softmax_lanes).bit_length()

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
            raise ConfigError(f"{path}: not UTF-8 text (byte {error.start} is {raw[error.start]:#04x}); "
                              "a configuration is a UTF-8 JSON file") from None
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
