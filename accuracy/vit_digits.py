"""Part 2 of the study: a small vision transformer trained here on scikit-learn's 8x8
digits with the accelerator's substitutions from the start (a ReLU MLP; the softmax is
base 2 with log2(e) folded into the logit scale, which is exactly the base-e softmax it
trains with), then evaluated through the golden integer path. A GELU twin, trained the
same way (`vit_digits_gelu.npz`), measures the PPU's GELU against the host's.

Training needs PyTorch (`make accuracy`); evaluation is numpy only, from the weights in
vit_digits.npz, so the regular tests run it without PyTorch.
"""

from pathlib import Path

import numpy as np

from vsq_accel.accuracy.host import layer_norm

__all__ = ["WEIGHTS", "WEIGHTS_GELU", "SEED", "ARCHITECTURE", "load_split", "train", "save_weights",
           "load_weights", "forward", "top1"]

WEIGHTS = Path(__file__).resolve().parent / "vit_digits.npz"
WEIGHTS_GELU = WEIGHTS.with_name("vit_digits_gelu.npz")
SEED = 2026
ARCHITECTURE = {"patch": 2, "width": 32, "heads": 4, "blocks": 2, "mlp": 64}
_PATCHES = (8 // ARCHITECTURE["patch"]) ** 2


def load_split():
    """(train images, test images, train labels, test labels): 1437 / 360, stratified,
    pixels scaled from 0..16 to 0..1."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images / 16.0
    return train_test_split(images, digits.target, test_size=0.2, random_state=0,
                            stratify=digits.target)


def patches(images):
    """(N, 8, 8) -> (N, 16, 4): 2x2 patches, row-major."""
    size = ARCHITECTURE["patch"]
    n = len(images)
    grid = images.reshape(n, 8 // size, size, 8 // size, size).transpose(0, 1, 3, 2, 4)
    return grid.reshape(n, _PATCHES, size * size)


def train(epochs=120, seed=SEED, gelu=False):
    """Train with PyTorch on the CPU (about a minute on 2 cores), the MLP's activation
    ReLU or (`gelu`) the exact GELU; returns the weights as numpy arrays and PyTorch's
    own logits of the test images, the reference that the numpy forward pass must
    reproduce."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    train_x, test_x, train_y, test_y = load_split()
    width, heads = ARCHITECTURE["width"], ARCHITECTURE["heads"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.fc1 = nn.Linear(width, ARCHITECTURE["mlp"])
            self.fc2 = nn.Linear(ARCHITECTURE["mlp"], width)

        def forward(self, x):
            n, t, _ = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(n, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
            attended = nn.functional.scaled_dot_product_attention(q, k, v)
            x = x + self.proj(attended.transpose(1, 2).reshape(n, t, width))
            hidden = self.fc1(self.norm2(x))
            return x + self.fc2(nn.functional.gelu(hidden) if gelu else torch.relu(hidden))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(ARCHITECTURE["patch"] ** 2, width)
            self.cls = nn.Parameter(torch.zeros(1, 1, width))
            self.position = nn.Parameter(0.02 * torch.randn(1, _PATCHES + 1, width))
            self.blocks = nn.ModuleList(Block() for _ in range(ARCHITECTURE["blocks"]))
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, 10)

        def forward(self, x):
            x = self.embed(x)
            x = torch.cat([self.cls.expand(len(x), -1, -1), x], dim=1) + self.position
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x[:, 0]))

    model = ViT()
    inputs = torch.tensor(patches(train_x), dtype=torch.float32)
    labels = torch.tensor(train_y)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, epochs=epochs,
                                                   steps_per_epoch=-(-len(inputs) // 64))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(inputs), generator=generator).split(64):
            shifted = _random_shift(inputs[batch], generator)
            loss = nn.functional.cross_entropy(model(shifted), labels[batch],
                                               label_smoothing=0.05)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        reference = model(torch.tensor(patches(test_x), dtype=torch.float32))
    weights = {name: value.detach().double().numpy()
               for name, value in model.state_dict().items()}
    return weights, reference.double().numpy()


def _random_shift(patch_batch, generator):
    """Augmentation: each image moved by up to one pixel (zero fill)."""
    import torch

    n = len(patch_batch)
    size = ARCHITECTURE["patch"]
    images = patch_batch.reshape(n, 8 // size, 8 // size, size, size).permute(0, 1, 3, 2, 4)
    images = images.reshape(n, 1, 8, 8)
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    dy, dx = torch.randint(0, 3, (2,), generator=generator).tolist()
    moved = padded[:, :, dy:dy + 8, dx:dx + 8].reshape(n, 8, 8).numpy()
    return torch.tensor(patches(moved), dtype=torch.float32)


def save_weights(weights, path=WEIGHTS):
    """As float32, the precision they were trained in."""
    np.savez(path, **{name: value.astype(np.float32) for name, value in weights.items()})


def load_weights(path=WEIGHTS):
    with np.load(path) as stored:
        return {name: stored[name].astype(np.float64) for name in stored.files}


def forward(weights, images, arithmetic, activation=None):
    """Logits (N x 10) of the images, every matmul in `arithmetic`, the MLP's
    `activation` ReLU by default, one image at a time (the accelerator's tiles see one
    image's tokens)."""
    activation = activation or (lambda x: np.maximum(x, 0))
    return np.stack([_forward_one(weights, tokens, arithmetic, activation)
                     for tokens in patches(images)])


def top1(weights, images, labels, arithmetic=None, activation=None):
    from vsq_accel.accuracy.arithmetic import FloatArithmetic

    logits = forward(weights, images, arithmetic or FloatArithmetic(), activation)
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def _norm(x, w, prefix):
    return layer_norm(x, w[prefix + ".weight"], w[prefix + ".bias"], 1e-5)


def _forward_one(w, tokens, arithmetic, activation):
    def linear(name, x, layer, operation):
        return arithmetic.at(layer).linear(x, w[name + ".weight"], w[name + ".bias"],
                                           operation)

    width, heads, blocks = (ARCHITECTURE[key] for key in ("width", "heads", "blocks"))
    x = np.concatenate([w["cls"][0], linear("embed", tokens, 0, "embed")]) + w["position"][0]
    keep = np.ones(len(x), bool)
    for index in range(blocks):
        prefix = f"blocks.{index}"
        qkv = linear(prefix + ".qkv", _norm(x, w, prefix + ".norm1"), index, "qkv")
        q, k, v = np.split(qkv, 3, axis=1)
        size = width // heads
        attended = np.concatenate([
            arithmetic.at(index).attention(q[:, part], k[:, part], v[:, part], keep)
            for part in (slice(h * size, (h + 1) * size) for h in range(heads))], axis=1)
        x = x + linear(prefix + ".proj", attended, index, "wo")
        hidden = activation(linear(prefix + ".fc1", _norm(x, w, prefix + ".norm2"), index,
                                   "ffn1"))
        x = x + linear(prefix + ".fc2", hidden, index, "ffn2")
    return linear("head", _norm(x[:1], w, "norm"), blocks - 1, "head")[0]
