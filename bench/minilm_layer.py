"""python -m vsq_accel.bench.minilm_layer "a sentence" [--layer N] [--formats POLICY]
[--ppu-gelu]: one encoder layer of the pretrained all-MiniLM-L6-v2 through the
accelerator's RTL in Verilator (the default configuration; with a precision policy, its
multi-format version; with --ppu-gelu, with the PPU's GELU), for that sentence:
attention, W1 and W2 on the engine, GELU (unless in the PPU), residuals and LayerNorms
on the host. Prints that the RTL's outputs equal the golden model's bit for
bit, their cosine to the float layer and the cycles each program took."""

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import PrecisionPolicy

LAYERS = 6
# The default configuration with every format by command, for a precision policy.
MULTI_FORMAT = AcceleratorConfig(formats=["int4_vsq", "int4", "int8"])


def run(sentence, layer, config=AcceleratorConfig(), quick_build=False, formats=None):
    """The testbench's figures (`sim.minilm_layer`), or None when it failed; `formats`:
    a `PrecisionPolicy` (None: the entries' own format)."""
    from vsq_accel.sim.runner import run_cocotb

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "layer.json"
        policy = {} if formats is None else {"LAYER_FORMATS": formats.named()}
        _, failures = run_cocotb(config, "verilator", "accelerator", "vsq_accel.sim.minilm_layer",
                                 testcase="minilm_layer", quick_build=quick_build,
                                 extra_env={"LAYER_SENTENCE": sentence, **policy,
                                            "LAYER_INDEX": str(layer), "LAYER_OUT": str(out)})
        return None if failures or not out.exists() else json.loads(out.read_text())


def fits(sentence, layer, config, formats=None):
    """Raise a ValueError naming the reason when the layer for this sentence does not
    compile for the configuration (its golden run compiles both programs)."""
    from vsq_accel.accuracy.arithmetic import FloatArithmetic
    from vsq_accel.accuracy.minilm import MiniLM
    from vsq_accel.accuracy.tiled_layer import TiledLayer, run_golden

    model = MiniLM()
    x = model.layer_input(model.tokens(sentence), layer, FloatArithmetic())
    run_golden(TiledLayer(model, layer, config, formats), x)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.bench.minilm_layer",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("sentence", help="the text to encode: up to 298 tokens on the "
                        "default buffers (the attention holds X, K and V whole); a longer "
                        "one is refused before the run, naming the buffer")
    parser.add_argument("--layer", type=int, default=0, choices=range(LAYERS),
                        metavar="N", help=f"the encoder layer, 0 to {LAYERS - 1} (default 0); "
                        "the layers before it run in float")
    parser.add_argument("--formats", metavar="POLICY", help="a precision policy, e.g. "
                        "\"default=int4_vsq, layer0.pv=int8, ffn2=int8\" (the rows of "
                        "docs/accuracy.md's mixed-precision table): the layer runs on the "
                        "default configuration with formats int4_vsq, int4 and int8")
    parser.add_argument("--ppu-gelu", action="store_true", help="the FFN's GELU in the PPU "
                        "(the configuration with ppu_gelu) instead of on the host")
    args = parser.parse_args(argv)
    if not args.sentence.strip():
        parser.error("the sentence is empty")
    config, formats = AcceleratorConfig(), None
    try:
        if args.formats is not None:
            config, formats = MULTI_FORMAT, PrecisionPolicy.parse(args.formats)
        config = dataclasses.replace(config, ppu_gelu=args.ppu_gelu)
        fits(args.sentence, args.layer, config, formats)
    except ValueError as error:          # CompileError is one: a buffer it overflows
        parser.error(str(error))
    figures = run(args.sentence, args.layer, config, formats=formats)
    if figures is None:
        print("error: the RTL run failed; the cocotb log above says where", file=sys.stderr)
        return 1
    print(f"layer {figures['layer']}, {figures['tokens']} tokens"
          + ("" if formats is None else f", formats {formats.named()}")
          + (", GELU in the PPU" if config.ppu_gelu else ""))
    for program in figures["programs"]:
        print(f"  {program['name']:9}  {program['commands']:4} commands  "
              f"{program['cycles']:9,} cycles  ({program['wall_seconds']:.0f} s to simulate)")
    print("RTL output equals the golden model's, bit for bit: yes")    # else no figures
    print(f"cosine of the layer's output to float: {figures['cosine_to_float']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
