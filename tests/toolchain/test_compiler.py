"""Compile, then interpret: the command lists of SA, MHSA and FFN against the directly
written integer programs, every traced tensor bit for bit, on three configurations with
token counts that the lane count does not divide."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vsq_accel.golden.tile_program import TILES, Trace, calibrate
from vsq_accel.golden.tile_weights import (random_attention_head, random_feed_forward,
                                           random_multi_head)
from vsq_accel.spec.commands import Buffer, Load, Matmul, Softmax, Store
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.toolchain.compiler import COMPILERS, CompileError
from vsq_accel.toolchain.interpreter import TraceRecorder, read_operand, run_program

SEED = 41
CONFIGS = {
    "int4_vsq": AcceleratorConfig(),
    "int8": AcceleratorConfig(data_bits=8, vector_scales=False, vector_size=32),
    "odd": AcceleratorConfig(lanes=5, vector_size=8, scale_bits=6, scale_product_bits=10,
                             acc_bits=22, softmax_width=3, softmax_frac_bits=3,
                             softmax_exp_bits=12, softmax_max_row=100, softmax_recip_bits=14),
}
# Traced by the reference but not by a command: X and the concatenation are operands
# in a buffer region (read from there), per-head copies of X are one region.
FROM_REGIONS = ("x", "concat_op", "hidden_op")
TRANSPOSED = (".v.acc", ".v")        # V^T is produced: its accumulators and y transposed


def _weights(tile, rng, d_model, heads, width):
    if tile == "sa":
        return random_attention_head(rng, d_model, width)
    if tile == "mhsa":
        return random_multi_head(rng, d_model, heads, width)
    return random_feed_forward(rng, d_model, 3 * d_model)


def compare_with_reference(tile, x, weights, config, calibration=None, **options):
    """Run both (with `options`); assert the output and every reference tensor equal."""
    _, friendly, calibrated = calibrate(tile, x, weights, config)
    calibration = calibration or calibrated
    reference = Trace()
    y_ref, unit_ref = TILES[tile][1](x, weights, config, calibration, reference, **options)
    program = COMPILERS[tile](x, weights, config, calibration, **options)
    recorder = TraceRecorder()
    y, machine = run_program(program, config, recorder)
    assert program.unit == unit_ref
    assert np.array_equal(y, y_ref), f"{tile}: the output differs"
    compared = 0
    for name, want, _, _ in reference.entries:
        base = name.split(".", 1)[1] if name.startswith("head") else name
        stem = base.rsplit(".", 1)[0]
        if stem in FROM_REGIONS and name not in recorder.tensors:
            values, scales = read_operand(machine, program.regions[stem])
            got = values if base.endswith(".values") else scales
        else:
            assert name in recorder.tensors, f"{tile}: {name} was not computed by any command"
            got = recorder.tensors[name]
            if ("." + base).endswith(TRANSPOSED):
                got = got.T
        assert np.array_equal(got, want), f"{tile}: {name} differs"
        compared += 1
    assert compared == len(reference.entries)
    return program, friendly, y * program.unit


@pytest.mark.parametrize("config_name", CONFIGS)
@pytest.mark.parametrize("tile", ["sa", "mhsa", "ffn"])
def test_compiled_tile_equals_the_reference_program(tile, config_name):
    config = CONFIGS[config_name]
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    tokens = 37 if config.lanes != 5 else 43            # not a multiple of L
    x = rng.normal(size=(tokens, 64))
    program, _, _ = compare_with_reference(tile, x, _weights(tile, rng, 64, 2, 32), config)
    assert sum(command.wait for command in program.commands) < len(program.commands)


def test_heads_whose_width_is_not_whole_vectors_are_padded():
    """MobileViT-like heads of 24 channels on 16-element vectors: the concatenation puts
    each head on a vector boundary, Wo's rows padded to match."""
    config = AcceleratorConfig(lanes=4)
    rng = np.random.default_rng(SEED + 1)
    x = rng.normal(size=(21, 96))
    weights = random_multi_head(rng, 96, 4, 24)
    program, friendly, output = compare_with_reference("mhsa", x, weights, config)
    assert program.regions["concat_op"].vectors == 4 * 2
    assert np.linalg.norm(output - friendly) / np.linalg.norm(friendly) < 0.35


