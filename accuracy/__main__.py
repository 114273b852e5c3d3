"""python -m vsq_accel.accuracy: the study's table and plot, from the golden integer path.

Writes bench/results/accuracy.json (flat keys: model, format, metric), accuracy.md (the
table in the shape of NVIDIA's Table IV) and accuracy.png.
"""

import argparse
import json
import sys
from pathlib import Path

from vsq_accel.accuracy import encoder_study, vision_study
from vsq_accel.accuracy.arithmetic import FORMATS

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
COLUMNS = ("float",) + tuple(FORMATS)
ROWS = (
    ("MiniLM-L6 linear layers: mean cosine to float", "minilm_{}_mean_cos"),
    ("MiniLM-L6 linear layers: min cosine", "minilm_{}_min_cos"),
    ("MiniLM-L6 linear layers: Spearman of similarities", "minilm_{}_spearman"),
    ("MiniLM-L6 + attention matmuls (tile dataflow): mean cosine", "minilm_{}_attn_mean_cos"),
    ("MiniLM-L6 + attention matmuls (tile dataflow): Spearman", "minilm_{}_attn_spearman"),
    ("MiniLM-L6 + attention matmuls, Q0.7 probabilities: mean cosine",
     "minilm_{}_attn_q07_mean_cos"),
    ("MiniLM-L6 on 256+ token passages, + attention (tile dataflow): mean cosine",
     "minilm_long_{}_attn_mean_cos"),
    ("MiniLM-L6 on 256+ token passages, + attention, Q0.7 probabilities: mean cosine",
     "minilm_long_{}_attn_q07_mean_cos"),
    ("MiniLM-L6, scores x8 (logits to ~400), + attention, 12-bit logits: mean cosine",
     "minilm_scaled_{}_attn_mean_cos"),
    ("MiniLM-L6, scores x8, + attention, 8-bit logits: mean cosine",
     "minilm_scaled_{}_attn_w8_mean_cos"),
    ("MiniLM-L6: paraphrase top-1", "minilm_{}_paraphrase_top1"),
    ("ViT on 8x8 digits (trained here), linear layers: test top-1", "vit_digits_{}_top1"),
    ("ViT on 8x8 digits, + attention matmuls (tile dataflow): test top-1",
     "vit_digits_{}_attn_top1"),
    ("ViT on 8x8 digits, + attention matmuls, Q0.7 probabilities: test top-1",
     "vit_digits_{}_attn_q07_top1"),
)


def table(results):
    """Markdown: a row per model and metric, a column per format."""
    lines = ["| model, metric | " + " | ".join(COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for label, key in ROWS:
        cells = []
        for column in COLUMNS:
            # Float has one setting: its attention is float either way.
            value = results.get(key.format(column).replace("float_attn", "float"))
            cells.append("" if value is None else f"{value:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    formats = list(FORMATS)
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    panels = (("minilm_{}{}_mean_cos", "mean cosine to float", "all-MiniLM-L6-v2 embeddings",
               None),
              ("vit_digits_{}{}_top1", "test top-1", "ViT on 8x8 digits",
               results["vit_digits_float_top1"]))
    for axis, (key, ylabel, title, float_level) in zip(axes, panels):
        for offset, (suffix, label) in enumerate((("", "linear layers"),
                                                  ("_attn", "+ attention matmuls"))):
            values = [results[key.format(name, suffix)] for name in formats]
            axis.bar([index + 0.38 * offset for index in range(len(formats))], values,
                     width=0.38, label=label)
        if float_level is not None:
            axis.axhline(float_level, color="black", linewidth=0.8, label="float")
        axis.set_xticks([index + 0.19 for index in range(len(formats))], formats)
        axis.set_ylabel(ylabel)
        axis.set_ylim(0, 1)
        axis.set_title(title)
        axis.legend(loc="lower right", fontsize=8)
    figure.suptitle("The formats through the golden integer path (the RTL's arithmetic)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.accuracy",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, metavar="DIR")
    parser.add_argument("--no-training", action="store_true",
                        help="evaluate the saved ViT weights instead of training again")
    args = parser.parse_args(argv)
    results = {**encoder_study.run(), **vision_study.run(retrain=not args.no_training)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "accuracy.md").write_text(table(results))
    plot(results, args.out / "accuracy.png")
    print(table(results))
    print(f"written: {args.out / 'accuracy.json'}, accuracy.md, accuracy.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
