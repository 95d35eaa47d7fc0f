"""The YAML config loader rejects what it does not know, naming the key and the line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from diffsv.config import ConfigError, from_dict, load_config, to_dict
from diffsv.training.config import ExperimentConfig


@dataclass
class Inner:
    rate: float = 0.1
    sizes: tuple[int, ...] = (1, 2)
    pair: tuple[int, str] = (1, "a")


@dataclass
class Outer:
    name: str = "x"
    kind: Literal["a", "b"] = "a"
    count: int = 3
    enabled: bool = False
    path: str | None = None
    inner: Inner = field(default_factory=Inner)


def write(tmp_path, text):
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    return path


def test_values_are_checked_and_converted(tmp_path):
    config = load_config(write(tmp_path, "count: 5\nenabled: true\ninner:\n  rate: 1\n  sizes: [3, 4, 5]\n"), Outer)
    assert config.count == 5 and config.enabled is True
    assert config.inner.rate == 1.0 and isinstance(config.inner.rate, float)
    assert config.inner.sizes == (3, 4, 5)
    assert config.path is None and config.kind == "a"


def test_round_trip_through_a_plain_dict():
    config = Outer(name="y", inner=Inner(sizes=(7,)))
    assert from_dict(Outer, to_dict(config)) == config


@pytest.mark.parametrize(
    "text, message",
    [
        ("cont: 5\n", r"conf.yaml:1: unknown key 'cont'"),
        ("name: x\ninner:\n  rat: 0.2\n", r"conf.yaml:3: unknown key 'inner.rat'"),
        ("count: 2.5\n", r"conf.yaml:1: 'count': expected an integer"),
        ("count: true\n", r"'count': expected an integer"),
        ("enabled: yes please\n", r"'enabled': expected true or false"),
        ("kind: c\n", r"'kind': 'c' is not one of \['a', 'b'\]"),
        ("inner: 3\n", r"'inner': expected a mapping"),
        ("inner:\n  pair: [1]\n", r"'inner.pair': expected 2 values"),
        ("inner:\n  sizes: [1, x]\n", r"'inner.sizes\[1\]': expected an integer"),
        ("count: 1\ncount: 2\n", r"duplicate key 'count' \(line 2\)"),
        ("- 1\n- 2\n", r"top level must be a mapping"),
        ("count: [1\n", r"invalid YAML"),
    ],
)
def test_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), Outer)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml", Outer)


def test_empty_file_gives_defaults(tmp_path):
    assert load_config(write(tmp_path, ""), Outer) == Outer()


def test_a_section_check_names_the_key_and_its_line(tmp_path):
    text = "model:\n  diffusion:\n    steps: 0\ntraining:\n  grad_accumulation: 0\n"
    with pytest.raises(ConfigError, match=r"conf.yaml:3: 'model.diffusion.steps': steps must be at least 1"):
        load_config(write(tmp_path, text), ExperimentConfig)
    with pytest.raises(ConfigError, match=r"conf.yaml:5: 'training.grad_accumulation': grad_accumulation must be"):
        load_config(write(tmp_path, text.replace("steps: 0", "steps: 2")), ExperimentConfig)


def test_a_cross_key_check_names_both_keys_and_the_line_of_the_one_set(tmp_path):
    """``first_cycle_epochs: 0`` breaks a check that also involves warmup_epochs (left at its default)."""
    text = "scheduler:\n  base_lr: 1.0e-07\n  first_cycle_epochs: 0.0\n"
    expected = r"conf.yaml:3: 'scheduler.warmup_epochs', 'scheduler.first_cycle_epochs': warmup_epochs \(1.0\)"
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text), ExperimentConfig)
