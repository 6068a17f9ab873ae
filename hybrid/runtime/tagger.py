"""A saved tagger run by ONNX Runtime and numpy, without torch: the same tags as `Tagger`.

`import torch` takes about 2 s, `import onnxruntime` about 0.2 s: this is what lets
`hybrid tag` answer one sentence quickly from a cold start. The network runs as the ONNX
graphs of `hybrid.runtime.graph` (weights read from model.safetensors, float16 -> float32 as
`load_tagger` does), the structured layer's Viterbi in numpy (`hybrid.runtime.decode`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hybrid.config import ModelConfig, TaggerConfig
from hybrid.data.batching import IndexLists, TaggerVocabs
from hybrid.data.sentence import Sentence
from hybrid.errors import ConfigError, ModelLoadError
from hybrid.models.directory import (
    DECODING_PREFIX,
    default_model_path,
    read_config,
    read_model_files,
)
from hybrid.runtime.decode import emission_potentials, saved_decoding, viterbi
from hybrid.runtime.graph import char_cnn_model, char_lstm_model, sentence_model

CHAR_CACHE_LIMIT = 200_000  # as CharFeatureCache
CHAR_BATCH = 128  # new word forms encoded per run of the char graph
SPREAD = 1.3  # longest / shortest sentence length of a batch, about (see `even_groups`)

TORCH_ONLY_ENCODERS = ("jordan", "transformer")  # encoders with no ONNX graph (yet)
NO_DECODING_TENSORS = ("the model was saved without its decoding tensors (by an older hybrid); "
                       "load and save it again to run it on ONNX Runtime")

Encoded = list[tuple[list[int], IndexLists]]  # (input indices, ids) per length-sorted batch


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported (without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def unsupported(model: ModelConfig, k: int = 1, directory: str | Path | None = None) -> str | None:
    """Why the ONNX runtime cannot tag with this model and k (None: it can); with `directory`,
    also whether its weights carry the decoding tensors the runtime decodes with."""
    if k != 1:
        return "k-best decoding (k > 1) runs on torch"
    if model.layer not in ("crf", "softmax", "hmm"):
        return f"the {model.layer} layer runs on torch"
    if model.encoder in TORCH_ONLY_ENCODERS:
        return f"the {model.encoder} encoder runs on torch"
    if directory is not None and not has_decoding_tensors(Path(directory)):
        return NO_DECODING_TENSORS
    return None


def has_decoding_tensors(directory: Path) -> bool:
    """Whether model.safetensors holds the decoding tensors (reads the header only). A file that
    cannot be read counts as holding them: loading it then reports what is wrong with it."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(directory / "model.safetensors"), framework="numpy") as weights:
            return DECODING_PREFIX + "transitions" in weights.keys()  # noqa: SIM118 (no __contains__)
    except (OSError, SafetensorError):
        return True


def check_sizes(vocabs: TaggerVocabs, state: dict[str, np.ndarray]) -> None:
    """Every vocabulary's size against the rows of the weights it indexes, as torch's
    load_state_dict checks them (ModelLoadError: vocab.json does not belong to these weights)."""
    sizes = {"word_embedding.weight": len(vocabs.words), "projection.bias": len(vocabs.tags),
             "char_encoder.embedding.weight": len(vocabs.chars),
             **{f"feature_embeddings.{i}.weight": len(v) for i, v in enumerate(vocabs.features)}}
    for name, size in sizes.items():
        if name in state and state[name].shape[0] != size:
            raise ModelLoadError(f"vocab.json does not fit the weights: {name} has {state[name].shape[0]} rows "
                                 f"for a vocabulary of {size}")


def even_groups(sentences: Sequence[Sentence], batch_size: int) -> list[list[int]]:
    """Length-sorted groups of at most `batch_size` sentences, none longer than SPREAD x the group's shortest + 2.

    ONNX Runtime's recurrent ops step every row of a batch up to its longest sentence (torch's
    packed sequences do not), so batches of similar lengths waste little work on padding.
    """
    groups: list[list[int]] = []
    group: list[int] = []
    shortest = 0
    for i in sorted(range(len(sentences)), key=lambda i: len(sentences[i].words)):
        n = len(sentences[i].words)
        if group and (len(group) == batch_size or n > SPREAD * shortest + 2):
            groups.append(group)
            group = []
        if not group:
            shortest = n
        group.append(i)
    return [*groups, group] if group else groups


