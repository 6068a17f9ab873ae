"""ONNX graphs of a saved tagger's network, built from its config and (numpy) weights.

Two graphs, as the torch Tagger computes them in eval mode (dropout off):
- the char encoder: char ids (N, C) -> word features (N, D_char), run once per new word form;
- the sentence encoder: word ids, feature ids, char features -> tag scores (B, T, K).
Recurrent layers are ONNX's LSTM/GRU/RNN ops with per-sentence `sequence_lens`, which, like
torch's packed sequences, keep padding out of the recurrence and start the backward
direction at each sentence's last real position.
"""

from __future__ import annotations

import numpy as np

from hybrid.config import ModelConfig
from hybrid.runtime import proto
from hybrid.runtime.proto import BOOL, FLOAT, INT32, INT64, node, tensor, value_info

State = dict[str, np.ndarray]


def _reorder(w: np.ndarray, cell: str) -> np.ndarray:
    """Stacked gate rows from torch's order to ONNX's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h."""
    if cell in ("lstm", "peephole"):
        i, f, g, o = np.split(w, 4)
        return np.concatenate([i, o, f, g])
    if cell == "gru":
        r, z, n = np.split(w, 3)
        return np.concatenate([z, r, n])
    return w


def rnn_weights(state: State, prefix: str, cell: str, layer: int, dirs: int) -> dict[str, np.ndarray]:
    """W (dirs, G*H, D), R (dirs, G*H, H), B (dirs, 2*G*H) and, for peepholes, P (dirs, 3H) of one layer."""
    w, r, b, p = [], [], [], []
    for d in range(dirs):
        if cell == "peephole":  # PeepholeLSTM: cells[layer * dirs + d], one bias, peepholes p_i, p_f, p_o
            cell_prefix = f"{prefix}cells.{layer * dirs + d}."
            bias = _reorder(state[cell_prefix + "bias"], cell)
            w.append(_reorder(state[cell_prefix + "weight_ih"], cell))
            r.append(_reorder(state[cell_prefix + "weight_hh"], cell))
            b.append(np.concatenate([bias, np.zeros_like(bias)]))
            p_i, p_f, p_o = state[cell_prefix + "peephole"]
            p.append(np.concatenate([p_i, p_o, p_f]))
            continue
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        w.append(_reorder(state[f"{prefix}weight_ih{suffix}"], cell))
        r.append(_reorder(state[f"{prefix}weight_hh{suffix}"], cell))
        b.append(np.concatenate([_reorder(state[f"{prefix}bias_ih{suffix}"], cell),
                                 _reorder(state[f"{prefix}bias_hh{suffix}"], cell)]))
    weights = {"W": np.stack(w), "R": np.stack(r), "B": np.stack(b)}
    if p:
        weights["P"] = np.stack(p)
    return weights


