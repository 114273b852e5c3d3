"""Stream payload layouts of the datapath components, derived from the configuration."""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = ["vsq_vector_layout", "b_vector_layout", "output_column_layout", "softmax_beat_layout",
           "softmax_buffered_beat_layout", "softmax_probs_layout", "softmax_row_max_shape",
           "softmax_row_layout"]


def vsq_vector_layout(config):
    """V signed elements, element 0 at the least significant bits, then the vector's scale
    (absent without vector scales)."""
    fields = {"data": data.ArrayLayout(signed(config.data_bits), config.vector_size)}
    if config.vector_scales:
        fields["scale"] = unsigned(config.scale_bits)
    return data.StructLayout(fields)


def b_vector_layout(config):
    """A B vector and `last`: it belongs to the final reduction slice of its tile."""
    return data.StructLayout({"vector": vsq_vector_layout(config), "last": 1})


def output_column_layout(config):
    """One finished column of an output tile: the accumulators of lanes 0..L-1."""
    return data.ArrayLayout(signed(config.acc_bits), config.lanes)


def softmax_beat_layout(config):
    """P logits of softmax_logit_bits, element 0 lowest; keep[i] = 0 masks logit i
    (padding); `last` ends the row; `exponentials` asks for the row's 2^(x - m) and r
    instead of its probabilities (the same on every beat of a row)."""
    lanes = config.softmax_lanes
    return data.StructLayout({
        "logits": data.ArrayLayout(signed(config.softmax_logit_bits), lanes),
        "keep": lanes,
        "last": 1,
        "exponentials": 1,
    })


def softmax_buffered_beat_layout(config):
    """A beat as the logit buffer keeps it: `piece_end` closes the part of the row one
    reciprocal serves (the row, or a max_row piece of an overlong row)."""
    return data.StructLayout({"beat": softmax_beat_layout(config), "piece_end": 1})


def softmax_probs_layout(config):
    """P values: probabilities Q0.(out_bits-1), or in exponential mode 2^(x - m) with
    softmax_exp_bits fraction bits; `keep` as in the input (a masked value is 0); the
    row's reciprocal r = floor(2^k / d) on every beat; `last` as in the input; `error`:
    the row was longer than softmax_max_row, and its values (and r) are 0."""
    width = max(config.softmax_out_bits, config.softmax_exp_bits + 1)
    return data.StructLayout({
        "values": data.ArrayLayout(unsigned(width), config.softmax_lanes),
        "keep": config.softmax_lanes,
        "reciprocal": unsigned(config.softmax_recip_bits),
        "last": 1,
        "error": 1,
    })


def softmax_row_max_shape(config):
    """The running max: an integer (whole units) in the logits' range."""
    return signed(config.softmax_logit_bits)


def softmax_row_layout(config):
    """What loop 2 needs of a row besides its logits: the row's integer max, and whether
    the row was too long."""
    return data.StructLayout({"row_max": softmax_row_max_shape(config), "error": 1})
