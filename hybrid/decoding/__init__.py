"""Decoding for generators: greedy, sampling (temperature, top-k) and beam search."""

from hybrid.decoding.beam import beam_search
from hybrid.decoding.search import Generated, greedy, sample

__all__ = ["Generated", "beam_search", "greedy", "sample"]
