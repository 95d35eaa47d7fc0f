"""Property-based tests (hypothesis) of the parsers every stage reads its inputs with: wav.scp, utt2spk,
trials and the YAML config. Well-formed files read back exactly, with each entry's line; any other
bytes are either read or rejected with the parser's own error naming the file, never another exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from training_helpers import tiny_experiment

from diffsv.config import ConfigError, load_config, to_dict
from diffsv.data.kaldi_dir import DataDirError, Trial, read_trials, read_utt2spk, read_wav_scp
from diffsv.training.config import ExperimentConfig

# Kaldi ids: no whitespace of any kind (str.split's notion, which includes \x1c-\x1f and \x85).
ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda text: not any(c.isspace() for c in text)
)
# A specifier is the rest of the line: anything but a line break, spaces included (pipes have them).
specifiers = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1).filter(
    lambda text: text.strip() != ""
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file that every example overwrites (a function-scoped tmp_path would not reset between examples)."""
    return tmp_path_factory.mktemp("parsers") / "input.txt"


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@given(st.dictionaries(ids, specifiers, min_size=1, max_size=20))
def test_wav_scp_reads_back_what_was_written(scratch: Path, table: dict[str, str]) -> None:
    keys = sorted(table)
    path = _write(scratch, "".join(f"{key} {table[key]}\n" for key in keys))
    read = read_wav_scp(path)
    assert list(read) == keys
    for line, key in enumerate(keys, 1):
        assert read[key] == table[key].strip() and read.where(key) == f"{path}:{line}"


@given(st.dictionaries(ids, ids, min_size=1, max_size=20))
def test_utt2spk_reads_back_what_was_written(scratch: Path, table: dict[str, str]) -> None:
    path = _write(scratch, "".join(f"{utt} {table[utt]}\n" for utt in sorted(table)))
    assert dict(read_utt2spk(path)) == table


@given(st.lists(st.tuples(ids, ids, st.booleans()), min_size=1, max_size=20, unique_by=lambda t: t[:2]))
def test_trials_read_back_in_order(scratch: Path, trials: list[tuple[str, str, bool]]) -> None:
    path = _write(scratch, "".join(f"{a} {b} {'target' if t else 'nontarget'}\n" for a, b, t in trials))
    read = read_trials(path)
    assert list(read) == [Trial(a, b, t) for a, b, t in trials]
    assert read.where(len(trials) - 1) == f"{path}:{len(trials)}"


# Bytes near the format: lines of ids, spaces, labels, and the odd troublemaker.
pieces = st.sampled_from(["a", "b", "a1", " ", "  ", "\t", "\n", "\r\n", "target", "nontarget", "\xff", "é", "x y"])
near_format = st.lists(pieces, max_size=30).map(lambda parts: "".join(parts).encode("utf-8", "surrogateescape"))


@given(st.one_of(st.binary(max_size=200), near_format))
def test_any_bytes_are_read_or_rejected_naming_the_file(scratch: Path, data: bytes) -> None:
    path = _write(scratch, data)
    for reader in (read_wav_scp, read_utt2spk, read_trials):
        try:
            reader(path)
        except DataDirError as err:
            assert str(err).startswith(f"{path}:") or str(err).startswith(f"{path} "), err


def _sections(config: dict, prefix: str = "") -> list[tuple[str, dict]]:
    """Every mapping in a config with its dotted path."""
    found = [(prefix, config)]
    for key, value in config.items():
        if isinstance(value, dict):
            found += _sections(value, f"{prefix}.{key}" if prefix else key)
    return found


VALID = to_dict(tiny_experiment())
SECTIONS = _sections(VALID)


def _write_config(path: Path, prefix: str, key: str, value: object) -> Path:
    """The valid config with ``key`` of the section at ``prefix`` set to ``value``, as YAML in ``path``."""
    config = yaml.safe_load(yaml.safe_dump(VALID))
    target = config
    for part in filter(None, prefix.split(".")):
        target = target[part]
    target[key] = value
    return _write(path, yaml.safe_dump(config))


@given(st.sampled_from(SECTIONS), st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=15), st.integers(0, 9))
def test_config_with_an_unknown_key_is_rejected_naming_it(
    scratch: Path, section: tuple[str, dict], key: str, value: int
) -> None:
    prefix, mapping = section
    if key in mapping:
        return
    path = _write_config(scratch, prefix, key, value)
    full = f"{prefix}.{key}" if prefix else key
    try:
        load_config(path, ExperimentConfig)
    except ConfigError as err:
        assert f"unknown key '{full}'" in str(err) and str(err).startswith(str(path))
    else:
        raise AssertionError(f"{full} was accepted")


leaves = [
    (prefix, key) for prefix, mapping in SECTIONS for key, value in mapping.items() if not isinstance(value, dict)
]


@given(
    st.sampled_from(leaves),
    st.one_of(st.text(max_size=8), st.booleans(), st.lists(st.integers(), max_size=3), st.none(), st.floats()),
)
@example(("augmentation", "kinds"), [0])  # fresh draws found these: the error names 'augmentation.kinds[0]' ...
@example(("model.extractor", "type"), [])  # ... and an unhashable type name raised TypeError
def test_config_with_a_wrong_value_is_loaded_or_rejected_naming_the_key(
    scratch: Path, leaf: tuple[str, str], value: object
) -> None:
    prefix, key = leaf
    path = _write_config(scratch, prefix, key, value)
    try:
        load_config(path, ExperimentConfig)
    except ConfigError as err:
        # A wrong type names the key itself, or the key and the element ('key[0]') of a list; a value its
        # section rejects (a range) names the section.
        full = f"{prefix}.{key}" if prefix else key
        assert any(f"'{name}" in str(err) for name in (f"{full}'", f"{full}[", f"{prefix}'")), err
        assert str(err).startswith(str(path))
