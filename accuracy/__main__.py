"""python -m vsq_accel.accuracy: the study's tables and plots, from the golden integer path.

Writes bench/results/accuracy.json (flat keys: model, format, metric), accuracy.md (the
formats in the shape of NVIDIA's Table IV, then mixed precision), accuracy.png and
accuracy_mixed.png (accuracy against bits per weight).
"""

import argparse
import json
import sys
from pathlib import Path

from vsq_accel.accuracy import encoder_study, mixed_study, vision_study
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


MIXED_COLUMNS = (("MiniLM mean cosine", "minilm_mixed_{}_mean_cos"),
                 ("MiniLM held out", "minilm_mixed_{}_held_out_mean_cos"),
                 ("MiniLM bits / weight", "minilm_mixed_{}_bits_per_weight"),
                 ("MiniLM INT8 MACs", "minilm_mixed_{}_int8_mac_share"),
                 ("ViT top-1", "vit_digits_mixed_{}_top1"),
                 ("ViT bits / weight", "vit_digits_mixed_{}_bits_per_weight"),
                 ("ViT INT8 MACs", "vit_digits_mixed_{}_int8_mac_share"))


def table(results):
    """Markdown: the formats' table, then mixed precision's."""
    return formats_table(results) + "\n" + mixed_table(results)


def mixed_table(results):
    """Markdown: a row per policy, its accuracy and costs; then the chosen policies."""
    lines = ["| policy | " + " | ".join(label for label, _ in MIXED_COLUMNS) + " |",
             "|---" * (len(MIXED_COLUMNS) + 1) + "|"]
    for row, meaning in mixed_study.ROWS.items():
        cells = (results.get(key.format(row)) for _, key in MIXED_COLUMNS)
        lines.append(f"| {meaning} | " + " | ".join(
            "" if value is None else f"{value:.3f}" for value in cells) + " |")
    lines.append("")
    budget = mixed_study.BUDGETS[0]
    for model in ("minilm", "vit_digits"):
        policy = results.get(f"{model}_mixed_sensitive_{budget:g}_bits_policy")
        if policy is not None:
            lines.append(f"Within {budget:g} bits per weight, {model}: `{policy}`.  ")
    return "\n".join(lines) + "\n"


def formats_table(results):
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


def plot_mixed(results, path):
    """Accuracy against average bits per weight, a point per policy and model."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for axis, (model, figure_key, label) in zip(axes, (
            ("minilm", "mean_cos", "all-MiniLM-L6-v2: mean cosine to float"),
            ("vit_digits", "top1", "ViT on 8x8 digits: test top-1"))):
        for row, meaning in mixed_study.ROWS.items():
            if row.startswith("sensitive"):
                continue
            axis.scatter(results[f"{model}_mixed_{row}_bits_per_weight"],
                         results[f"{model}_mixed_{row}_{figure_key}"], label=meaning)
        sensitive = [row for row in mixed_study.ROWS if row.startswith("sensitive")]
        axis.plot([results[f"{model}_mixed_{row}_bits_per_weight"] for row in sensitive],
                  [results[f"{model}_mixed_{row}_{figure_key}"] for row in sensitive],
                  marker="o", color="black", label="most sensitive in INT8, by budget")
        axis.axvline(mixed_study.BUDGETS[0], color="gray", linewidth=0.8, linestyle="--")
        axis.set_xlabel("average bits per weight")
        axis.set_title(label)
        axis.legend(loc="lower right", fontsize=7)
    figure.suptitle("Mixed precision: INT4-VSQ and INT8 per matmul, every matmul on the "
                    "array's arithmetic")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.accuracy",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, metavar="DIR")
    parser.add_argument("--no-training", action="store_true",
                        help="evaluate the saved ViT weights instead of training again")
    parser.add_argument("--only", choices=("formats", "mixed"),
                        help="run one part and keep the other's figures from accuracy.json")
    args = parser.parse_args(argv)
    stored = args.out / "accuracy.json"
    results = json.loads(stored.read_text()) if args.only and stored.exists() else {}
    if args.only in (None, "formats"):
        results.update({**encoder_study.run(),
                        **vision_study.run(retrain=not args.no_training)})
    if args.only in (None, "mixed"):
        results.update(mixed_study.run())
    args.out.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "accuracy.md").write_text(table(results))
    plot(results, args.out / "accuracy.png")
    plot_mixed(results, args.out / "accuracy_mixed.png")
    print(table(results))
    print(f"written: {stored}, accuracy.md, accuracy.png, accuracy_mixed.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
