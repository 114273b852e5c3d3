"""Transformer workloads as the accelerator's operations: matmuls, softmax rows and
encoder layers.

An encoder layer (tokens n, hidden d, h heads, MLP width f, `sequences` independent
sequences, `batch` inputs) becomes operations through the compiler's command lists
(`perf.lowering`), so the model costs what the controller will run: per head and
sequence the Q, K and V^T projections, S in blocks of L query rows, the softmax and
P V (two passes over key blocks when rows are longer than the softmax takes); then
the output projection and the two FFN matmuls on all rows of the batch. A workload is a
list of groups of operations, each repeated (layers). Users add their own as JSON (see
`load_workload`).
"""

import dataclasses
import json
from pathlib import Path

__all__ = ["Matmul", "SoftmaxRows", "EncoderLayer", "Group", "Workload", "encoder_layer",
           "with_batch", "WORKLOADS", "load_workload"]


@dataclasses.dataclass(frozen=True)
class Matmul:
    """count independent (M x K) @ (K x N) products; `attention` marks S = Q K^T and
    P V, beside which the softmax unit works; `recomputed` work (S's first pass over
    rows too long for the softmax) takes cycles but counts no useful MACs."""

    name: str
    m: int
    k: int
    n: int
    count: int = 1
    attention: bool = False
    recomputed: bool = False

    @property
    def macs(self):
        return 0 if self.recomputed else self.count * self.m * self.k * self.n


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


def load_workload(path):
    """A workload from JSON:

    {"name": "...", "description": "...", "groups": [
        {"name": "...", "repeat": 12, "encoder": {"tokens": 197, "hidden": 384,
                                                  "heads": 6, "mlp": 1536}},
        {"name": "...", "matmuls": [{"name": "...", "m": 1, "k": 2, "n": 3, "count": 1}],
         "softmax": [{"name": "...", "rows": 4, "length": 5}]}]}
    """
    spec = json.loads(Path(path).read_text())
    groups = []
    for group in spec["groups"]:
        if "encoder" in group:
            ops = encoder_layer(**group["encoder"])
        else:
            ops = tuple([Matmul(**op) for op in group.get("matmuls", [])]
                        + [SoftmaxRows(**op) for op in group.get("softmax", [])])
        groups.append(Group(group["name"], ops, group.get("repeat", 1)))
    return Workload(spec["name"], spec.get("description", ""), tuple(groups))
