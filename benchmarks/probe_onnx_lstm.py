"""Probe for a torch-free tagging runtime: ONNX Runtime's LSTM vs torch's packed BiLSTM.

    pip install onnx onnxruntime && python benchmarks/probe_onnx_lstm.py

`import torch` alone takes ~2 s on the project's 2-core machine, more than the cold-start target
of `hybrid tag`; `import onnxruntime` takes ~0.2 s. This builds the ONNX LSTM op (with
per-sentence `sequence_lens`, so padding never enters the recurrence) from a torch BiLSTM's
weights, checks the outputs agree, and times both side by side in one process.
Measured 2026-11-23 (machine shared with other jobs): max difference 3e-7; ORT 53-59k tokens/s,
torch 46-47k tokens/s (B=256, T=12, 200 -> 200 per direction, 2 threads).
"""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def onnx_gates(w: np.ndarray) -> np.ndarray:
    """torch stacks gates i, f, g, o; ONNX wants i, o, f, c."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, g], 0)


def main() -> None:
    b, t, d, h = 256, 12, 200, 200
    lstm = torch.nn.LSTM(d, h, bidirectional=True).eval()
    sd = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    w = np.stack([onnx_gates(sd["weight_ih_l0"]), onnx_gates(sd["weight_ih_l0_reverse"])])
    r = np.stack([onnx_gates(sd["weight_hh_l0"]), onnx_gates(sd["weight_hh_l0_reverse"])])
    bias = np.stack([
        np.concatenate([onnx_gates(sd[f"bias_ih_l0{s}"]), onnx_gates(sd[f"bias_hh_l0{s}"])]) for s in ("", "_reverse")
    ])
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "seq"], ["Y"], hidden_size=h, direction="bidirectional")
    graph = helper.make_graph(
        [node], "bilstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, None, d]),
         helper.make_tensor_value_info("seq", TensorProto.INT32, [None])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a.astype(np.float32), name) for a, name in ((w, "W"), (r, "R"), (bias, "B"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = np.random.randn(t, b, d).astype(np.float32)
    lens = np.random.randint(t - 3, t + 1, b).astype(np.int32)
    lens[0] = t
    y = session.run(None, {"X": x, "seq": lens})[0]  # (T, 2, B, H)

    def torch_run() -> torch.Tensor:
        packed = pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lens).long(), enforce_sorted=False)
        return pad_packed_sequence(lstm(packed)[0])[0]

    with torch.inference_mode():
        ref = torch_run().numpy()
    got = np.concatenate([y[:, 0], y[:, 1]], -1)
    real = np.arange(t)[:, None] < lens[None, :]
    print("max difference at real positions:", float(np.abs((got - ref)[real]).max()))
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(10):
            session.run(None, {"X": x, "seq": lens})
        ort_s = (time.perf_counter() - start) / 10
        with torch.inference_mode():
            start = time.perf_counter()
            for _ in range(10):
                torch_run()
            torch_s = (time.perf_counter() - start) / 10
        print(f"onnxruntime {b * t / ort_s:,.0f} tokens/s   torch {b * t / torch_s:,.0f} tokens/s")


if __name__ == "__main__":
    main()
