"""Sequence classifiers: every pooling ignores padding, attention weights are a distribution over
the real positions, the tiny task is learned, class weights, save/load round trip."""

from __future__ import annotations

import pytest
import torch

from hybrid.config import ClassifierConfig, ClassifierModelConfig, ClassifierTrainConfig
from hybrid.data.labelled import Labelled, read_labelled
from hybrid.models.classifier import ClassifierVocabs, SequenceClassifier
from hybrid.models.classifier_io import load_classifier, save_classifier
from hybrid.train.classification import class_weights, evaluate_classifier, train_classifier
from tests.classify_tiny import write_labelled

POOLINGS = ("last", "mean", "max", "attention")


def _examples(n: int = 12) -> list[Labelled]:
    words = "the a good bad film plot".split()
    return [Labelled(tuple(words[(i + j) % 6] for j in range(1 + i % 5)), "pos" if i % 2 else "neg") for i in range(n)]


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("encoder", ["lstm", "gru", "jordan", "transformer"])
def test_padding_never_changes_a_sentences_logits(pooling, encoder):
    torch.manual_seed(0)
    examples = _examples()
    config = ClassifierModelConfig(word_dim=6, hidden_size=6, heads=2, attention_size=4, pooling=pooling,
                                   encoder=encoder, dropout=0.0, attention_dropout=0.0)
    model = SequenceClassifier(config, ClassifierVocabs.build(examples)).eval()
    ids, mask, _ = model.vocabs.encode(examples)
    batch = model(ids, mask)
    for i, example in enumerate(examples):
        alone_ids, alone_mask, _ = model.vocabs.encode([example])
        torch.testing.assert_close(batch[i], model(alone_ids, alone_mask)[0], rtol=1e-5, atol=1e-6)


def test_attention_weights_are_a_distribution_over_real_positions():
    torch.manual_seed(1)
    examples = _examples()
    model = SequenceClassifier(ClassifierModelConfig(word_dim=6, hidden_size=5, attention_size=4, dropout=0.0),
                               ClassifierVocabs.build(examples)).eval()
    ids, mask, _ = model.vocabs.encode(examples)
    weights = model.attention(model.states(ids, mask), mask)
    assert bool((weights[~mask] == 0).all())
    torch.testing.assert_close(weights.sum(1), torch.ones(len(examples)))
    with pytest.raises(ValueError, match="no attention weights"):
        mean = SequenceClassifier(ClassifierModelConfig(pooling="mean"), model.vocabs)
        mean.attention(mean.states(ids, mask), mask)


def test_weights_saved_under_the_earlier_attention_names_still_load():
    torch.manual_seed(2)
    examples = _examples()
    config = ClassifierModelConfig(word_dim=6, hidden_size=5, attention_size=4, dropout=0.0)
    model = SequenceClassifier(config, ClassifierVocabs.build(examples)).eval()
    earlier = {k.removeprefix("pooling."): v for k, v in model.state_dict().items()}  # attention_in.*, query
    assert "query" in earlier and "attention_in.weight" in earlier
    fresh = SequenceClassifier(config, model.vocabs).eval()
    fresh.load_state_dict(earlier)
    ids, mask, _ = model.vocabs.encode(examples)
    torch.testing.assert_close(fresh(ids, mask), model(ids, mask))


def test_a_checkpoint_with_the_earlier_pooling_names_is_refused_not_misloaded():
    from hybrid.errors import CheckpointError
    from hybrid.train.classification import ClassifierTrainer

    examples = _examples()
    config = ClassifierConfig(model=ClassifierModelConfig(word_dim=6, hidden_size=5, attention_size=4))
    model = SequenceClassifier(config.model, ClassifierVocabs.build(examples))
    trainer = ClassifierTrainer(model, config, examples, examples)
    state = trainer.state_dict()
    state["model"] = {k.removeprefix("pooling."): v for k, v in state["model"].items()}
    with pytest.raises(CheckpointError, match="start over"):
        trainer.load_state_dict(state)


