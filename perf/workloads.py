"""Transformer workloads as the accelerator's operations: matmuls, softmax rows and
encoder layers.

An encoder layer (tokens n, hidden d, h heads, MLP width f, `sequences` independent
sequences, `batch` inputs) becomes operations through the compiler's command lists
(`perf.lowering`), so the model costs what the controller will run: per head and
sequence the Q, K and V^T projections, S in blocks of L query rows, the softmax and
P V (in blocks of keys when rows are longer than the softmax takes); then
the output projection and the two FFN matmuls on all rows of the batch. A workload is a
list of groups of operations, each repeated (layers). Users add their own as JSON (see
`load_workload`).
"""

import dataclasses
import json
from pathlib import Path

__all__ = ["Matmul", "SoftmaxRows", "EncoderLayer", "Group", "Workload", "encoder_layer",
           "with_batch", "WORKLOADS", "load_workload", "WorkloadError"]


@dataclasses.dataclass(frozen=True)
class Matmul:
    """count independent (M x K) @ (K x N) products; `attention` marks S = Q K^T and
    P V, beside which the softmax unit works."""

    name: str
    m: int
    k: int
    n: int
    count: int = 1
    attention: bool = False

    @property
    def macs(self):
        return self.count * self.m * self.k * self.n


@dataclasses.dataclass(frozen=True)
class SoftmaxRows:
    name: str
    rows: int
    length: int


@dataclasses.dataclass(frozen=True)
class EncoderLayer:
    """One encoder layer, lowered with the configuration by `perf.lowering`."""

    tokens: int
    hidden: int
    heads: int
    mlp: int
    sequences: int = 1
    batch: int = 1

    @property
    def name(self):
        return "encoder layer"


@dataclasses.dataclass(frozen=True)
class Group:
    """Operations repeated `repeat` times (the layers of a stage)."""

    name: str
    ops: tuple
    repeat: int = 1


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    description: str
    groups: tuple


def encoder_layer(tokens, hidden, heads, mlp, sequences=1):
    """The operations of one encoder layer: one, lowered when it is costed."""
    if hidden % heads:
        raise ValueError(f"hidden={hidden} is not a multiple of heads={heads}")
    return (EncoderLayer(tokens, hidden, heads, mlp, sequences),)


def _vit(name, description, layers, hidden, heads, mlp, patches=196, class_token=True):
    embed = Group("patch embedding", (Matmul("patch embedding", patches, 16 * 16 * 3,
                                             hidden),))
    tokens = patches + (1 if class_token else 0)
    return Workload(name, description, (
        embed, Group("encoder", encoder_layer(tokens, hidden, heads, mlp), layers)))


def _bert(name, layers, hidden, heads, mlp, tokens):
    return Workload(name, f"{name.split('_')[0].upper()}-{name.split('_')[1].title()}, "
                    f"sequence {tokens}",
                    (Group("encoder", encoder_layer(tokens, hidden, heads, mlp), layers),))


