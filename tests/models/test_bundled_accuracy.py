"""The bundled model's published figure, re-measured on the real test set (needs ../shared/data)."""

from pathlib import Path

import pytest

from hybrid.config import DataConfig
from hybrid.models.io import load_tagger
from hybrid.train.tagging import read_tagged
from hybrid.train.trainer import evaluate

EWT_TEST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ud_ewt" / "en_ewt-ud-test.conllu"


@pytest.mark.slow
@pytest.mark.skipif(not EWT_TEST.is_file(), reason="../shared/data/ud_ewt is not here")
def test_bundled_model_keeps_its_ewt_test_accuracy():
    test = read_tagged(EWT_TEST, DataConfig(format="conllu", word_column="form", tag_column="upos"))
    result = evaluate(load_tagger(), test)
    assert result["tokens"] == 25094
    assert result["accuracy"] >= 95.0
