"""A small lane through generic and ECP5 synthesis, so that an unsynthesizable construct
shows up in CI (the full study, with place and route, is `make synth`)."""

from golden.config import AcceleratorConfig
from hw.vector_mac import VectorMacLane
from rtl_gen.synth import synthesize


def test_small_lane_synthesizes():
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    figures = synthesize(lambda: VectorMacLane(config), "lane", place_and_route=False)
    # The lane's registers: d (dot_bits), p (scale_product_width) and d * p.
    registers = config.dot_bits + config.scale_product_width + config.product_bits
    assert figures["flip_flops"] == registers
    assert figures["cells"] > 0 and figures["transistors"] > 0 and figures["luts"] > 0
    assert figures["dsps"] == 0, "multipliers are mapped to logic before DSP inference"
