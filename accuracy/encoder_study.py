"""Part 1 of the study: the pretrained sentence encoder in every format, its linear
layers alone through the integer path, then its attention matmuls too, in the tile
program's dataflow (exponentials, P V, then each row times its reciprocal) and, for
comparison, through normalized Q0.7 probabilities; on the study's sentences, on long
passages (several hundred tokens) and with the attention scores scaled up so that the
logits reach the range of pretrained vision transformers."""

import dataclasses

import numpy as np

from vsq_accel.accuracy.arithmetic import (EXPONENTIALS, FORMATS, PROBABILITIES, FloatArithmetic,
                                           IntegerArithmetic)
from vsq_accel.accuracy.minilm import MiniLM
from vsq_accel.accuracy.sentences import DOCSTRINGS, PARAPHRASES

__all__ = ["run", "similarity_metrics", "long_passages"]

# Scores times 8: MiniLM's base-2 logits, up to about 50, reach about 400.
SCORE_SCALE = 8.0
# The long passages and the scaled scores run in these formats.
FOCUS = ("int4_vsq8", "int8")


def long_passages(model, sentences=DOCSTRINGS, count=6, min_tokens=256):
    """`count` passages of at least min_tokens tokens: consecutive sentences joined,
    each passage starting further into the list (wrapping around)."""
    passages = []
    for index in range(count):
        start, words = index * len(sentences) // count, []
        while len(model.tokens(" ".join(words))) < min_tokens:
            words.append(sentences[(start + len(words)) % len(sentences)])
        passages.append(" ".join(words))
    return passages


def run(sentences=DOCSTRINGS, pairs=PARAPHRASES, formats=FORMATS, passages=None):
    """Flat figures minilm[_long|_scaled]_<format>[_attn|_attn_q07|_attn_w8]_<metric>; see
    `similarity_metrics` (the long and scaled sets report mean and min cosine)."""
    model = MiniLM()
    texts = list(sentences) + [text for pair in pairs for text in pair]
    reference = model.embed(texts, FloatArithmetic())
    results = {"minilm_sentences": len(sentences), "minilm_paraphrase_pairs": len(pairs)}
    results.update(_prefixed("minilm_float", similarity_metrics(reference, reference,
                                                                len(pairs))))
    relu = model.embed(texts, FloatArithmetic(), activation=lambda x: np.maximum(x, 0.0))
    results.update(_prefixed("minilm_float_relu_untrained",
                             similarity_metrics(relu, reference, len(pairs))))
    variants = (("", False, EXPONENTIALS), ("_attn", True, EXPONENTIALS),
                ("_attn_q07", True, PROBABILITIES))
    for name, config in formats.items():
        for suffix, attention, dataflow in variants:
            embeddings = model.embed(texts, IntegerArithmetic(config, attention, dataflow))
            results.update(_prefixed(f"minilm_{name}{suffix}",
                                     similarity_metrics(embeddings, reference, len(pairs))))
    passages = long_passages(model) if passages is None else passages
    results["minilm_long_passages"] = len(passages)
    results["minilm_long_min_tokens"] = min(len(model.tokens(text)) for text in passages)
    long_reference = model.embed(passages, FloatArithmetic())
    scaled_reference = model.embed(texts, FloatArithmetic(SCORE_SCALE))
    for name in FOCUS:
        config = formats[name]
        for suffix, dataflow in (("_attn", EXPONENTIALS), ("_attn_q07", PROBABILITIES)):
            embeddings = model.embed(passages, IntegerArithmetic(config, True, dataflow))
            results.update(_prefixed(f"minilm_long_{name}{suffix}",
                                     _cosines(embeddings, long_reference)))
        narrow = dataclasses.replace(config, softmax_logit_bits=8)
        for suffix, arithmetic in (
                ("_attn", IntegerArithmetic(config, True, score_scale=SCORE_SCALE)),
                ("_attn_w8", IntegerArithmetic(narrow, True, score_scale=SCORE_SCALE))):
            results.update(_prefixed(f"minilm_scaled_{name}{suffix}",
                                     _cosines(model.embed(texts, arithmetic), scaled_reference)))
    return results


def _cosines(embeddings, reference):
    cosines = np.sum(embeddings * reference, axis=1)
    return {"mean_cos": float(cosines.mean()), "min_cos": float(cosines.min())}


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
