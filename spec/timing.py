"""Every cycle count of the accelerator, in one place: the pipelines' depths, the
controller's decode, the host port's beat and the command memory.

The performance model (`perf`) and the testbenches (`sim`) take their cycles from here;
each RTL block sizes its queues from the pipeline it builds and asserts at elaboration
that its depth is the one given here, so a block that grows a stage and this module
cannot disagree unnoticed.
"""

from vsq_accel.spec.tables import GELU_PHI_BITS

__all__ = ["HOST_DATA_BITS", "COMMAND_ENTRIES", "COMMAND_CHECK_STAGES", "DECODE_CYCLES",
           "HOST_COMMAND_CYCLES", "STORE_READ_CYCLES", "LIMB_BITS", "product_stages",
           "accumulate_stages", "array_latency", "ppu_scale_stages", "gelu_stages", "ppu_latency",
           "ppu_waiting_columns", "requant_scale_stages", "requant_element_stages", "requant_banks",
           "ROW_MAX_LEVELS_PER_STAGE", "row_requantizer_stages", "softmax_tree_levels",
           "softmax_max_stages", "softmax_sum_stages", "softmax_row_sum_latency",
           "NORMALIZE_STAGES", "ROW_QUEUE_HEAD", "softmax_latency", "StageCountError",
           "check_stages"]

# -- Host port and controller -----------------------------------------------------------

# Bits of a beat of the host's data streams (AXI4-Stream TDATA).
HOST_DATA_BITS = 64
# Commands the command memory holds (a DeiT-Small MHSA layer compiles to about 500).
COMMAND_ENTRIES = 1024
# The controller's check of a command word, a register each: its products, the ends of
# its regions, each rule's condition, the error (`hw.engine.controller.command_error`).
COMMAND_CHECK_STAGES = 4
# Fetch, latch the word, check and decide: a dispatch is at least this many cycles after
# the previous one, and the first is this many cycles less one after the start.
DECODE_CYCLES = 3 + COMMAND_CHECK_STAGES
# A LOAD or STORE with no stall on the host's stream: one cycle per beat, plus these.
HOST_COMMAND_CYCLES = 3
# A STORE's more: its first entry's read, before the first beat.
STORE_READ_CYCLES = 1

# -- Wide products ----------------------------------------------------------------------

# An unsigned 17-bit limb is an 18-bit signed operand: one ECP5 DSP block per limb product.
LIMB_BITS = 17