@pytest.mark.parametrize("tile, left", [("mhsa", 1024), ("ffn", 512)])
def test_layers_larger_than_the_buffers_stream_in_blocks(tile, left):
    """Weights through RIGHT in blocks of output columns (two regions in turn), the
    output through OUTPUT in blocks of rows, the FFN's hidden layer through LEFT in
    blocks of rows: the same tensors as the reference, every traced one assembled from
    its blocks."""
    config = AcceleratorConfig(lanes=4, vector_size=8, left_buffer_vectors=left,
                               right_buffer_vectors=512, output_buffer_vectors=64)
    rng = np.random.default_rng(SEED + 2)
    x = rng.normal(size=(45, 32))
    program, _, _ = compare_with_reference(tile, x, _weights(tile, rng, 32, 2, 16), config)
    assert len(program.output_stores) > 1
    assert sum(isinstance(c, Load) and c.buffer == Buffer.RIGHT for c in program.commands) > 4
    if tile == "ffn":                   # the hidden layer in blocks of rows too
        assert program.regions["hidden_op"].rows < len(x)


def test_a_tile_too_large_for_a_buffer_names_the_tensor():
    """X streams through LEFT in blocks of rows beside the FFN's hidden layer, but not
    even one tile of rows of both fits 64 entries; an attention head needs X whole."""
    config = AcceleratorConfig(lanes=4, left_buffer_vectors=64)
    rng = np.random.default_rng(SEED + 2)
    x = rng.normal(size=(40, 64))
    weights = random_feed_forward(rng, 64, 512)
    _, _, calibration = calibrate("ffn", x, weights, config)
    with pytest.raises(CompileError, match=r"x and hidden_op: no 4 rows of 36 entries fit "
                                           r"LEFT: 64 entries are free"):
        COMPILERS["ffn"](x, weights, config, calibration)
    head = _weights("sa", rng, 64, 1, 16)
    with pytest.raises(CompileError, match=r"x \(40 x 4 = 160 entries\) does not fit LEFT: "
                                           r"0 of its 64 entries are in use"):
        COMPILERS["sa"](x, head, config, calibrate("sa", x, head, config)[2])


@pytest.mark.parametrize("config", [
    AcceleratorConfig(lanes=4, softmax_max_row=32),
    AcceleratorConfig(lanes=5, vector_size=8, softmax_width=3, softmax_max_row=50,
                      data_bits=8, vector_scales=False)])
