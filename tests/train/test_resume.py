"""Every trainer resumes exactly: a run killed right after its first checkpoint, then resumed,
ends with the same weights, evaluation records and step records as an uninterrupted run.

The kill is simulated where it hurts most: the checkpoint is on disk and the process dies
before anything else (a log record written after the checkpoint is appended, as a real kill
could leave it). The resumed run uses fresh model objects, as a new process would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from hybrid.config import (
    GANConfig,
    GloveConfig,
    LanguageModelConfig,
    ReinforceConfig,
    Seq2SeqConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
    Word2VecConfig,
)
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqVocabs
from hybrid.models.discriminator import Discriminator
from hybrid.models.language_model import LanguageModel
from hybrid.models.language_model_io import TextLanguageModel
from hybrid.train import loop
from hybrid.train.adversarial import adversarial_finetune, discriminator_for
from hybrid.train.glove import train_glove
from hybrid.train.language_model import train_language_model
from hybrid.train.policies import FixedLengthLMPolicy, Seq2SeqPolicy, sample_fixed_length
from hybrid.train.reinforce import reinforce
from hybrid.train.seq2seq import train_seq2seq
from hybrid.train.tagging import train_tagger
from hybrid.train.word2vec import train_word2vec
from tests.seq2seq_tiny import random_pairs, tiny_model
from tests.tiny import tiny_config, write_conll_file

TIMING = ("elapsed_s", "eval_s", "reward_seconds", "step_seconds", "words_per_s", "entries_per_s")
PAIRS = random_pairs(40, seed=0, max_len=4)
VOCABS = Seq2SeqVocabs.build(PAIRS)


def _tagger(out: Path, resume: bool, layer: str = "crf") -> torch.nn.Module:
    data = write_conll_file(out.parent / "train.txt", n=30)
    train_tagger(tiny_config(epochs=2, layer=layer), data, out, resume=resume, progress=False)
    return _model_of(out)


def _ctc(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    from hybrid.config import DataConfig, ModelConfig, TaggerConfig, TrainConfig

    rng = random.Random(0)
    lines = []
    for _ in range(40):
        digits = [rng.choice("123") for _ in range(rng.randint(1, 3))]
        words = [{"1": "one", "2": "two", "3": "three"}[d] for d in digits]
        lines.append(" ".join(words) + "\t" + " ".join(digits))
    (out.parent / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = TaggerConfig(data=DataConfig(format="pairs"),
                          model=ModelConfig(layer="ctc", word_dim=8, hidden_size=8, dropout=0.1),
                          train=TrainConfig(epochs=2, batch_size=8, lr=0.01, dev_fraction=0.2))
    train_tagger(config, out.parent / "pairs.tsv", out, resume=resume, progress=False)
    return _model_of(out)


def _seq2seq(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    model = Seq2SeqModelConfig(src_min_freq=1, tgt_min_freq=1, embedding_dim=8, encoder_hidden=8, decoder_hidden=8,
                               dropout=0.1)
    config = Seq2SeqConfig(model=model, train=Seq2SeqTrainConfig(batch_size=8, epochs=2, ss_start=0.2, ss_end=0.2))
    train_seq2seq(config, PAIRS, PAIRS[:6], out, resume=resume, progress=False)
    return _model_of(out)


def _autoencoder(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    """A denoising autoencoder: the sources' noise must continue where the killed run left it."""
    model = Seq2SeqModelConfig(src_min_freq=1, tgt_min_freq=1, embedding_dim=8, encoder_hidden=8, decoder_hidden=8,
                               dropout=0.1, summary="attention", bottleneck=True)
    train = Seq2SeqTrainConfig(batch_size=8, epochs=2, autoencoder=True, word_dropout=0.2, shuffle_window=2)
    train_seq2seq(Seq2SeqConfig(model=model, train=train), PAIRS, PAIRS[:6], out, resume=resume, progress=False)
    return _model_of(out)


def _letters(corpus: Path) -> Path:
    """200 lines of 12 random letters: raw text for the word-vector trainers."""
    rng = random.Random(0)
    corpus.write_text("\n".join(" ".join(rng.choice("abcdefgh") for _ in range(12)) for _ in range(200)) + "\n",
                      encoding="utf-8")
    return corpus


