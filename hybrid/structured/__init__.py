"""Chain potentials, their dynamic programs, and the structured output layers built on them."""

from hybrid.structured.base import StructuredLayer
from hybrid.structured.chain import (
    ChainPotentials,
    forward_scores,
    kbest,
    log_partition,
    log_prob,
    marginals,
    sample,
    score_paths,
    viterbi,
)
from hybrid.structured.constraints import allowed_transitions, detect_scheme
from hybrid.structured.crf import CRFLayer
from hybrid.structured.ctc import CTCHead, best_path_decode, prefix_beam_decode
from hybrid.structured.hmm import HMMLayer, HMMStatistics, count_statistics
from hybrid.structured.hmm_classic import ClassicHMM
from hybrid.structured.losses import LOSSES, chain_loss, hinge_loss, nll_loss, perceptron_loss
from hybrid.structured.softmax import SoftmaxLayer

__all__ = [
    "ChainPotentials", "StructuredLayer", "CRFLayer", "SoftmaxLayer", "HMMLayer", "ClassicHMM",
    "HMMStatistics", "count_statistics",
    "viterbi", "kbest", "log_partition", "marginals", "sample", "score_paths", "log_prob",
    "forward_scores", "allowed_transitions", "detect_scheme",
    "LOSSES", "chain_loss", "nll_loss", "perceptron_loss", "hinge_loss",
    "CTCHead", "best_path_decode", "prefix_beam_decode",
]