def test_rows_longer_than_the_softmax_stream_through_in_one_pass(config):
    """More keys than softmax_max_row: per block of keys S once, the softmax continuing
    each row's max and sum in STATE, P V continuing its partial sums in ACC, rescaled by
    the max's rise; the bits of the streamed reference."""
    from vsq_accel.golden.attention_stream import attention_head_streamed
    from vsq_accel.spec.commands import Matmul, Output

    rng = np.random.default_rng(SEED + 3)
    print(f"seed {SEED + 3}")
    x = rng.normal(size=(83, 32))
    head = random_attention_head(rng, 32, 16)
    _, _, calibration = calibrate("sa", x, head, config)
    key_block = config.softmax_max_row // np.lcm(config.softmax_lanes, config.vector_size) * (
        np.lcm(config.softmax_lanes, config.vector_size))
    want, unit = attention_head_streamed(x, head, config, calibration, 16, int(key_block))
    program = COMPILERS["sa"](x, head, config, calibration)
    y, _ = run_program(program, config)
    assert program.unit == unit and np.array_equal(y, want)
    continued = [c for c in program.commands if isinstance(c, Matmul) and c.accumulate]
    assert continued and all(c.rescale for c in continued)
    assert any(c.output == Output.ACC for c in program.commands if isinstance(c, Matmul))
    scores = [c for c in program.commands if isinstance(c, Matmul)
              and c.output == Output.LOGITS]
    assert len(scores) == -(-83 // config.lanes) * -(-83 // int(key_block))   # S once


@pytest.mark.parametrize("tile", ["sa", "mhsa"])
def test_long_rows_equal_the_reference_program(tile):
    """Rows of four blocks of keys and one key more: the compiled program has the bits
    of the golden tile program, and computes every tensor it records."""
    config = AcceleratorConfig(lanes=4, softmax_max_row=32)
    rng = np.random.default_rng(SEED + 4)
    print(f"seed {SEED + 4}")
    x = rng.normal(size=(4 * 32 + 1, 32))
    compare_with_reference(tile, x, _weights(tile, rng, 32, 2, 16), config)


HOST_STEP_CONFIGS = {**{name: CONFIGS[name] for name in ("int4_vsq", "odd")},
                     "small_output": AcceleratorConfig(lanes=4, output_buffer_vectors=64)}


@pytest.mark.parametrize("config_name", HOST_STEP_CONFIGS)
def test_a_host_step_between_w1_and_w2(config_name):
    """A model that keeps GELU: X W1 + b1 is stored to the host (in blocks of rows when
    OUTPUT holds fewer), which applies GELU and quantizes the result, and loaded back for
    W2; the reference does the same directly."""
    from vsq_accel.golden.tile_float import feed_forward, gelu
    from vsq_accel.golden.tile_program import Calibration

    config = HOST_STEP_CONFIGS[config_name]
    rng = np.random.default_rng(SEED + 5)
    x = rng.normal(size=(29, 64))
    ffn = random_feed_forward(rng, 64, 96)
    exact, tensors = feed_forward(x, ffn, friendly=False)
    program, _, output = compare_with_reference("ffn", x, ffn, config,
                                                Calibration(tensors, config), activation=gelu)
    kinds = [type(command).__name__ for command in program.commands]
    hidden_load = next(index for index, command in enumerate(program.commands)
                       if isinstance(command, Load) and command.buffer == Buffer.LEFT
                       and index > kinds.index("Store"))
    stores_before = kinds[:hidden_load].count("Store")
    # X W1 + b1 (29 rows of 6 vectors) and y (4 vectors a row) fit OUTPUT's 4096
    # entries whole; 64 entries take them in blocks of 8 and 16 rows (whole tiles of L=4).
    small = config_name == "small_output"
    assert (stores_before, len(program.output_stores)) == ((4, 2) if small else (1, 1))
    assert np.linalg.norm(output - exact) / np.linalg.norm(exact) < 0.35


@pytest.mark.parametrize("tokens", [1, 13, 39])
def test_a_short_feed_forward_streams_both_weights_on_the_default_buffers(tokens):
    """MiniLM's and DeiT-Small's FFN (384 -> 1536 -> 384) for a few tokens: W1 and W2
    both stream through RIGHT in blocks, and a block of W2 placed clear of W1's last
    reads split RIGHT so that half of it no longer held two (every count up to 39 tokens
    failed to compile); blocks are sized so that two fit as they will be placed."""
    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED + tokens)
    print(f"seed {SEED + tokens}")
    x = rng.normal(size=(tokens, 384))
    compare_with_reference("ffn", x, random_feed_forward(rng, 384, 1536), config)


@pytest.mark.parametrize("config_name", ["int4_vsq", "odd"])
def test_an_on_chip_gelu_runs_like_the_relu(config_name):
    """activation="gelu" on a PPU with a GELU: the same commands as the ReLU FFN, W1's
    matmuls with gelu set and y's unit a power of two, no host step; the output and
    every traced tensor equal the reference's, and the result is the float GELU FFN's
    to within the quantization's error."""
    from vsq_accel.golden.tile_float import feed_forward
    from vsq_accel.golden.tile_program import Calibration

    config = dataclasses.replace(CONFIGS[config_name], ppu_gelu=True)
    rng = np.random.default_rng(SEED + 7)
    print(f"seed {SEED + 7}")
    x = rng.normal(size=(29, 64))
    ffn = random_feed_forward(rng, 64, 96)
    exact, tensors = feed_forward(x, ffn, friendly=False)
    calibration = Calibration(tensors, config)
    program, _, output = compare_with_reference("ffn", x, ffn, config, calibration,
                                                activation="gelu")
    relu = COMPILERS["ffn"](x, ffn, config, calibration)
    assert [type(c) for c in program.commands] == [type(c) for c in relu.commands]
    gelus = [c for c in program.commands if isinstance(c, Matmul) and c.gelu]
    assert gelus and all(not c.relu and c.trace["op"] == "ffn 1" for c in gelus)
    assert calibration.unit("hidden") <= 2.0 ** -gelus[0].gelu_shift < 2 * calibration.unit(
        "hidden")
    assert np.linalg.norm(output - exact) / np.linalg.norm(exact) < 0.35


