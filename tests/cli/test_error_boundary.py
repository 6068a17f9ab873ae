"""The CLI's one error boundary: unexpected errors are one line (--debug shows the traceback),
bad devices are usage errors, and a closed output pipe ends quietly with status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import hybrid.models.directory
from cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_an_unexpected_error_is_one_line_and_debug_shows_it(monkeypatch):
    monkeypatch.setattr(hybrid.models.directory, "read_config", _boom)
    result = CliRunner().invoke(cli, ["tag"], input="the cat\n")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == ["Error: unexpected RuntimeError: boom (rerun with --debug to see "
                                                  "where it came from)"]
    result = CliRunner().invoke(cli, ["--debug", "tag"], input="the cat\n")
    assert isinstance(result.exception, RuntimeError)  # raised through: click prints its traceback


@pytest.mark.parametrize(("device", "message"), [("bogus", "is not a torch device"), ("cuda:7", "cuda:7")])
def test_a_device_that_is_not_here_is_a_usage_error(tmp_path, device, message):
    result = CliRunner().invoke(cli, ["train", "--train", __file__, "--out", str(tmp_path / "x"), "--device", device])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_a_closed_pipe_ends_quietly_with_status_0(tmp_path):
    text = tmp_path / "many.txt"
    text.write_text("the quick brown fox jumps over the lazy dog .\n" * 20000, encoding="utf-8")
    shell = f"{sys.executable} -m cli.main tag {text} | head -n 1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", shell], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the\tDET\n" and result.stderr == ""


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux's /proc")
def test_an_unwritable_output_names_the_file():
    result = CliRunner().invoke(cli, ["tag", "-o", "/proc/version"], input="the cat\n")  # even root cannot
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: /proc/version: cannot write here")
    assert len(result.output.strip().splitlines()) == 1
