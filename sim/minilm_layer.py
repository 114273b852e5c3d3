"""cocotb test: one encoder layer of the pretrained all-MiniLM-L6-v2 on the accelerator
(`accuracy.tiled_layer`): attention, W1 and W2 on the engine, GELU, residuals and
LayerNorms on the host. Each program's output is compared with the golden run of the
same layer, bit for bit, and with LAYER_CHECK=1 every command's writes as it retires (a
monitor every cycle: several times slower). The figures go to LAYER_OUT as JSON; the
sentence comes from LAYER_SENTENCE, the layer from LAYER_INDEX, and a precision policy,
if any, from LAYER_FORMATS (`spec.precision.PrecisionPolicy.parse`)."""

import json
import os

import cocotb
import numpy as np

from vsq_accel.accuracy.arithmetic import FloatArithmetic
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.accuracy.tiled_layer import TiledLayer, cosine, run_golden
from vsq_accel.sim.accelerator_harness import AcceleratorHarness
from vsq_accel.sim.testbench import config_from_env
from vsq_accel.spec.precision import PrecisionPolicy

DEFAULT_SENTENCE = "A small accelerator."


@cocotb.test()
async def minilm_layer(dut):
    config = config_from_env()
    sentence = os.environ.get("LAYER_SENTENCE", DEFAULT_SENTENCE)
    index = int(os.environ.get("LAYER_INDEX", "0"))
    model = MiniLM()
    ids = model.tokens(sentence)
    x = model.layer_input(ids, index, FloatArithmetic())
    formats = os.environ.get("LAYER_FORMATS")
    layer = TiledLayer(model, index, config, formats and PrecisionPolicy.parse(formats))
    dut._log.info(f"layer {index}, {len(ids)} tokens: {sentence!r}; formats: {formats}")

    harness = AcceleratorHarness(dut, config, seed=0)
    await harness.reset(check=os.environ.get("LAYER_CHECK") == "1")
    _, golden_ys = run_golden(layer, x)
    steps, figures = layer.run(x), {"tokens": len(ids), "layer": index, "programs": []}
    program = next(steps)
    for name, golden_y in zip(("attention", "ffn"), golden_ys):
        y, cycles = await harness.run(program, poll=1024)
        assert np.array_equal(y, golden_y), f"{name}: the RTL's output differs from the golden's"
        figures["programs"].append({"name": name, "commands": len(program.commands),
                                    "cycles": cycles, "wall_seconds": harness.wall_seconds})
        dut._log.info(f"{name}: {len(program.commands)} commands, {cycles} cycles, "
                      f"bit-exact with the golden model")
        try:
            program = steps.send(y)
        except StopIteration as done:
            output = done.value
    float_output = model.layer(x, index, FloatArithmetic())
    figures["cosine_to_float"] = cosine(output, float_output)
    if "LAYER_OUT" in os.environ:
        with open(os.environ["LAYER_OUT"], "w") as out:
            json.dump(figures, out)
