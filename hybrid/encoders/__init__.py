"""Word and character embeddings and recurrent sentence encoders.

- `RNNEncoder`: Elman RNN / LSTM / GRU / peephole LSTM over (B, T, D) with a (B, T) mask.
- `PeepholeLSTM`, `PeepholeLSTMCell`: the LSTM variant torch lacks.
- `JordanRNN`, `JordanCell`: Jordan's network, whose recurrence is on the previous output.
- `CharLSTMEncoder`, `CharCNNEncoder`, `build_char_encoder`: word features from characters.
- `load_word_vectors`: pretrained word2vec / GloVe vectors for a vocabulary; `vector_words`: their words.
"""

from hybrid.encoders.char import CHAR_ENCODERS, CharCNNEncoder, CharLSTMEncoder, build_char_encoder
from hybrid.encoders.embeddings import load_word_vectors, vector_words
from hybrid.encoders.jordan import JordanCell, JordanRNN
from hybrid.encoders.peephole import PeepholeLSTM, PeepholeLSTMCell
from hybrid.encoders.rnn import CELLS, RNNEncoder

__all__ = [
    "CELLS",
    "CHAR_ENCODERS",
    "CharCNNEncoder",
    "CharLSTMEncoder",
    "JordanCell",
    "JordanRNN",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "RNNEncoder",
    "build_char_encoder",
    "load_word_vectors",
    "vector_words",
]
