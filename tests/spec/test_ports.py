"""`spec.ports`: the testbenches' packing of every payload is Amaranth's, bit for bit, on
several configurations, and unpacking gives the values back."""

import random

import pytest
from amaranth.lib import data

from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.config import AcceleratorConfig

SEED = 1204
CONFIGS = {
    "default": AcceleratorConfig(),
    "int8_p5": AcceleratorConfig(lanes=3, vector_size=32, data_bits=8, vector_scales=False,
                                 softmax_width=5, softmax_out_bits=5),
    "narrow": AcceleratorConfig(lanes=1, vector_size=8, scale_bits=2, scale_product_bits=3,
                                acc_bits=16, softmax_exp_bits=8, softmax_recip_bits=10,
                                ppu_gelu=True),
}
PORTS = [ports.vsq_vector, ports.b_vector, ports.output_column, ports.softmax_beat,
         ports.softmax_buffered_beat, ports.softmax_probs, ports.softmax_row,
         ports.score_column, ports.ppu_column, ports.ppu_y, ports.requant_column,
         ports.requant_vectors, ports.row_beat, ports.row_vectors, ports.param_entry,
         ports.output_entry]


def random_value(description, rng):
    """A value of a description: extremes half of the time, else anything in range."""
    if isinstance(description, ports.Struct):
        return {name: random_value(field, rng) for name, field in description.fields.items()}
    if isinstance(description, ports.Array):
        return [random_value(description.element, rng) for _ in range(description.length)]
    width = description.width
    low, high = ((-(1 << (width - 1)), (1 << (width - 1)) - 1) if description.signed
                 else (0, (1 << width) - 1))
    return rng.choice((low, high)) if rng.random() < 0.5 else rng.randint(low, high)


@pytest.mark.parametrize("port", PORTS, ids=[port.__name__ for port in PORTS])
@pytest.mark.parametrize("name", CONFIGS)
def test_packing_is_amaranths(name, port):
    rng = random.Random(SEED)
    print(f"seed {SEED}")
    description = port(CONFIGS[name])
    shape = layout(description)
    assert data.Layout.cast(shape).size == description.width
    for _ in range(20):
        value = random_value(description, rng)
        word = description.pack(value)
        assert word == shape.const(value).as_bits()
        assert description.unpack(word) == value


def test_a_value_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"8 does not fit signed\(4\)"):
        ports.Signed(4).pack(8)
    with pytest.raises(ValueError, match="no field"):
        ports.host_beat().pack({"data": 1, "first": 1})


def test_unpacked_fields_read_as_attributes_whatever_their_names():
    """A field called `values` (softmax_probs) is the field, not a dict method."""
    probs = ports.softmax_probs(CONFIGS["default"])
    word = probs.pack({"values": list(range(16)), "last": 1})
    fields = probs.unpack(word)
    assert fields.values == list(range(16)) and fields["last"] == 1 and fields.error == 0
