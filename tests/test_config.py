"""harness.config: which file is read, and what it may hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import KEYS, load_config
from harness.errors import InputError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_is_an_empty_configuration(tmp_path):
    config = load_config(cwd=tmp_path)
    assert config.path is None and config.for_command("deploy-test") == {}


def test_ava_harness_toml_wins_over_pyproject(tmp_path):
    _write(tmp_path / "pyproject.toml", "[tool.ava-harness]\niterations = 7\n")
    assert load_config(cwd=tmp_path).for_command(None) == {"iterations": 7}
    _write(tmp_path / "ava-harness.toml", "iterations = 9\n")
    config = load_config(cwd=tmp_path)
    assert config.path == tmp_path / "ava-harness.toml" and config.for_command(None) == {"iterations": 9}


def test_a_pyproject_without_the_table_is_no_configuration(tmp_path):
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(cwd=tmp_path).path is None


def test_explicit_file_wins_and_must_exist(tmp_path):
    _write(tmp_path / "ava-harness.toml", "iterations = 9\n")
    other = _write(tmp_path / "other.toml", "iterations = 3\n")
    assert load_config(other, cwd=tmp_path).for_command(None) == {"iterations": 3}
    with pytest.raises(InputError, match=r"--config .*missing\.toml: no such file"):
        load_config(tmp_path / "missing.toml", cwd=tmp_path)


def test_command_tables_win_over_the_top_level(tmp_path):
    path = _write(
        tmp_path / "c.toml",
        'device = "virtual"\nmin-parity-cosine = 1\n[lab]\ndevice = ["a", "b"]\n[deploy-test]\niterations = 4\n',
    )
    config = load_config(path)
    assert config.for_command("lab") == {"device": ["a", "b"], "min-parity-cosine": 1.0}
    assert config.for_command("deploy-test") == {"device": ["virtual"], "min-parity-cosine": 1.0, "iterations": 4}
    assert isinstance(config.for_command(None)["min-parity-cosine"], float)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("min_parity_cosine = 0.9\n", ("unknown key 'min_parity_cosine'", "min-parity-cosine")),
        ("[lab]\nbogus = 1\n", ("unknown key 'lab.bogus'",)),
        ('iterations = "many"\n', ("iterations = 'many': expected a whole number",)),
        ("gate-latency-on-emulators = 1\n", ("gate-latency-on-emulators = 1: expected true or false",)),
        ("min-parity-cosine = true\n", ("min-parity-cosine = True: expected a number",)),
        ("models = [1, 2]\n", ("models = [1, 2]: expected a list of strings",)),
        ("lab = 3\n", ("lab must be a table",)),
        ("iterations = \n", ("not valid TOML",)),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, text, needles):
    path = _write(tmp_path / "bad.toml", text)
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for needle in needles:
        assert needle in message


def test_pyproject_keys_are_named_with_their_table(tmp_path):
    _write(tmp_path / "pyproject.toml", "[tool.ava-harness]\nthreads = true\n")
    with pytest.raises(InputError, match=r"tool\.ava-harness\.threads = True: expected a whole number"):
        load_config(cwd=tmp_path)


def test_every_key_has_a_type():
    assert set(KEYS.values()) <= {list, str, int, float, bool}