def _word2vec(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    corpus = _letters(out.parent / "corpus.txt")
    config = Word2VecConfig(dim=6, epochs=2, min_count=1, sample=0.05, chunk_words=600, batch_size=64)
    train_word2vec(config, [corpus], out, resume=resume, progress=False)
    return _model_of(out)


def _glove(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    corpus = _letters(out.parent / "corpus.txt")
    config = GloveConfig(dim=6, epochs=2, min_count=1, window=3, step_entries=8, batch_size=4)
    train_glove(config, [corpus], out, resume=resume, progress=False)
    return _model_of(out)


def _language_model(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    config = LanguageModelConfig(embedding_dim=8, hidden_size=8, dropout=0.1, epochs=2, batch_size=8)
    sentences = [Pair(p.inputs, ()) for p in PAIRS]
    torch.manual_seed(0)
    model = TextLanguageModel.build(config, [p.inputs for p in sentences])
    train_language_model(model, sentences, sentences[:6], out, resume=resume, progress=False)
    return _model_of(out)


def _reinforce(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    policy = Seq2SeqPolicy(tiny_model(VOCABS, 1))
    config = ReinforceConfig(reward="chrf", baseline="mean", samples=2, lr=0.01, batch_size=4, steps=4, eval_every=2,
                             max_length=5, mle_weight=0.5, kl_weight=0.1)
    reinforce(policy, config, PAIRS, PAIRS[:5], out, resume=resume, progress=False)
    return _model_of(out)


def _adversarial(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    policy = Seq2SeqPolicy(tiny_model(VOCABS, 0, scale=2.0))
    torch.manual_seed(0)
    d = discriminator_for(policy, embedding_dim=6, hidden_size=5)
    config = GANConfig(rounds=4, g_steps=2, d_steps=1, d_epochs=1, d_samples=8, batch_size=4, samples=2,
                       pretrain_d_steps=1, eval_every=2, max_length=8, rollouts=2, mle_every=2)
    adversarial_finetune(policy, d, PAIRS, PAIRS[:6], config, out, resume=resume, progress=False)
    return _model_of(out)


def _seqgan(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    torch.manual_seed(3)
    oracle = LanguageModel(7, 8, 8, bos=6).init_normal_(1.0)
    real = list(sample_fixed_length(oracle, 48, 5, generator=torch.Generator().manual_seed(0)))
    torch.manual_seed(2)
    g = LanguageModel(7, 8, 8, bos=6)
    def quality(model: LanguageModel) -> float:
        with torch.no_grad():
            tokens = sample_fixed_length(model, 16, 5, generator=torch.Generator().manual_seed(9))
            return -float(oracle.token_log_probs(tokens).mean())

    policy = FixedLengthLMPolicy(g, 5, quality)
    d = Discriminator(7, embedding_dim=8, hidden_size=8)
    config = GANConfig(rounds=4, rollouts=2, batch_size=8, d_steps=1, d_epochs=1, d_samples=16, pretrain_d_steps=1,
                       eval_every=2, g_lr=1e-2, mle_every=2, baseline="none", max_length=5)
    adversarial_finetune(policy, d, real, [], config, out, resume=resume, progress=False)
    return _model_of(out)


def _classifier(out: Path, resume: bool) -> dict[str, torch.Tensor]:
    from hybrid.config import ClassifierConfig, ClassifierModelConfig, ClassifierTrainConfig
    from hybrid.train.classification import train_classifier
    from tests.classify_tiny import write_labelled

    data = write_labelled(out.parent / "labelled.txt", 60)
    config = ClassifierConfig(model=ClassifierModelConfig(word_dim=8, hidden_size=8, attention_size=4, dropout=0.2),
                              train=ClassifierTrainConfig(epochs=3, batch_size=8, word_dropout=0.2))
    train_classifier(config, data, out, resume=resume, progress=False)
    return _model_of(out)


def _model_of(out: Path) -> dict[str, torch.Tensor]:
    """The final weights of the trainer's model, from the last checkpoint."""
    trainer = torch.load(out / loop.CHECKPOINT, weights_only=True)["trainer"]
    return trainer.get("model", trainer.get("g"))


TRAINERS: dict[str, Callable[[Path, bool], Any]] = {
    "tagger-crf": _tagger, "tagger-hmm": lambda out, resume: _tagger(out, resume, "hmm"), "ctc": _ctc,
    "seq2seq": _seq2seq, "autoencoder": _autoencoder, "word2vec": _word2vec, "glove": _glove,
    "language-model": _language_model,
    "reinforce": _reinforce,
    "adversarial": _adversarial,
    "seqgan-oracle": _seqgan, "classifier": _classifier,
}


def _records(out: Path, name: str) -> list[dict[str, Any]]:
    path = out / name
    if not path.is_file():
        return []
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_a_run_killed_after_its_first_checkpoint_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch, name):
    train = TRAINERS[name]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    straight = train(tmp_path / "a" / "run", False)

    real_save = loop.save_checkpoint
    saved = {"n": 0}

    def save_then_die(path, state):
        real_save(path, state)
        saved["n"] += 1
        if saved["n"] == 1:
            with open(Path(path).parent / loop.LOG, "a", encoding="utf-8") as log:
                log.write(json.dumps({"written": "after the checkpoint"}) + "\n")
            raise KeyboardInterrupt("killed after the first checkpoint")

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b" / "run", False)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    resumed = train(tmp_path / "b" / "run", True)

    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    for log in (loop.LOG, loop.STEP_LOG):
        assert _records(tmp_path / "b" / "run", log) == _records(tmp_path / "a" / "run", log), log
    a = json.loads((tmp_path / "a" / "run" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "run" / "summary.json").read_text())
    for key in ("best_dev", "best_step", "steps_run", "stopped_by"):
        assert a[key] == b[key], key
