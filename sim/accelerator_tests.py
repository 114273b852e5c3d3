"""The accelerator end to end: a compiled tile's command list and data through the AXI
ports, every command's results compared with the golden interpreter as it retires, the
stored output with the golden tile program's, and commands the engine must refuse."""

import dataclasses
import os

import cocotb
import numpy as np

from vsq_accel.golden.entries import operand_entries
from vsq_accel.golden.ppu_params import exponential_requantization, logit_scaling
from vsq_accel.golden.tile_float import gelu
from vsq_accel.golden.tile_program import TILES, Trace, calibrate
from vsq_accel.golden.tile_weights import (random_attention_head, random_feed_forward,
                                           random_multi_head)
from vsq_accel.sim.accelerator_harness import AcceleratorHarness, status_fields
from vsq_accel.sim.testbench import config_from_env, seed_from_env
from vsq_accel.spec.commands import (Buffer, CommandError, End, Load, Matmul, Output, Softmax,
                                     Store, decode, encode)
from vsq_accel.spec.host_interface import EngineError, Register, command_window
from vsq_accel.spec.precision import format_config
from vsq_accel.spec.timing import COMMAND_ENTRIES
from vsq_accel.toolchain.compiler import COMPILERS, CompileError, Program
from vsq_accel.toolchain.interpreter import Host, interpret

BASE_SEED = 8100


async def _harness(dut, test_seed, stall=0.0):
    config = config_from_env()
    seed = seed_from_env(BASE_SEED) + test_seed
    dut._log.info(f"seed {seed}")
    harness = AcceleratorHarness(dut, config, seed, stall)
    await harness.reset()
    return harness, np.random.default_rng(seed)


def tile_shapes(config):
    """Tokens not a multiple of L (unless L = 1), two vectors of model width."""
    return config.lanes + 3, 2 * config.vector_size


def long_rows(config):
    """Tokens of four blocks of keys and one more key: every row continues its max and
    sum block after block (rescaling P V's partial sums), and its last block is a
    single key."""
    return 4 * config.softmax_max_row + 1


async def run_tile(dut, tile, test_seed, stall=0.0, tokens=None, list_entries=COMMAND_ENTRIES):
    harness, rng = await _harness(dut, test_seed, stall)
    await run_program(harness, rng, tile, tokens, list_entries)


