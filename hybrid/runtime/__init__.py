"""Torch-free inference for saved taggers: the network on ONNX Runtime, Viterbi in numpy.

- `OnnxTagger`, `load_onnx_tagger`: tag like a loaded `Tagger` (k = 1), without importing torch.
- `unsupported`, `onnxruntime_available`: whether a model and k can run here (else use torch).
"""

from hybrid.runtime.tagger import OnnxTagger, load_onnx_tagger, onnxruntime_available, unsupported

__all__ = ["OnnxTagger", "load_onnx_tagger", "onnxruntime_available", "unsupported"]
