"""Run directories: a previous run is never replaced by accident, and two runs never share one."""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from hybrid.errors import RunDirectoryError
from hybrid.train.rundir import run_directory
from hybrid.train.tagging import train_tagger
from tests.tiny import tiny_config, write_conll_file


def _train(data, out, **kwargs):
    return train_tagger(tiny_config(epochs=1), data, out, progress=False, log=lambda message: None, **kwargs)


def test_a_previous_run_is_refused_unless_resumed_or_overwritten(tmp_path):
    data = write_conll_file(tmp_path / "train.txt", n=20)
    _train(data, tmp_path / "run")
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()}
    model = (tmp_path / "run" / "model" / "model.safetensors").read_bytes()
    with pytest.raises(RunDirectoryError, match="holds a previous run .*--overwrite"):
        _train(data, tmp_path / "run")
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()} == before  # nothing touched
    assert (tmp_path / "run" / "model" / "model.safetensors").read_bytes() == model
    _train(data, tmp_path / "run", resume=True)
    summary = _train(data, tmp_path / "run", overwrite=True)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["history"] == summary["history"]


def test_a_file_where_the_directory_should_be_is_refused(tmp_path):
    (tmp_path / "out").write_text("a file")
    with pytest.raises(RunDirectoryError, match="not a directory"):
        with run_directory(tmp_path / "out"):
            pass
    assert (tmp_path / "out").read_text() == "a file"


def _hold(path, ready):
    with run_directory(path):
        ready.set()
        time.sleep(30)


def test_a_second_run_into_a_live_run_directory_is_refused(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(tmp_path / "run", ready))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(RunDirectoryError, match=f"in use by another run \\(process {holder.pid}\\)"):
            with run_directory(tmp_path / "run"):
                pass
    finally:
        holder.terminate()
        holder.join()
    with run_directory(tmp_path / "run"):  # the lock died with its holder
        pass
