"""Stream payload layouts of the MAC array, derived from the configuration."""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = ["vsq_vector_layout", "b_vector_layout", "output_column_layout"]


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
