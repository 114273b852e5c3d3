"""Part 1 of the study: the pretrained sentence encoder in every format, its linear
layers alone through the integer path, then its attention matmuls too."""

import numpy as np

from accuracy.arithmetic import FORMATS, FloatArithmetic, IntegerArithmetic
from accuracy.minilm import MiniLM
from accuracy.sentences import DOCSTRINGS, PARAPHRASES

__all__ = ["run", "similarity_metrics"]


def run(sentences=DOCSTRINGS, pairs=PARAPHRASES, formats=FORMATS):
    """Flat figures minilm_<format>[_attn]_<metric>; see `similarity_metrics`."""
    model = MiniLM()
    texts = list(sentences) + [text for pair in pairs for text in pair]
    reference = model.embed(texts, FloatArithmetic())
    results = {"minilm_sentences": len(sentences), "minilm_paraphrase_pairs": len(pairs)}
    results.update(_prefixed("minilm_float", similarity_metrics(reference, reference,
                                                                len(pairs))))
    relu = model.embed(texts, FloatArithmetic(), activation=lambda x: np.maximum(x, 0.0))
    results.update(_prefixed("minilm_float_relu_untrained",
                             similarity_metrics(relu, reference, len(pairs))))
    for name, config in formats.items():
        for suffix, attention in (("", False), ("_attn", True)):
            embeddings = model.embed(texts, IntegerArithmetic(config, attention))
            results.update(_prefixed(f"minilm_{name}{suffix}",
                                     similarity_metrics(embeddings, reference, len(pairs))))
    return results


def similarity_metrics(embeddings, reference, pair_count):
    """How far unit-length embeddings (the last 2 * pair_count are paraphrase pairs)
    stray from the float reference: cosine to it per sentence (mean, min), Spearman rank
    correlation of all pairwise similarities with the reference's, and the fraction of
    paraphrases whose nearest other sentence is their partner."""
    cosines = np.sum(embeddings * reference, axis=1)
    similarities = embeddings @ embeddings.T
    upper = np.triu_indices(len(embeddings), k=1)
    spearman = np.corrcoef(_ranks(similarities[upper]),
                           _ranks((reference @ reference.T)[upper]))[0, 1]
    np.fill_diagonal(similarities, -np.inf)
    queries = np.arange(len(embeddings) - 2 * pair_count, len(embeddings))
    partners = queries + np.where(queries % 2 == len(embeddings) % 2, 1, -1)
    top1 = np.mean(np.argmax(similarities[queries], axis=1) == partners)
    return {"mean_cos": float(cosines.mean()), "min_cos": float(cosines.min()),
            "spearman": float(spearman), "paraphrase_top1": float(top1)}


def _ranks(values):
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks


def _prefixed(prefix, figures):
    return {f"{prefix}_{key}": value for key, value in figures.items()}