class _Graph:
    """Nodes and initializers collected while a graph is built; fresh names for intermediates."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.initializers: list[bytes] = []
        self.count = 0

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(tensor(name, array))
        return name

    def op(self, op_type: str, inputs: list[str], outputs: int = 1, **attributes) -> list[str]:
        names = [f"{op_type.lower()}{self.count}_{i}" for i in range(outputs)]
        self.count += 1
        self.nodes.append(node(op_type, inputs, names, **attributes))
        return names

    def recurrent(self, x: str, lengths: str, weights: dict[str, np.ndarray], cell: str, name: str,
                  hidden: int, dirs: int, outputs: int = 1) -> list[str]:
        """The ONNX LSTM/GRU/RNN op over x (T, B, D); its outputs Y (T, dirs, B, H)[, Y_h (dirs, B, H)]."""
        ins = [x, *(self.const(f"{name}.{k}", weights[k]) for k in ("W", "R", "B")), lengths]
        op_type, extra = {"lstm": ("LSTM", {}), "peephole": ("LSTM", {}), "rnn": ("RNN", {}),
                          "gru": ("GRU", {"linear_before_reset": 1})}[cell]  # torch's GRU resets after W_hn h
        if "P" in weights:
            ins += ["", "", self.const(f"{name}.P", weights["P"])]  # no initial_h, initial_c
        direction = "bidirectional" if dirs == 2 else "forward"
        return self.op(op_type, ins, outputs, hidden_size=hidden, direction=direction, **extra)

    def model(self, inputs: list[bytes], output: str, shape: list[int | str], name: str) -> bytes:
        self.nodes.append(node("Identity", [output], [name]))
        return proto.model(self.nodes, inputs, [value_info(name, FLOAT, shape)], self.initializers)


def char_lstm_model(config: ModelConfig, state: State) -> bytes:
    """chars (N, C) int64 and char_lengths (N,) int32 >= 1 -> features (N, 2 * char_hidden).

    The forward and backward final states (the LSTM op's Y_h), as CharLSTMEncoder concatenates them.
    """
    g = _Graph()
    emb = g.const("char_embedding", state["char_encoder.embedding.weight"])
    (x,) = g.op("Gather", [emb, "chars"], axis=0)  # (N, C, char_dim)
    (x,) = g.op("Transpose", [x], perm=[1, 0, 2])  # (C, N, char_dim)
    weights = rnn_weights(state, "char_encoder.lstm.", "lstm", 0, 2)
    _, h = g.recurrent(x, "char_lengths", weights, "lstm", "char_lstm", config.char_hidden, 2, outputs=2)
    (h,) = g.op("Transpose", [h], perm=[1, 0, 2])  # (N, 2, H)
    (h,) = g.op("Reshape", [h, g.const("flat", np.array([0, -1], dtype=np.int64))])  # (N, 2H)
    inputs = [value_info("chars", INT64, ["N", "C"]), value_info("char_lengths", INT32, ["N"])]
    return g.model(inputs, h, ["N", 2 * config.char_hidden], "features")


def char_cnn_model(config: ModelConfig, state: State) -> bytes:
    """chars (N, C) int64 -> features (N, char_hidden): CharCNNEncoder's convolution, max-pooled over real positions."""
    g = _Graph()
    weight = state["char_encoder.conv.weight"]  # (F, char_dim, width)
    width = weight.shape[2]
    real_ids = g.op("Not", g.op("Equal", ["chars", g.const("zero", np.array(0, dtype=np.int64))]))  # (N, C) bool
    (real,) = g.op("Unsqueeze", [real_ids[0], g.const("axis1", np.array([1], dtype=np.int64))])  # (N, 1, C)
    emb = g.const("char_embedding", state["char_encoder.embedding.weight"])
    (x,) = g.op("Gather", [emb, "chars"], axis=0)  # (N, C, char_dim)
    (x,) = g.op("Transpose", [x], perm=[0, 2, 1])  # (N, char_dim, C)
    (x,) = g.op("Mul", [x, g.op("Cast", [real], to=FLOAT)[0]])  # padding characters embed to zeros
    conv = [g.const("conv.weight", weight), g.const("conv.bias", state["char_encoder.conv.bias"])]
    (h,) = g.op("Conv", [x, *conv], pads=[(width - 1) // 2, width // 2])  # (N, F, C)
    (h,) = g.op("Where", [real, h, g.const("neg_inf", np.array(-np.inf, dtype=np.float32))])
    (h,) = g.op("ReduceMax", [h], axes=[2], keepdims=0)  # (N, F)
    (any_real,) = g.op("ReduceMax", [g.op("Cast", [real], to=INT32)[0]], axes=[2], keepdims=0)  # (N, 1)
    (any_real,) = g.op("Cast", [any_real], to=BOOL)
    (h,) = g.op("Where", [any_real, h, g.const("zero_f", np.array(0, dtype=np.float32))])  # no characters: zeros
    return g.model([value_info("chars", INT64, ["N", "C"])], h, ["N", weight.shape[0]], "features")


def sentence_model(config: ModelConfig, state: State, num_features: int, char_size: int) -> bytes:
    """The encoder from ids to tag scores (B, T, K).

    Inputs: words (B, T) int64, feature{i} (B, T) int64, char_features (U, char_size) with
    char_index (B, T) int64 into its rows (when char_size > 0), lengths (B,) int32.
    """
    g = _Graph()
    inputs = [value_info("words", INT64, ["B", "T"]), value_info("lengths", INT32, ["B"])]
    parts = g.op("Gather", [g.const("word_embedding", state["word_embedding.weight"]), "words"], axis=0)
    for i in range(num_features):
        emb = g.const(f"feature_embedding{i}", state[f"feature_embeddings.{i}.weight"])
        parts += g.op("Gather", [emb, f"feature{i}"], axis=0)
        inputs.append(value_info(f"feature{i}", INT64, ["B", "T"]))
    if char_size:
        parts += g.op("Gather", ["char_features", "char_index"], axis=0)
        inputs += [value_info("char_features", FLOAT, ["U", char_size]), value_info("char_index", INT64, ["B", "T"])]
    (x,) = g.op("Concat", parts, axis=2)  # (B, T, D)
    (x,) = g.op("Transpose", [x], perm=[1, 0, 2])  # (T, B, D)
    dirs = 2 if config.bidirectional else 1
    flat = g.const("flat", np.array([0, 0, -1], dtype=np.int64))
    for layer in range(config.num_layers):
        weights = rnn_weights(state, "encoder.rnn.", config.encoder, layer, dirs)
        (y,) = g.recurrent(x, "lengths", weights, config.encoder, f"layer{layer}", config.hidden_size, dirs)
        (y,) = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # (T, B, dirs, H)
        (x,) = g.op("Reshape", [y, flat])  # (T, B, dirs * H)
    (x,) = g.op("MatMul", [x, g.const("projection.weight", state["projection.weight"].T.copy())])  # (T, B, K)
    (x,) = g.op("Add", [x, g.const("projection.bias", state["projection.bias"])])
    (x,) = g.op("Transpose", [x], perm=[1, 0, 2])  # (B, T, K)
    return g.model(inputs, x, ["B", "T", state["projection.bias"].shape[0]], "emissions")