def product_stages(a_bits, b_bits, adds_per_stage=1):
    """Stages of an a_bits x b_bits product cut into limbs (`hw.lib.limb_products`): the
    limb products' register, then an adder tree of `adds_per_stage` levels a stage."""
    terms = -(-a_bits // LIMB_BITS) * -(-b_bits // LIMB_BITS)
    levels = (terms - 1).bit_length()
    return 1 + -(-levels // adds_per_stage)


# -- MAC array --------------------------------------------------------------------------

def accumulate_stages(config):
    """Register stages from a lane's product to an output column: the add is registered
    apart from saturation and the write when an entry comes back no sooner than two
    cycles later, that is with two lanes or more."""
    return 2 if config.lanes >= 2 else 1


def array_latency(config):
    """Register stages from the MAC array's B input to its output column: the B register,
    the lanes' stages and the accumulate stages."""
    return 1 + config.lane_stages + accumulate_stages(config)


# -- Post-processing unit ---------------------------------------------------------------

def ppu_scale_stages(config):
    """The PPU's scaling stages before its output queue: acc x r and that times the
    multiplier (limb products), then the shift, the rounding, the bias and the
    saturation; then the GELU's, on a PPU that has one."""
    scaled_bits = config.acc_bits + config.softmax_recip_bits
    return (product_stages(config.acc_bits, config.softmax_recip_bits)
            + product_stages(scaled_bits, config.ppu_mult_bits) + 4 + gelu_stages(config))


def gelu_stages(config):
    """The GELU's stages (`hw.ppu.gelu`): the shift, the rounding, the clamp, the table,
    the interpolation's multiply and add, y x Phi (limb products) and its rounding; none
    without a GELU."""
    if not config.ppu_gelu:
        return 0
    return 6 + product_stages(config.ppu_bits, GELU_PHI_BITS + 1) + 1


def ppu_latency(config):
    """Cycles from a column's transfer into the PPU to its output's transfer, the output
    ready and nothing ahead of it: the stages and the queue's write; a shared PPU
    (ppu_share S > 1) adds its input queue's write, the column's S - 1 later parts and
    the part's register."""
    shared = config.ppu_parts + 1 if config.ppu_parts > 1 else 0
    return ppu_scale_stages(config) + 1 + shared


def ppu_waiting_columns(config):
    """Columns a shared PPU's input queue holds: a tile's L columns arrive on L cycles in
    a row while the PPU takes one every S cycles, so L - L / S wait at most, and one
    more while the first part of the next is being taken; none on an unshared PPU."""
    if config.ppu_parts == 1:
        return 0
    return config.lanes - config.lanes // config.ppu_parts + 1


def requant_scale_stages(config, value_bits):
    """A vector's max |y| (of values of `value_bits`) to its scale and reciprocal: max |y|
    times the scale multiplier, the shift, the ceiling and the reciprocal's table."""
    return product_stages(value_bits, config.ppu_mult_bits) + 3


def requant_element_stages(config, value_bits):
    """y (of `value_bits`) to its operand element: times the element multiplier, times
    the vector's reciprocal (with vector scales), then the shift, the rounding and the
    clip."""
    scaled_bits = value_bits + config.ppu_mult_bits
    reciprocal = (product_stages(scaled_bits, config.ppu_recip_bits + 1)
                  if config.vector_scales else 0)
    return product_stages(value_bits, config.ppu_mult_bits) + reciprocal + 3


def requant_banks(config):
    """Banks of the requantizer's gather memory, V rows each, so that it takes a column
    every cycle: a closed bank stays busy through its scale stages, the start of its
    readout, its V rows, the read's two registers and the element stages, while the
    gather fills the other banks V columns each; a power of two, so that bank numbers
    wrap."""
    value_bits = config.ppu_input_bits
    busy_beyond_readout = (requant_scale_stages(config, value_bits)
                           + requant_element_stages(config, value_bits) + 3)
    needed = 2 + -(-busy_beyond_readout // config.vector_size)
    return 1 << (needed - 1).bit_length()


# Levels of the row requantizer's max tree between two registers (two missed 100 MHz
# on ECP5).
ROW_MAX_LEVELS_PER_STAGE = 1


def row_requantizer_stages(config):
    """The row requantizer's stages from a group to its output queue: the group's
    register, the vectors' max tree, the scale stages and the element stages, on the
    softmax unit's values."""
    size_bits = (config.vector_size - 1).bit_length()
    max_stages = -(-size_bits // ROW_MAX_LEVELS_PER_STAGE)
    value_bits = config.softmax_value_bits
    return (1 + max_stages + requant_scale_stages(config, value_bits)
            + requant_element_stages(config, value_bits))


# -- Softmax unit -----------------------------------------------------------------------

def softmax_tree_levels(config):
    """Levels of a balanced tree over the P values of a beat."""
    return (config.softmax_lanes - 1).bit_length()


def softmax_max_stages(config):
    """Loop 1's stages for a beat's max: one comparator level each (ECP5 fits one 8-bit
    compare-and-select per 10 ns cycle, not two)."""
    return softmax_tree_levels(config)


def softmax_sum_stages(config):
    """Loop 1's stages for the sum of a beat's terms: two adder levels each."""
    return -(-softmax_tree_levels(config) // 2)


def softmax_row_sum_latency(config):
    """Cycles from a beat's transfer into loop 1 to its effect on the running sum: the
    max, the running max, the distances, the terms (two stages) and their sum."""
    return softmax_max_stages(config) + 4 + softmax_sum_stages(config)


# Loop 2's stages before its output queue: distances, table entries, terms, the terms
# times each half of r, their sum, the shift and saturation.
NORMALIZE_STAGES = 6
# Entries of the flip-flop queue behind the row and logit queues' block RAM.
ROW_QUEUE_HEAD = 3


def softmax_latency(config):
    """Cycles from a row's last beat in to its first probabilities out, less one: loop 1
    and its output register, the divider (one stage per reciprocal bit), the row
    queue's flip-flop head, loop 2's stages and its output queue's write."""
    return (softmax_row_sum_latency(config) + 1 + config.softmax_recip_bits
            + ROW_QUEUE_HEAD + NORMALIZE_STAGES + 1)


# -- The RTL's check --------------------------------------------------------------------

class StageCountError(AssertionError):
    """An RTL block built a pipeline of another depth than this module gives it."""


def check_stages(block, built, expected):
    """Raise StageCountError unless `built` (the stages a block made) equals `expected`
    (this module's count), naming the block."""
    if built != expected:
        raise StageCountError(f"{block} built {built} pipeline stages where spec.timing "
                              f"counts {expected}: the performance model and the queues "
                              "sized from it would be wrong")
