"""The one registry of designs: what `make verilog` emits, `make synth` synthesizes and
the cocotb suite runs, each under the names it has there."""

import dataclasses
import importlib

from vsq_accel.hw.array.mac_array import VsqMacArray
from vsq_accel.hw.array.vector_mac import VectorMacLane
from vsq_accel.hw.engine.accelerator import Accelerator
from vsq_accel.hw.ppu.requantizer import Requantizer
from vsq_accel.hw.ppu.row_requantizer import RowRequantizer
from vsq_accel.hw.ppu.scale import PpuScale
from vsq_accel.hw.softmax.corner_turn import CornerTurn
from vsq_accel.hw.softmax.unit import SoftmaxUnit

__all__ = ["Design", "DESIGNS", "EMITTED", "SYNTHESIZED", "cocotb_tests"]


@dataclasses.dataclass(frozen=True)
class Design:
    """A component built from the configuration.

    module : its Verilog module name (None: synthesized alone, not emitted).
    block : its name in synthesis (`python -m vsq_accel.rtl_gen.synth --block`).
    tests : the cocotb module that tests it (None: covered by a larger design's).
    suite : the pytest file that runs `tests` on configurations of its own (None: every
        configuration in configs/, by tests/rtl/test_designs.py).
    """

    build: type
    module: str | None
    block: str
    tests: str | None = None
    suite: str | None = None


DESIGNS = (
    Design(VectorMacLane, None, "lane"),
    Design(VsqMacArray, "vsq_mac_array", "array", "vsq_accel.sim.mac_array_tests"),
    Design(SoftmaxUnit, "softmax_unit", "softmax", "vsq_accel.sim.softmax_tests"),
    Design(PpuScale, "ppu_scale", "ppu_scale", "vsq_accel.sim.ppu_tests"),
    Design(Requantizer, "requantizer", "requantizer", "vsq_accel.sim.requantizer_tests"),
    Design(RowRequantizer, "row_requantizer", "row_requantizer",
           "vsq_accel.sim.row_requantizer_tests"),
    Design(CornerTurn, "corner_turn", "corner_turn", "vsq_accel.sim.corner_turn_tests"),
    Design(Accelerator, "accelerator", "accelerator", "vsq_accel.sim.accelerator_tests",
           "tests/rtl/test_accelerator.py"),
)
EMITTED = {design.module: design for design in DESIGNS if design.module}
SYNTHESIZED = {design.block: design for design in DESIGNS}


def cocotb_tests(module_name):
    """The names of the cocotb tests a module defines, in the order written: every
    `@cocotb.test()` is collected, so none can be left out by hand."""
    module = importlib.import_module(module_name)
    return [name for name, value in vars(module).items()
            if type(value).__module__ == "cocotb._decorators"]
