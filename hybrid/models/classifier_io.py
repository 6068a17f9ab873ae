"""Save and load sequence classifiers as a model directory (format "hybrid-classifier")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybrid.config import ClassifierConfig
from hybrid.models.classifier import ClassifierVocabs, SequenceClassifier
from hybrid.models.directory import read_model_config
from hybrid.models.registry import CLASSIFIER
from hybrid.models.storage import load_model_directory, write_model_directory

FORMAT, FORMAT_VERSION = CLASSIFIER.format, 1


def save_classifier(model: SequenceClassifier, directory: str | Path, config: ClassifierConfig | None = None,
                    training: dict[str, Any] | None = None) -> Path:
    """Write the classifier to `directory` atomically; `load_classifier` gives identical outputs."""
    config = config or ClassifierConfig(model=model.config)
    return write_model_directory(directory, FORMAT, FORMAT_VERSION, config, model.vocabs.to_dict(),
                                 model.state_dict(), training)


def save_classifier_as_is(model: SequenceClassifier, directory: str | Path,
                          training: dict[str, Any] | None = None) -> Path:
    """`hybrid.save_model` for classifiers."""
    return save_classifier(model, directory, None, training)


def read_classifier_config(directory: str | Path) -> ClassifierConfig:
    return read_model_config(directory, FORMAT, FORMAT_VERSION, ClassifierConfig)


def load_classifier(directory: str | Path) -> SequenceClassifier:
    """Rebuild a saved classifier, in eval mode."""
    return load_model_directory(directory, FORMAT, FORMAT_VERSION, ClassifierConfig, ClassifierVocabs.from_dict,
                                lambda config, vocabs: SequenceClassifier(config.model, vocabs))