def test_balanced_class_weights():
    examples = [Labelled(("a",), "x")] * 6 + [Labelled(("b",), "y")] * 2
    vocabs = ClassifierVocabs.build(examples)
    torch.testing.assert_close(class_weights(examples, vocabs), torch.tensor([8 / (2 * 6), 8 / (2 * 2)]))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_training_learns_the_cue_word_and_saves_a_model_that_loads_alike(tmp_path, pooling):
    data = write_labelled(tmp_path / "train.txt", 160, labels=("pos", "neg", "mid"))
    config = ClassifierConfig(model=ClassifierModelConfig(word_dim=16, hidden_size=16, attention_size=8,
                                                          pooling=pooling, dropout=0.1),
                              train=ClassifierTrainConfig(epochs=6, batch_size=16, lr=0.01, class_weights="balanced"))
    summary = train_classifier(config, data, tmp_path / "run", progress=False)
    assert summary["best_dev"] >= 90.0, summary["history"]
    model = load_classifier(tmp_path / "run" / "model")
    examples = list(read_labelled(data))
    assert evaluate_classifier(model, examples)["accuracy"] >= 90.0
    save_classifier(model, tmp_path / "copy")
    again = load_classifier(tmp_path / "copy")
    assert again.predict(examples) == model.predict(examples)


def test_word_dropout_changes_what_trains_and_still_learns(tmp_path, monkeypatch):
    """The batches the model sees lose words (never all of a sentence); the cue is still learnt."""
    from hybrid.train import classification

    seen: list[int] = []
    encode = classification.ClassifierVocabs.encode

    def counting(self, examples, *args, **kwargs):
        seen.extend(len(e.tokens) for e in examples)
        return encode(self, examples, *args, **kwargs)

    monkeypatch.setattr(classification.ClassifierVocabs, "encode", counting)
    data = write_labelled(tmp_path / "train.txt", 160)
    config = ClassifierConfig(model=ClassifierModelConfig(word_dim=16, hidden_size=16, attention_size=8, dropout=0.1),
                              train=ClassifierTrainConfig(epochs=6, batch_size=16, lr=0.01, word_dropout=0.3))
    summary = train_classifier(config, data, tmp_path / "run", progress=False)
    assert summary["best_dev"] >= 85.0, summary["history"]
    total = sum(len(e.tokens) for e in read_labelled(data))
    # the words encoded over the run (training batches and evaluations): 5 x total without word dropout
    assert 0 < min(seen) and sum(seen) < 4.4 * total


def test_pretrained_vectors_words_join_the_classifiers_vocabulary_and_survive_save_load(tmp_path):
    from hybrid.train.classification import build_classifier

    train = [Labelled(["Good", "film"], "pos"), Labelled(["bad", "film"], "neg")]
    (tmp_path / "v.txt").write_text("".join(f"{w} {v} {v} {v} {v}\n" for w, v in
                                            (("film", 1), ("superb", 2), ("awful", 3))), encoding="utf-8")
    model = ClassifierModelConfig(word_dim=4, hidden_size=4, embeddings=str(tmp_path / "v.txt"), embeddings_vocab=2)
    classifier = build_classifier(ClassifierConfig(model=model), train)
    words = classifier.vocabs.words
    assert words.tokens[-1] == "superb" and "awful" not in words  # the vectors' first 2 words; film was there
    assert torch.equal(classifier.embedding.table()[words.index("superb")], torch.full((4,), 2.0))
    ids, _, _ = classifier.vocabs.encode([Labelled(["Superb", "film", "awful"], None)], with_labels=False)
    assert ids[0].tolist() == [words.index("superb"), words.index("film"), words.unk_index]
    assert ClassifierVocabs.from_dict(classifier.vocabs.to_dict()) == classifier.vocabs
    plain = build_classifier(ClassifierConfig(model=ClassifierModelConfig(word_dim=4, hidden_size=4)), train).vocabs
    assert plain.encode([Labelled(["GOOD"], None)], with_labels=False)[0][0, 0] == plain.words.unk_index
