"""Word vectors: reading and writing the word2vec and GloVe formats, their evaluation (analogies,
similarity, neighbours), and the pieces of word2vec training (Huffman codes for hierarchical
softmax, subsampling, the negative-sampling noise distribution)."""

from hybrid.embeddings.evaluation import (
    analogy,
    analogy_scores,
    nearest_words,
    read_analogies,
    read_similarity,
    similarity_scores,
)
from hybrid.embeddings.formats import WordVectors, read_vectors, write_vectors
from hybrid.embeddings.huffman import huffman_codes
from hybrid.embeddings.sampling import keep_probabilities, noise_distribution

__all__ = [
    "WordVectors",
    "analogy",
    "analogy_scores",
    "huffman_codes",
    "keep_probabilities",
    "nearest_words",
    "noise_distribution",
    "read_analogies",
    "read_similarity",
    "read_vectors",
    "similarity_scores",
    "write_vectors",
]