class OnnxTagger:
    """Tags sentences like a loaded `Tagger` in eval mode: `tag`, or `encode` then `predict_encoded`."""

    def __init__(self, config: TaggerConfig, vocabs: TaggerVocabs, state: dict[str, np.ndarray]):
        import onnxruntime as ort

        model = config.model
        reason = unsupported(model)
        if reason is not None:
            raise ConfigError(f"the ONNX runtime cannot run this model: {reason}")
        if DECODING_PREFIX + "transitions" not in state:
            raise ConfigError(f"the ONNX runtime cannot run this model: {NO_DECODING_TENSORS}")
        state = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in state.items()}
        check_sizes(vocabs, state)
        self.vocabs = vocabs
        self.tag_names = vocabs.tags.tokens
        try:
            self.decoding = saved_decoding(state)
            char_model = {"lstm": char_lstm_model, "cnn": char_cnn_model}.get(model.char_encoder)
            char_graph = None if char_model is None else char_model(model, state)
            char_size = {"lstm": 2 * model.char_hidden, "cnn": model.char_hidden}.get(model.char_encoder, 0)
            graph = sentence_model(model, state, len(vocabs.features), char_size)
        except (KeyError, ValueError) as exc:
            raise ModelLoadError(f"weights do not match the configuration: {exc}") from None
        options = ort.SessionOptions()
        # the two sessions take turns: threads spinning idle in one would slow the other (and the reader)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(graph, options, providers=providers)
        self.char_session = (None if char_graph is None
                             else ort.InferenceSession(char_graph, options, providers=providers))
        self.char_lengths = model.char_encoder == "lstm"
        self.char_rows: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, directory: str | Path | None = None) -> OnnxTagger:
        """The tagger saved in `directory` (default: the bundled English UPOS model)."""
        from safetensors.numpy import load_file

        directory = default_model_path() if directory is None else Path(directory)
        config = read_config(directory)
        vocabs, state = read_model_files(directory, load_file)
        try:
            return cls(config, vocabs, state)
        except ModelLoadError as exc:
            raise ModelLoadError(f"{directory}: {exc}") from None

    def char_features(self, forms: list[str]) -> np.ndarray:
        """(U, D_char) char features of `forms`; each new form is encoded once, as `CharFeatureCache`."""
        session = self.char_session
        if session is None:
            raise ConfigError("this model has no character encoder")
        rows = self.char_rows
        if len(rows) > CHAR_CACHE_LIMIT:
            rows.clear()
        # ONNX Runtime's LSTM steps every row up to the longest: encode forms of similar length together
        missing = sorted((form for form in dict.fromkeys(forms) if form not in rows), key=len)
        for start in range(0, len(missing), CHAR_BATCH):
            part = missing[start : start + CHAR_BATCH]
            chars = np.array(self.vocabs.char_ids(part), dtype=np.int64)  # (N, C)
            feeds = {"chars": chars}
            if self.char_lengths:  # a word without characters reads one padding character
                feeds["char_lengths"] = np.maximum((chars != 0).sum(1), 1).astype(np.int32)
            rows.update(zip(part, session.run(None, feeds)[0], strict=True))
        return np.stack([rows[form] for form in forms])

    def scores(self, ids: IndexLists) -> np.ndarray:
        """(B, T, K) the network's tag scores (the torch Tagger's `emissions`)."""
        feeds = {"words": np.array(ids.words, dtype=np.int64), "lengths": np.array(ids.lengths, dtype=np.int32)}
        for i, column in enumerate(ids.features):
            feeds[f"feature{i}"] = np.array(column, dtype=np.int64)
        if self.char_session is not None:
            feeds["char_features"] = self.char_features(ids.forms)
            feeds["char_index"] = np.array(ids.char_index, dtype=np.int64)
        return self.session.run(None, feeds)[0]

    def decode(self, ids: IndexLists) -> tuple[np.ndarray, np.ndarray]:
        """Best tag-id paths (B, T) and their scores (B,)."""
        emissions = emission_potentials(self.decoding, self.scores(ids))
        return viterbi(emissions, np.array(ids.lengths), self.decoding.chain)

    def encode(self, sentences: Sequence[Sentence], batch_size: int = 256) -> Encoded:
        """Length-sorted batches of ids; pure Python, so a reader thread can run it."""
        return [(idx, self.vocabs.index_lists([sentences[i] for i in idx]))
                for idx in even_groups(sentences, batch_size)]

    def predict_encoded(self, encoded: Encoded) -> list[list[tuple[list[str], float]]]:
        """The best (tags, score) of each sentence, in input order, as `predict_encoded` with k = 1."""
        names = self.tag_names
        results: list = [None] * sum(len(idx) for idx, _ in encoded)
        for idx, ids in encoded:
            paths, scores = self.decode(ids)
            paths, scores = paths.tolist(), scores.tolist()
            for row, i in enumerate(idx):
                results[i] = [([names[t] for t in paths[row][: ids.lengths[row]]], scores[row])]
        return results

    def tag(self, sentences: Sequence[Sequence[str] | Sentence], batch_size: int = 256) -> list[list[str]]:
        """One tag list per sentence, given as word lists (or `Sentence`s with the model's feature columns)."""
        items = [s if isinstance(s, Sentence) else Sentence(list(s)) for s in sentences]
        if self.vocabs.features and any(len(s.features) != len(self.vocabs.features) for s in items):
            raise ValueError(
                f"this model reads {len(self.vocabs.features)} feature column(s) besides the words: "
                "pass Sentence objects with `features`"
            )
        return [best[0][0] for best in self.predict_encoded(self.encode(items, batch_size))]


def load_onnx_tagger(directory: str | Path | None = None) -> OnnxTagger:
    """The saved tagger in `directory` (default: the bundled model) on ONNX Runtime, without torch."""
    return OnnxTagger.load(directory)
