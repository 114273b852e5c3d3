"""The dimensions of the encoder tiles for any n, d_model, dk, h, d_ff.

    python -m golden.dimensions [--n 25000] [--d-model 512] [--dk 64] [--heads 8] [--d-ff 2048]

prints, for SA (one head), MHSA and FFN, every tensor's shape and its size in each
format, and every matmul's MACs. INT4-VSQ stores V = 16 elements of 4 bits and one 8-bit
scale per vector (4.5 bits an element); scores, logits and probabilities are per head.
"""

import argparse
import sys

__all__ = ["tile_dimensions", "main"]

# Bits per element of each storage format (INT4-VSQ: 4 + 8 / 16).
FORMAT_BITS = {"INT4-VSQ": 4.5, "INT4": 4, "INT8": 8, "FP32": 32}


def tile_dimensions(n, d_model, dk, heads, d_ff):
    """{tile: {"tensors": [(name, shape)], "matmuls": [(name, M, K, N, times)]}}."""
    dv = dk
    sa_tensors = [("X", (n, d_model)), ("Wq, Wk, Wv (each)", (d_model, dk)),
                  ("Q, K, V (each)", (n, dk)), ("S = Q K^T", (n, n)),
                  ("softmax exponentials", (n, n)), ("O", (n, dv))]
    sa_matmuls = [("Q, K, V = X W", n, d_model, dk, 3), ("S = Q K^T", n, dk, n, 1),
                  ("O = softmax(S) V", n, n, dv, 1)]
    return {
        "SA (one head)": {"tensors": sa_tensors, "matmuls": sa_matmuls},
        "MHSA": {
            "tensors": [("X", (n, d_model)), (f"W per head x {heads}", (d_model, dk)),
                        (f"S per head x {heads}", (n, n)),
                        ("concat(O_h)", (n, heads * dv)), ("Wo", (heads * dv, d_model)),
                        ("output", (n, d_model))],
            "matmuls": [(f"{name}, per head", m, k, nn, times * heads)
                        for name, m, k, nn, times in sa_matmuls]
            + [("output = concat Wo", n, heads * dv, d_model, 1)],
        },
        "FFN": {
            "tensors": [("X", (n, d_model)), ("W1", (d_model, d_ff)), ("hidden", (n, d_ff)),
                        ("W2", (d_ff, d_model)), ("output", (n, d_model))],
            "matmuls": [("hidden = X W1", n, d_model, d_ff, 1),
                        ("output = hidden W2", n, d_ff, d_model, 1)],
        },
    }


def _bytes(shape, bits):
    elements = 1
    for size in shape:
        elements *= size
    return elements * bits / 8


def _human(count):
    for unit in ("", "K", "M", "G", "T"):
        if count < 1000:
            return f"{count:.4g}{unit}"
        count /= 1000
    return f"{count:.4g}P"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m golden.dimensions",
                                     description="Tensor shapes, bytes and MACs of the "
                                                 "SA, MHSA and FFN tiles.")
    for flag, default in (("--n", 25000), ("--d-model", 512), ("--dk", 64), ("--heads", 8),
                          ("--d-ff", 2048)):
        parser.add_argument(flag, type=int, default=default)
    args = parser.parse_args(argv)
    for name, value in vars(args).items():
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    tiles = tile_dimensions(args.n, args.d_model, args.dk, args.heads, args.d_ff)
    for tile, parts in tiles.items():
        print(f"\n{tile}  (n={args.n}, d_model={args.d_model}, dk={args.dk}, "
              f"h={args.heads}, d_ff={args.d_ff})")
        print(f"  {'tensor':<24} {'shape':>14} " + " ".join(f"{f + ' bytes':>14}"
                                                           for f in FORMAT_BITS))
        for tensor, shape in parts["tensors"]:
            sizes = " ".join(f"{_human(_bytes(shape, bits)):>14}"
                             for bits in FORMAT_BITS.values())
            print(f"  {tensor:<24} {' x '.join(map(str, shape)):>14} {sizes}")
        total = 0
        for name, m, k, n, times in parts["matmuls"]:
            macs = times * m * k * n
            total += macs
            print(f"  {name:<26} {times:>3} x  M={m} K={k} N={n}: {_human(macs)} MACs")
        print(f"  total {_human(total)} MACs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