async def run_program(harness, rng, tile, tokens=None, list_entries=COMMAND_ENTRIES,
                      **options):
    """A tile compiled for random data and weights and run (with the compiler's
    `options`); its output is the golden tile program's, and every command's results
    the golden interpreter's."""
    dut, config = harness.dut, harness.config
    short, d_model = tile_shapes(config)
    tokens = tokens or short
    x = rng.normal(size=(tokens, d_model))
    weights = {"sa": lambda: random_attention_head(rng, d_model, d_model // 2),
               "mhsa": lambda: random_multi_head(rng, d_model, 2, d_model // 2),
               "ffn": lambda: random_feed_forward(rng, d_model, 2 * d_model)}[tile]()
    _, _, calibration = calibrate(tile, x, weights, config)
    program = COMPILERS[tile](x, weights, config, calibration, **options)
    y, cycles = await harness.run(program, list_entries=list_entries)
    y_ref, _ = TILES[tile][1](x, weights, config, calibration, Trace(), **options)
    assert np.array_equal(y, y_ref), "the stored output differs from the golden tile's"
    dut._log.info(f"{tile}: {tokens} tokens, {len(program.commands)} commands, {cycles} "
                  f"cycles, {len(harness.overlapped())} started beside a running one; the write "
                  f"port held exponentials {harness.exps_held} cycles, LOAD entries "
                  f"{harness.loads_held}")


@cocotb.test()
async def info_names_the_command_memory(dut):
    """INFO (`spec.host_interface.Register`): the 32-bit words a command takes in the
    host's address space and the commands the memory holds, as a driver reads them
    before writing a list."""
    harness, _ = await _harness(dut, 9)
    info = await harness.read(Register.INFO)
    words = command_window(harness.config)[1] // 4
    assert info == words | COMMAND_ENTRIES << 16, (
        f"INFO reads {info:#x}: {info & 0xFF} words per command, {info >> 16} commands; "
        f"expected {words} and {COMMAND_ENTRIES}")


@cocotb.test()
async def y_rows_of_every_length_and_stores_of_every_buffer(dut):
    """A matmul's y rows of every length from 1 to V (the gather closes a vector at
    every position, and each drain is the model's), then a STORE of each buffer the
    host reads: OUTPUT holds the golden interpreter's y, and LEFT, RIGHT and PARAMS
    give back what was loaded, bit for bit."""
    harness, rng = await _harness(dut, 10)
    config = harness.config
    lanes, size = config.lanes, config.vector_size
    a, b = _operand_image(rng, config, lanes), _operand_image(rng, config, size)
    params = {"mult": rng.integers(1, 1 << config.ppu_mult_bits, size),
              "shift": rng.integers(8, 24, size), "bias": rng.integers(-100, 100, size)}
    product = {"left_stride": 1, "right_stride": 1, "m": lanes, "k": 1}
    commands = [Load(buffer=Buffer.LEFT, base=0, count=lanes),
                Load(buffer=Buffer.RIGHT, base=0, count=size),
                Load(buffer=Buffer.PARAMS, base=0, count=size)]
    commands += [Matmul(wait=int(n == 1), **product, n=n, output=Output.Y, dest=Buffer.OUTPUT,
                        dest_base=(n - 1) * lanes, dest_stride=1) for n in range(1, size + 1)]
    commands += [Store(wait=1, buffer=buffer, base=0, count=count) for buffer, count
                 in ((Buffer.LEFT, lanes), (Buffer.RIGHT, size), (Buffer.PARAMS, size),
                     (Buffer.OUTPUT, size * lanes))]
    program = Program(commands + [End()], [a, b, params], regions={}, output="y",
                      columns=size, unit=1.0)
    y, _ = await harness.run(program)
    assert np.array_equal(y, harness.expected.machine.memory[Buffer.OUTPUT]["y"][:size * lanes])
    for image, stored in zip((a, b, params), harness.stored):
        for name, values in stored.items():        # no scales without vector scales
            assert np.array_equal(values, image[name]), f"{name} came back changed"


@cocotb.test()
async def refuses_bad_commands(dut):
    """Every check of the controller (`hw.engine.controller`), each on a command that
    breaks it alone: the engine stops with the reason and the command's index, after
    the commands before it and with nothing of its own done; the golden interpreter
    refuses the same command."""
    harness, rng = await _harness(dut, 0)
    config = harness.config
    params = {"mult": rng.integers(0, 1 << config.ppu_mult_bits, 2),
              "shift": rng.integers(0, 63, 2), "bias": rng.integers(-100, 100, 2)}
    good = Load(buffer=Buffer.PARAMS, base=0, count=2)
    left, output = config.left_buffer_vectors, config.output_buffer_vectors
    one = {"m": 1, "n": 1, "k": 1}
    bad = [
        (EngineError.BUFFER, Load(buffer=Buffer.OUTPUT, base=0, count=1)),
        (EngineError.BOUNDS, Load(buffer=Buffer.LEFT, base=left - 1, count=2)),
        (EngineError.BUFFER, Store(buffer=Buffer.ACC, base=0, count=1)),
        (EngineError.BOUNDS, Store(buffer=Buffer.OUTPUT, base=output - 1, count=2)),
        (EngineError.SHAPE, Matmul(m=0, n=1, k=1, output=Output.Y, dest=Buffer.OUTPUT)),
        (EngineError.UNSUPPORTED, Matmul(**one, output=Output.Y, dest=Buffer.OUTPUT,
                                         rescale=1)),
        (EngineError.UNSUPPORTED, Matmul(m=config.lanes + 1, n=1, k=1, output=Output.ACC,
                                         dest=Buffer.ACC)),
        (EngineError.BUFFER, Matmul(**one, output=Output.Y, dest=Buffer.LEFT)),
        (EngineError.BUFFER, Matmul(**one, output=Output.OPERAND, dest=Buffer.OUTPUT)),
        (EngineError.SHAPE, Matmul(m=1, n=config.softmax_max_row + 1, k=1,
                                   output=Output.LOGITS, dest=Buffer.SCORES)),
        (EngineError.BOUNDS, Matmul(left_base=left - 1, left_stride=1, m=2, n=1, k=1,
                                    output=Output.Y, dest=Buffer.OUTPUT)),
        (EngineError.BOUNDS, Matmul(**one, output=Output.Y, dest=Buffer.OUTPUT,
                                    dest_base=output)),
        (EngineError.STATE, Matmul(**one, output=Output.ACC, dest=Buffer.ACC, accumulate=1,
                                   rescale=1)),
        (EngineError.SHAPE, Softmax(rows=1, length=config.softmax_max_row + 1, loop1=1,
                                    first=1, loop2=1, dest=Buffer.LEFT)),
        # no LOGITS matmul left a block of logits in SCORES for it
        (EngineError.UNSUPPORTED, Softmax(rows=1, length=1, loop1=1, first=1, loop2=1,
                                          dest=Buffer.LEFT)),
        (EngineError.FORMAT, Matmul(**one, output=Output.Y, dest=Buffer.OUTPUT,
                                    format=len(config.supported_formats))),
        (EngineError.FORMAT, Softmax(rows=1, length=1, loop1=1, first=1, loop2=1,
                                     dest=Buffer.LEFT, format=len(config.supported_formats))),
        (EngineError.UNSUPPORTED, Matmul(**one, output=Output.LOGITS, dest=Buffer.SCORES,
                                         gelu=1)),
        (EngineError.UNSUPPORTED, Matmul(**one, output=Output.ACC, dest=Buffer.ACC, gelu=1)),
    ]
    if not config.ppu_gelu:
        bad.append((EngineError.ACTIVATION, Matmul(**one, output=Output.Y, dest=Buffer.OUTPUT,
                                                   gelu=1)))
    if config.nibble_passes:
        # one INT8 vector is two entries: the last entry of LEFT cannot hold it
        bad.append((EngineError.BOUNDS, Matmul(**one, left_base=left - 1, output=Output.Y,
                                               dest=Buffer.OUTPUT,
                                               format=config.format_code("int8"))))
    for code, command in bad:
        harness.shadow = {buffer: {} for buffer in harness.shadow}
        commands = [good, command, End()]
        if not (code == EngineError.SHAPE and isinstance(command, Matmul)):
            try:                                 # the interpreter runs empty matmuls
                interpret(commands, Host([params]), config)
            except ValueError:
                pass
            else:
                raise AssertionError(f"the golden interpreter runs {command}")
        await harness.write_commands(commands)
        harness.serve(commands[:1], [params])
        await harness.start()
        status = status_fields(await harness.wait_stopped(10_000, poll=16))
        assert status["error"] and status["code"] == code and status["command"] == 1, (
            f"{command}: status {status}, expected {code.name} at command 1")
        assert set(harness.shadow[Buffer.PARAMS]) == {0, 1}
        assert not any(harness.shadow[buffer] for buffer in harness.shadow
                       if buffer != Buffer.PARAMS), "a refused command wrote"


@cocotb.test()
async def refuses_an_unknown_opcode(dut):
    """A command word whose opcode names no command (5, 6, 7) stops the engine with
    OPCODE after the commands before it; the golden decoder refuses the word."""
    harness, rng = await _harness(dut, 8)
    config = harness.config
    params = {"mult": rng.integers(0, 1 << config.ppu_mult_bits, 2),
              "shift": rng.integers(0, 63, 2), "bias": rng.integers(-100, 100, 2)}
    good = Load(buffer=Buffer.PARAMS, base=0, count=2)
    for opcode in (5, 6, 7):
        word = encode(good, config) & ~7 | opcode
        try:
            decode(word, config)
        except CommandError as error:
            assert f"opcode {opcode}" in str(error), error
        else:
            raise AssertionError(f"the golden decoder takes opcode {opcode}")
        harness.shadow = {buffer: {} for buffer in harness.shadow}
        await harness.write_commands([good, word, End()])
        harness.serve([good], [params])
        await harness.start()
        status = status_fields(await harness.wait_stopped(10_000, poll=16))
        assert status["error"] and status["code"] == EngineError.OPCODE, status
        assert status["command"] == 1 and set(harness.shadow[Buffer.PARAMS]) == {0, 1}, status


@cocotb.test()
async def refuses_bad_softmax_commands(dut):
    """SOFTMAX's checks past the block of logits it needs: a LOGITS matmul leaves one in
    SCORES, then each bad SOFTMAX (resuming rows that no SOFTMAX started, exponentials
    to OUTPUT, past LEFT's or STATE's end) stops the engine with its reason before it
    does anything, and the block stays for the next; the golden interpreter refuses
    the same list."""
    harness, rng = await _harness(dut, 5)
    config = harness.config
    operand = _operand_image(rng, config, 1)
    params = {"mult": np.array([1 << (config.ppu_mult_bits - 1)]), "shift": np.array([20]),
              "bias": np.array([0])}
    images = [params, operand, operand]
    prologue = [Load(buffer=Buffer.PARAMS, base=0, count=1),
                Load(buffer=Buffer.LEFT, base=0, count=1),
                Load(buffer=Buffer.RIGHT, base=0, count=1),
                Matmul(wait=1, m=1, n=1, k=1, output=Output.LOGITS, dest=Buffer.SCORES)]
    softmax = Softmax(wait=1, rows=1, length=1, loop1=1, first=1, loop2=1, dest=Buffer.LEFT,
                      dest_base=1)
    bad = [(EngineError.STATE, dataclasses.replace(softmax, first=0), "reads STATE"),
           (EngineError.BUFFER, dataclasses.replace(softmax, dest=Buffer.OUTPUT), ""),
           (EngineError.BOUNDS,
            dataclasses.replace(softmax, dest_base=config.left_buffer_vectors), ""),
           (EngineError.BOUNDS, dataclasses.replace(softmax, state_base=config.state_rows), "")]
    for run, (code, command, message) in enumerate(bad):
        try:
            interpret(prologue + [command, End()], Host(images), config)
        except ValueError as error:
            assert message in str(error), error
        else:
            raise AssertionError(f"the golden interpreter runs {command}")
        commands = (prologue if run == 0 else []) + [command, End()]
        index = len(commands) - 2
        harness.shadow = {buffer: {} for buffer in harness.shadow}
        await harness.write_commands(commands)
        harness.serve(commands, images)
        await harness.start()
        status = status_fields(await harness.wait_stopped(10_000, poll=16))
        assert status["error"] and status["code"] == code and status["command"] == index, (
            f"{command}: status {status}, expected {code.name} at command {index}")
        assert not harness.shadow[Buffer.STATE] and not harness.shadow[Buffer.OUTPUT]
        assert set(harness.shadow[Buffer.LEFT]) == ({0} if run == 0 else set()), (
            "the refused SOFTMAX wrote")


@cocotb.test()
async def matmuls_in_every_format(dut):
    """MATMULs in each format the array runs (their `format` code), twice round and
    without waiting between them, every command's results the golden interpreter's as
    it retires, and each span the performance model's: y of random operands over the
    whole range (INT8's as nibble entries), and raw accumulators of rows all -2^(N-1) or
    all maximum, long enough to saturate both ways where 64 vectors can (INT4 without
    scales cannot); then each format's results requantized into the next format (`out_format`)
    and multiplied on in it. A format the array does not run is refused in
    `refuses_bad_commands`."""
    harness, rng = await _harness(dut, 11)
    config = harness.config
    lanes, size = config.lanes, config.vector_size
    m, n, k = lanes + 1, lanes + 2, 2
    params = {"mult": rng.integers(1, 1 << config.ppu_mult_bits, n),
              "shift": rng.integers(8, 24, n), "bias": rng.integers(-100, 100, n)}
    images, loads, matmuls = [params], [Load(buffer=Buffer.PARAMS, base=0, count=n)], []
    bases = {Buffer.LEFT: 0, Buffer.RIGHT: 0}
    output, acc, saturating = 0, 0, False

    def load(buffer, values, scales, format):
        entries = operand_entries(values, scales, config, format)
        images.append(entries)
        loads.append(Load(buffer=buffer, base=bases[buffer], count=len(entries["values"])))
        bases[buffer] += len(entries["values"])
        return loads[-1].base, len(entries["values"]) // len(values)

    for format in config.supported_formats:
        operands = format_config(config, format)
        low, high = operands.data_min, operands.data_max
        scaled = operands.vector_scales
        # Vectors of -2^(N-1) x -2^(N-1) and of -2^(N-1) x (2^(N-1) - 1) at the largest
        # scales: enough of them to pass the accumulator's limits both ways where 64 can
        # (the second product is the smaller).
        smaller = size * -low * high * operands.scale_product_max
        long_k = min(64, config.acc_max // smaller + 2)
        saturating |= long_k * smaller > config.acc_max + 1
        random = [rng.integers(low, high + 1, (rows, k * size)) for rows in (m, n)]
        extremes = [np.repeat([[low], [high]][:min(2, lanes)], long_k * size, axis=1),
                    np.repeat([[low], [high]], long_k * size, axis=1)]
        code = config.format_code(format)
        for values, out in ((random, Output.Y), (extremes, Output.ACC)):
            vectors = values[0].shape[1] // size
            scales = [rng.integers(0, config.scale_max + 1, (len(v), vectors)) if scaled
                      else None for v in values]
            if out == Output.ACC and scaled:
                scales = [np.full((len(v), vectors), config.scale_max) for v in values]
            (left, stride_a), (right, stride_b) = (
                load(buffer, v, sc, format)
                for buffer, v, sc in zip((Buffer.LEFT, Buffer.RIGHT), values, scales))
            common = {"left_base": left, "left_stride": stride_a, "right_base": right,
                      "right_stride": stride_b, "m": len(values[0]), "n": len(values[1]),
                      "k": vectors, "format": code}
            if out == Output.Y:
                matmuls.append(Matmul(**common, output=out, dest=Buffer.OUTPUT,
                                      dest_base=output, dest_stride=-(-n // size)))
                output += m * -(-n // size)
            else:
                matmuls.append(Matmul(**common, output=out, dest=Buffer.ACC, acc_base=acc))
                acc += common["n"]
    # Twice round, formats alternating, writing elsewhere the second time.
    again = [dataclasses.replace(matmul, dest_base=matmul.dest_base + output,
                                 acc_base=matmul.acc_base + acc) for matmul in matmuls]
    output *= 2
    chained = []
    requantization = {"element_mult": 1 << 12, "element_shift": 20, "scale_mult": 1 << 12,
                      "scale_shift": 23}
    formats = config.supported_formats
    for index, format in enumerate(formats):
        result = formats[(index + 1) % len(formats)]
        operands, results = format_config(config, format), format_config(config, result)
        a, b = (rng.integers(operands.data_min, operands.data_max + 1, (rows, size))
                for rows in (m, n))
        b2 = rng.integers(results.data_min, results.data_max + 1, (lanes, size))
        scales = (rng.integers(0, config.scale_max + 1, (max(m, n), 1))
                  if operands.vector_scales else None)
        (left, _), (right, _) = (load(buffer, v, None if scales is None else scales[:len(v)],
                                      format)
                                 for buffer, v in ((Buffer.LEFT, a), (Buffer.RIGHT, b)))
        b2_scales = (rng.integers(0, config.scale_max + 1, (lanes, 1))
                     if results.vector_scales else None)
        right2, _ = load(Buffer.RIGHT, b2, b2_scales, result)
        passes = config.entries_per_vector(result)
        dest = bases[Buffer.LEFT]
        bases[Buffer.LEFT] += m * passes
        stride = config.entries_per_vector(format)
        chained.append(Matmul(left_base=left, left_stride=stride, right_base=right,
                              right_stride=stride,
                              m=m, n=n, k=1, format=config.format_code(format),
                              output=Output.OPERAND, out_format=config.format_code(result),
                              dest=Buffer.LEFT, dest_base=dest, dest_stride=passes,
                              **requantization))
        chained.append(Matmul(wait=1, left_base=dest, left_stride=passes, right_base=right2,
                              right_stride=passes, m=m, n=lanes, k=1,
                              format=config.format_code(result), output=Output.Y,
                              dest=Buffer.OUTPUT, dest_base=output, dest_stride=1))
        output += m
    commands = loads + [dataclasses.replace(matmuls[0], wait=1)] + matmuls[1:] + again
    commands += chained
    commands += [Store(wait=1, buffer=Buffer.OUTPUT, base=0, count=output), End()]
    program = Program(commands, images, regions={}, output="y", columns=n, unit=1.0)
    await harness.run(program)
    if saturating:
        acc_words = harness.expected.machine.memory[Buffer.ACC]["acc"]
        assert {config.acc_max, config.acc_min} <= set(acc_words.reshape(-1).tolist()), \
            "the extreme rows must saturate the accumulators both ways"


@cocotb.test()
async def ffn_in_the_formats_of_a_precision_policy(dut):
    """A compiled FFN whose W1 runs in the last format the array lists and W2 in the
    one before (INT8 and INT4 on the multi-format test array), the hidden layer
    requantized into W2's format; with host stalls."""
    harness, rng = await _harness(dut, 12, stall=0.2)
    formats = harness.config.supported_formats
    await run_program(harness, rng, "ffn",
                      formats={"ffn1": formats[-1], "ffn2": formats[len(formats) // 2]})


@cocotb.test()
async def ffn_with_a_host_gelu_in_blocks_of_rows(dut):
    """A FFN whose GELU runs on the host, with one more token than half of LEFT holds
    of X: X streams in blocks of rows, X W1 + b1 leaves and the GELU's result returns in
    the same blocks, the next block's X W1 computed before this block's LOAD; with host
    stalls."""
    harness, rng = await _harness(dut, 15, stall=0.2)
    config = harness.config
    x_entries = -(-tile_shapes(config)[1] // config.vector_size)
    await run_program(harness, rng, "ffn", tokens=config.left_buffer_vectors // 2 // x_entries
                      + 1, activation=gelu)


@cocotb.test()
async def ffn_with_an_on_chip_gelu(dut):
    """A FFN whose GELU runs in the PPU, with host stalls: W1's matmuls apply it to y
    before the requantization, so the FFN runs as the ReLU one does; on a configuration
    without a GELU the compiler refuses it, naming the key."""
    harness, rng = await _harness(dut, 16, stall=0.2)
    try:
        await run_program(harness, rng, "ffn", activation="gelu")
    except CompileError as error:
        assert not harness.config.ppu_gelu and "ppu_gelu" in str(error), error
    else:
        assert harness.config.ppu_gelu, "an on-chip GELU compiled for a PPU without one"


@cocotb.test()
async def mhsa_in_the_formats_of_a_precision_policy(dut):
    """A compiled MHSA whose projections, P V and Wo run in the last format the array
    lists and Q K^T in the one before (INT8 and INT4 on the multi-format test array):
    Q and K requantized into the scores' format, V and the softmax's exponentials made
    in P V's, the heads' O requantized into Wo's."""
    harness, rng = await _harness(dut, 13)
    formats = harness.config.supported_formats
    await run_program(harness, rng, "mhsa", formats={"qkv": formats[-1], "wo": formats[-1],
                                                     "pv": formats[-1],
                                                     "scores": formats[len(formats) // 2]})


@cocotb.test()
async def sa_in_the_formats_of_a_precision_policy(dut):
    """A compiled SA whose Q K^T runs in the last format the array lists and P V in the
    one before (INT8 and INT4 on the multi-format test array), the projections in the
    entries' own, with host stalls."""
    harness, rng = await _harness(dut, 14, stall=0.2)
    formats = harness.config.supported_formats
    await run_program(harness, rng, "sa", formats={"scores": formats[-1],
                                                   "pv": formats[len(formats) // 2]})


def _operand_image(rng, config, entries):
    """Random operand entries, the extremes -2^(N-1) and 2^(N-1) - 1 included."""
    low, high = -(1 << config.data_bits - 1), (1 << config.data_bits - 1) - 1
    values = rng.integers(low, high + 1, (entries, config.vector_size))
    values[0], values[-1] = low, high
    scales = (rng.integers(0, 1 << config.scale_bits, entries) if config.vector_scales
              else np.zeros(entries, np.int64))
    return {"values": values, "scales": scales}


def _rows_of(image, rows, config):
    """An operand image as a float matrix of `rows` rows (values times scales)."""
    values = image["values"].astype(np.float64)
    if config.vector_scales:
        values = values * image["scales"][:, None]
    return values.reshape(rows, -1)


@cocotb.test()
async def writers_meet(dut):
    """A softmax writes its exponentials into an operand buffer while a matmul writes
    its requantized results there and a LOAD fills another region of it: the three
    share the buffer's write port (the matmul first, then the softmax, then the LOAD),
    under host stalls; LEFT, then RIGHT (`_beside_the_writers`)."""
    await _beside_the_writers(dut, Load)


@cocotb.test()
async def a_store_reads_beside_the_writers(dut):
    """As `writers_meet`, with a STORE of a region loaded before in place of the LOAD:
    it reads through the buffer's write port in the cycles the writers leave free, and
    gives back what was loaded, bit for bit."""
    await _beside_the_writers(dut, Store)


async def _beside_the_writers(dut, transfer):
    """A host transfer (`Load` or `Store`) of an operand buffer's rows beside its two
    writers. Every entry each wrote is the golden interpreter's, and the rows then feed
    a matmul whose output is stored. On the suite's fixed configurations the transfer
    and the softmax must also have been held at least once each; on random
    configurations (REQUIRE_MEETING=0) the timing may keep them apart, and the counts
    are only logged."""
    harness, rng = await _harness(dut, 5, stall=0.3)
    config = harness.config
    lanes, size = config.lanes, config.vector_size
    # up to four vectors of logits a row, as the softmax and PARAMS (twice n) allow
    m, n, k = lanes, min(4 * size, config.softmax_max_row, config.param_entries // 2), 2
    columns = -(-n // size)
    for target in (Buffer.LEFT, Buffer.RIGHT):
        a, b = _operand_image(rng, config, m * k), _operand_image(rng, config, n * k)
        acc = _rows_of(a, m, config) @ _rows_of(b, n, config).T
        logits = logit_scaling(8.0 / max(1.0, np.abs(acc).max()), 1.0, n, config)
        params = {"mult": np.concatenate([logits.mult,
                                          rng.integers(1, 1 << config.ppu_mult_bits, n)]),
                  "shift": np.concatenate([logits.shift, rng.integers(8, 24, n)]),
                  "bias": np.concatenate([logits.bias, rng.integers(-100, 100, n)])}
        requant = {"element_mult": int(rng.integers(1, 1 << config.ppu_mult_bits)),
                   "element_shift": 20,
                   "scale_mult": int(rng.integers(1, 1 << config.ppu_mult_bits)),
                   "scale_shift": 22}
        # the target: its operand, the exponentials, the results, the transferred rows
        exps = m * k if target == Buffer.LEFT else n * k
        results = exps + m * columns
        rows = results + m * columns
        capacity = (config.left_buffer_vectors if target == Buffer.LEFT
                    else config.right_buffer_vectors)
        moved = min(256, capacity - rows)
        product = {"left_stride": k, "right_stride": k, "m": m, "n": n, "k": k}
        writes = {"dest": target, "dest_stride": columns}
        last_base = {"left_base" if target == Buffer.LEFT else "right_base": rows}
        image = _operand_image(rng, config, moved)
        commands = [
            Load(buffer=Buffer.LEFT, base=0, count=m * k),
            Load(buffer=Buffer.RIGHT, base=0, count=n * k),
            Load(buffer=Buffer.PARAMS, base=0, count=2 * n),
            *([Load(buffer=target, base=rows, count=moved)] if transfer is Store else []),
            Matmul(wait=1, **product, output=Output.LOGITS, dest=Buffer.SCORES),
            Softmax(wait=1, rows=m, length=n, loop1=1, first=1, loop2=1, **writes,
                    dest_base=exps, **dataclasses.asdict(exponential_requantization(config)[0])),
            Matmul(**product, params_base=n, output=Output.OPERAND, **writes,
                   dest_base=results, **requant),
            transfer(buffer=target, base=rows, count=moved),
            Matmul(wait=1, **product, **last_base, params_base=n, output=Output.Y,
                   dest=Buffer.OUTPUT, dest_stride=columns),
            Store(wait=1, buffer=Buffer.OUTPUT, count=m * columns),
            End(),
        ]
        meeting = len(commands) - 4                         # the transfer's index
        program = Program(commands, [a, b, params, image], regions={}, output="y",
                          columns=n, unit=1.0)
        y, _ = await harness.run(program)
        assert {meeting - 1, meeting} <= set(harness.overlapped()), (
            "the writers did not run side by side")
        held = {Load: harness.loads_held, Store: harness.stores_held}[transfer]
        counts = (f"{target.name}'s port held exponentials {harness.exps_held} cycles, "
                  f"the {transfer.__name__.upper()} {held}")
        if os.environ.get("REQUIRE_MEETING", "1") == "1":
            assert harness.exps_held and held, f"{counts}: the writers never met"
        machine = harness.expected.machine
        stored = machine.memory[Buffer.OUTPUT]["y"][:m * columns].reshape(m, columns * size)
        assert np.array_equal(y, stored[:, :n])
        if transfer is Store:
            for name, values in harness.stored[0].items():
                assert np.array_equal(values, image[name]), f"{name} came back changed"
        dut._log.info(counts)


@cocotb.test()
async def ffn_with_host_stalls(dut):
    await run_tile(dut, "ffn", 2, stall=0.3)


@cocotb.test()
async def tiles_take_the_models_cycles_and_activity(dut):
    """SA and FFN with no host stall (MHSA: `multi_head_attention_cycles_and_activity`):
    every command took the performance model's cycles, its drain included, and so did
    each tile as a whole (`check_model_cycles` asserts both in every run); the engine
    did what the energy model counts (`check_model_activity`, also in every run). The
    SA has 2 L tokens: two whole blocks of queries, so every row of SCORES and STATE is
    used."""
    harness, rng = await _harness(dut, 3)
    await run_program(harness, rng, "sa", tokens=harness.config.state_rows)
    await run_program(harness, rng, "ffn")


@cocotb.test()
async def multi_head_attention_cycles_and_activity(dut):
    """No host stall: the whole tile takes the performance model's cycles, and does
    what the energy model counts."""
    await run_tile(dut, "mhsa", 4)



@cocotb.test()
async def long_self_attention_with_host_stalls(dut):
    await run_tile(dut, "sa", 6, stall=0.3, tokens=long_rows(config_from_env()))


@cocotb.test()
async def long_multi_head_attention_in_short_lists(dut):
    """Lists of 100 commands and END (not a multiple of 3): a block of logits waits in
    SCORES, and a long row's max and sum in STATE, across the engine's stops and starts
    at each place of the S, SOFTMAX, P V pattern."""
    await run_tile(dut, "mhsa", 7, stall=0.2, tokens=long_rows(config_from_env()),
                   list_entries=101)