def test_an_on_chip_gelu_needs_a_ppu_with_one():
    """activation="gelu" on a configuration without a GELU is refused at compile time
    with the key to set; an unknown activation names the choices."""
    config = AcceleratorConfig(lanes=4)
    rng = np.random.default_rng(SEED + 8)
    x = rng.normal(size=(8, 32))
    ffn = random_feed_forward(rng, 32, 64)
    _, _, calibration = calibrate("ffn", x, ffn, config)
    with pytest.raises(CompileError, match="no GELU \\(set ppu_gelu\\)"):
        COMPILERS["ffn"](x, ffn, config, calibration, activation="gelu")
    with pytest.raises(ValueError, match="activation='tanh': None \\(ReLU\\), \"gelu\""):
        COMPILERS["ffn"](x, ffn, config, calibration, activation="tanh")


@pytest.mark.parametrize("tokens", [197, 257, 512, 4096])
def test_a_gelu_feed_forward_of_any_length_fits_the_default_buffers(tokens):
    """DeiT-Small's FFN (384 -> 1536 -> 384) with GELU on the host, on the default
    buffers: the hidden layer (tokens x 96 entries) does not fit LEFT beside X, so the
    host step runs in blocks of whole tiles of rows both ways, the next block's X W1
    before this block's LOAD; from 512 tokens X (24 entries a row) takes more than half
    of LEFT and streams in the same blocks. The output and every traced tensor (X and
    the hidden layer assembled from their LOADs) equal the reference's."""
    from vsq_accel.golden.tile_float import feed_forward, gelu
    from vsq_accel.golden.tile_program import Calibration

    config = AcceleratorConfig()
    rng = np.random.default_rng(SEED + tokens)
    print(f"seed {SEED + tokens}")
    x = rng.normal(size=(tokens, 384))
    ffn = random_feed_forward(rng, 384, 1536)
    _, tensors = feed_forward(x, ffn, friendly=False)
    program, _, _ = compare_with_reference("ffn", x, ffn, config, Calibration(tensors, config),
                                           activation=gelu)
    loads = [index for index, command in enumerate(program.commands)
             if isinstance(command, Load)
             and command.trace.get("names", {}).get("values") == "hidden_op.values"]
    block = program.commands[loads[0]].count // 96
    assert len(loads) == -(-tokens // block) > 1 and block % config.lanes == 0
    # the first two blocks' X W1 + b1 (96 entries a row) are stored before the first LOAD
    stored = sum(command.count for command in program.commands[:loads[0]]
                 if isinstance(command, Store))
    assert stored == 2 * block * 96


@pytest.mark.parametrize("activation, named", [
    (lambda v: v[:, :-1], r"returned shape \(29, 95\), not \(29, 96\)"),
    (lambda v: np.where(v > v.max() * 0.9, np.nan, v), r"returned nan at row \d+, column"),
    (lambda v: v * np.inf, r"returned (-)?inf at row"),
])
def test_a_host_step_that_returns_a_bad_result_is_named(activation, named):
    """The host's function returns the wrong shape or a value that is not a number: the
    run stops with an error naming the step and its rows."""
    from vsq_accel.golden.tile_float import feed_forward
    from vsq_accel.golden.tile_program import Calibration
    from vsq_accel.toolchain.compiler import HostStepError

    config = AcceleratorConfig(lanes=4)
    rng = np.random.default_rng(SEED + 6)
    x = rng.normal(size=(29, 64))
    ffn = random_feed_forward(rng, 64, 96)
    _, tensors = feed_forward(x, ffn, friendly=False)
    program = COMPILERS["ffn"](x, ffn, config, Calibration(tensors, config),
                               activation=activation)
    with pytest.raises(HostStepError, match=r"host step '<lambda>' on rows 0\.\.28 of X W1 "
                                            r"\+ b1 " + named):
        run_program(program, config)


@pytest.mark.parametrize("formats", [{"ffn1": "int8", "ffn2": "int4"},
                                     {"ffn1": "int4", "layer2.ffn2": "int8"}])
@pytest.mark.parametrize("activation", [None, np.tanh])
def test_a_feed_forward_in_the_formats_of_a_precision_policy(formats, activation):
    """X and W1 in the format of "ffn1", the hidden layer (requantized, or activated on
    the host) and W2 in that of "ffn2", on an array that runs all three formats: every
    tensor the reference program's in the same formats."""
    config = AcceleratorConfig(lanes=4, formats=["int4_vsq", "int4", "int8"])
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x = rng.normal(size=(2 * config.lanes + 1, 2 * config.vector_size))
    weights = random_feed_forward(rng, x.shape[1], 3 * x.shape[1])
    compare_with_reference("ffn", x, weights, config, formats=formats, layer=2,
                           activation=activation)
    program = COMPILERS["ffn"](x, weights, config, calibrate("ffn", x, weights, config)[2],
                               formats=formats, layer=2, activation=activation)
    policy = {"ffn1": config.format_code(formats.get("ffn1", "int4_vsq")),
              "ffn2": config.format_code(formats.get("ffn2", formats.get("layer2.ffn2")))}
    used = {(command.trace["op"], command.format) for command in program.commands
            if isinstance(command, Matmul)}
    assert used == {("ffn 1", policy["ffn1"]), ("ffn 2", policy["ffn2"])}


@pytest.mark.parametrize("tile", ["sa", "mhsa"])
@pytest.mark.parametrize("formats", [{"qkv": "int8", "scores": "int4", "wo": "int8"},
                                     {"layer1.scores": "int8", "wo": "int4", "pv": "int8"},
                                     {"pv": "int4"}])
def test_attention_in_the_formats_of_a_precision_policy(tile, formats):
    """The projections in the format of "qkv", Q K^T in that of "scores", the
    concatenation and Wo in that of "wo", the exponentials, V and P V in that of "pv":
    every tensor the reference program's in the same formats."""
    config = AcceleratorConfig(lanes=4, formats=["int4_vsq", "int4", "int8"])
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x = rng.normal(size=(2 * config.lanes + 1, 2 * config.vector_size))
    weights = _weights(tile, rng, x.shape[1], 2, config.vector_size)
    compare_with_reference(tile, x, weights, config, formats=formats, layer=1)
    program = COMPILERS[tile](x, weights, config, calibrate(tile, x, weights, config)[2],
                              formats=formats, layer=1)
    code = {op: config.format_code(formats.get(op, formats.get(f"layer1.{op}", "int4_vsq")))
            for op in ("qkv", "scores", "pv", "wo")}
    expected = {("projection", code["qkv"]), ("scores", code["scores"]), ("P V", code["pv"])}
    if tile == "mhsa":
        expected.add(("output projection", code["wo"]))
    assert {(command.trace["op"], command.format) for command in program.commands
            if isinstance(command, Matmul)} == expected
    assert {command.format for command in program.commands
            if isinstance(command, Softmax)} == {code["pv"]}


FPGA_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "fpga" / "ecp5_85k.json"


@pytest.mark.parametrize("tile", ["sa", "mhsa", "ffn"])
def test_the_fpga_configuration_runs_deit_small(tile):
    """configs/fpga/ecp5_85k.json, the accelerator sized for an ECP5-85k (`python -m
    vsq_accel.bench synth_accelerator`), has buffers that hold DeiT-Small's tiles: 197
    tokens, 384 wide, six heads of 64, an FFN 1536 wide; bit-exact with the reference."""
    config = AcceleratorConfig.load(FPGA_CONFIG)
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x = rng.normal(size=(197, 384))
    weights = (random_feed_forward(rng, 384, 1536) if tile == "ffn"
               else _weights(tile, rng, 384, 6, 64))
    compare_with_reference(tile, x, weights, config)
