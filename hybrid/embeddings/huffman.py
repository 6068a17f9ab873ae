"""The Huffman tree of hierarchical softmax (Morin and Bengio 2005; word2vec): words are leaves,
frequent words near the root, so the expected code length (count-weighted) is minimal.

`huffman_codes(counts)` gives, per word, its code (the branch taken at each inner node from
the root down: 0 or 1) and its path (the inner nodes' ids, 0 .. V-2), the two arrays
hierarchical softmax trains on: P(w) = prod_j sigmoid((1 - 2 code_j) * v_{path_j} . h).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def huffman_codes(counts: Sequence[int]) -> tuple[list[list[int]], list[list[int]]]:
    """(codes, paths) of V >= 2 words with these counts; a word's code and path have one entry
    per inner node between the root and its leaf. Ties break by insertion order (deterministic)."""
    v = len(counts)
    if v < 2:
        raise ValueError(f"a Huffman tree needs at least 2 words, got {v}")
    if any(c < 0 for c in counts):
        raise ValueError("counts must be >= 0")
    heap = [(int(c), i) for i, c in enumerate(counts)]  # nodes: leaves 0..V-1, inner V..2V-2
    heapq.heapify(heap)
    parent = [0] * (2 * v - 1)
    branch = [0] * (2 * v - 1)
    next_node = v
    while len(heap) > 1:
        count_a, a = heapq.heappop(heap)
        count_b, b = heapq.heappop(heap)
        parent[a], parent[b], branch[a], branch[b] = next_node, next_node, 0, 1
        heapq.heappush(heap, (count_a + count_b, next_node))
        next_node += 1
    root = 2 * v - 2
    codes, paths = [], []
    for leaf in range(v):
        code, path, node = [], [], leaf
        while node != root:
            code.append(branch[node])
            node = parent[node]
            path.append(node - v)  # inner node id 0..V-2
        codes.append(code[::-1])
        paths.append(path[::-1])
    return codes, paths