def _mobilevit(name, description, stages):
    """MobileViT: 2x2 patches unfolded into 4 sequences of H*W/4 tokens per block;
    MLP width 2d and 4 heads, as in the published configurations."""
    return Workload(name, description, tuple(
        Group(f"transformer d={hidden} on {side}x{side}",
              encoder_layer(side * side // 4, hidden, 4, 2 * hidden, sequences=4),
              layers)
        for hidden, layers, side in stages))


WORKLOADS = {workload.name: workload for workload in (
    Workload("seed", "the seed example: n = 25000, d_model = 512, dk = 64, h = 8, "
             "d_ff = 2048, one encoder layer",
             (Group("encoder", encoder_layer(25000, 512, 8, 2048)),)),
    _vit("vit_b", "ViT-Base/16, 224x224", 12, 768, 12, 3072),
    _vit("vit_l", "ViT-Large/16, 224x224", 24, 1024, 16, 4096),
    _vit("vit_h", "ViT-Huge with 16x16 patches, 224x224", 32, 1280, 16, 5120),
    _vit("deit_s", "DeiT-Small, 197 tokens", 12, 384, 6, 1536),
    _vit("deit_b", "DeiT-Base, 197 tokens", 12, 768, 12, 3072),
    _vit("vitpose_b", "ViTPose-B: ViT-B on 256x192, 16x12 patches, no class token", 12, 768,
         12, 3072, patches=16 * 12, class_token=False),
    _bert("bert_base_128", 12, 768, 12, 3072, 128),
    _bert("bert_base_384", 12, 768, 12, 3072, 384),
    _bert("bert_large_128", 24, 1024, 16, 4096, 128),
    _bert("bert_large_384", 24, 1024, 16, 4096, 384),
    _mobilevit("mobilevit_xs", "MobileViT-XS transformer blocks, 256x256 input",
               ((96, 2, 32), (120, 4, 16), (144, 3, 8))),
    _mobilevit("mobilevit_s", "MobileViT-S transformer blocks, 256x256 input",
               ((144, 2, 32), (192, 4, 16), (240, 3, 8))),
)}


def with_batch(workload, batch):
    """The workload for `batch` inputs at once: the linear layers see batch times the
    rows (which fills partial tiles), attention repeats per input (and with it, in an
    encoder layer, each head's projections)."""
    if batch == 1:
        return workload

    def scaled(op):
        if isinstance(op, EncoderLayer):
            return dataclasses.replace(op, batch=op.batch * batch)
        if isinstance(op, SoftmaxRows):
            return dataclasses.replace(op, rows=op.rows * batch)
        if op.attention:
            return dataclasses.replace(op, count=op.count * batch)
        return dataclasses.replace(op, m=op.m * batch)

    return Workload(f"{workload.name}_batch{batch}", f"{workload.description}, batch {batch}",
                    tuple(dataclasses.replace(group, ops=tuple(map(scaled, group.ops)))
                          for group in workload.groups))


class WorkloadError(ValueError):
    """A workload file that cannot be read or describes no valid workload; the message
    names the file, the field (with its path) and what is allowed."""


def load_workload(path):
    """A workload from JSON:

    {"name": "...", "description": "...", "groups": [
        {"name": "...", "repeat": 12, "encoder": {"tokens": 197, "hidden": 384,
                                                  "heads": 6, "mlp": 1536}},
        {"name": "...", "matmuls": [{"name": "...", "m": 1, "k": 2, "n": 3, "count": 1}],
         "softmax": [{"name": "...", "rows": 4, "length": 5}]}]}

    Raises WorkloadError naming the file and the field of the first problem."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
        spec = json.loads(text)
        return _workload(spec)
    except OSError as error:
        raise WorkloadError(f"cannot read workload {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise WorkloadError(f"{path}: not UTF-8 text; a workload is a UTF-8 JSON file") from None
    except json.JSONDecodeError as error:
        raise WorkloadError(f"{path}: not valid JSON: {error}") from None
    except RecursionError:
        raise WorkloadError(f"{path}: not a workload: JSON nested too deeply") from None
    except _FieldError as error:
        raise WorkloadError(f"{path}: {error}") from None


class _FieldError(ValueError):
    pass


def _object(value, where, required, optional=()):
    """Check that `value` is an object with the required keys and no others."""
    if not isinstance(value, dict):
        raise _FieldError(f"{where or 'the file'} must be a JSON object, not "
                          f"{json.dumps(value)[:40]}")
    for key in required:
        if key not in value:
            raise _FieldError(f"{where + '.' if where else ''}{key} is missing")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise _FieldError(f"{where + '.' if where else ''}{unknown[0]} is not a field here; "
                          f"the fields are {', '.join(list(required) + list(optional))}")
    return value


def _count(value, where, low=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _FieldError(f"{where}={json.dumps(value)} must be an integer of at least {low}")
    return value


def _text(value, where):
    if not isinstance(value, str):
        raise _FieldError(f"{where}={json.dumps(value)} must be a string")
    return value


def _list(value, where, allow_empty=False):
    if not isinstance(value, list) or not (value or allow_empty):
        raise _FieldError(f"{where} must be a non-empty list")
    return value


def _workload(spec):
    _object(spec, "", ("name", "groups"), ("description",))
    groups = []
    for index, group in enumerate(_list(spec["groups"], "groups")):
        where = f"groups[{index}]"
        _object(group, where, ("name",), ("repeat", "encoder", "matmuls", "softmax"))
        kinds = [kind for kind in ("encoder", "matmuls", "softmax") if kind in group]
        if not kinds or ("encoder" in kinds and len(kinds) > 1):
            raise _FieldError(f"{where} needs an encoder, or matmuls and/or softmax rows")
        if "encoder" in group:
            fields = ("tokens", "hidden", "heads", "mlp")
            encoder = _object(group["encoder"], f"{where}.encoder", fields)
            values = {name: _count(encoder[name], f"{where}.encoder.{name}") for name in fields}
            if values["hidden"] % values["heads"]:
                raise _FieldError(f"{where}.encoder.heads={values['heads']} must divide "
                                  f"hidden={values['hidden']}")
            ops = encoder_layer(**values)
        else:
            ops = []
            for kind, cls, fields, optional in (
                    ("matmuls", Matmul, ("name", "m", "k", "n"), ("count",)),
                    ("softmax", SoftmaxRows, ("name", "rows", "length"), ())):
                for number, op in enumerate(_list(group.get(kind, []), f"{where}.{kind}",
                                                  allow_empty=True)):
                    here = f"{where}.{kind}[{number}]"
                    _object(op, here, fields, optional)
                    ops.append(cls(_text(op["name"], f"{here}.name"), **{
                        name: _count(op[name], f"{here}.{name}")
                        for name in fields[1:] + optional if name in op}))
            if not ops:
                raise _FieldError(f"{where} has no matmuls and no softmax rows")
        groups.append(Group(_text(group["name"], f"{where}.name"), tuple(ops),
                            _count(group.get("repeat", 1), f"{where}.repeat")))
    return Workload(_text(spec["name"], "name"), _text(spec.get("description", ""),
                                                       "description"), tuple(groups))
