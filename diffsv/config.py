"""Typed, validated YAML configuration.

Every config section is a dataclass; loading checks each key against the dataclass fields, so a
misspelt key fails at once with its dotted name and the YAML line instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names the key (and file:line when known)."""


def _node_to_python(node: yaml.Node, lines: dict[str, int], prefix: str) -> Any:
    """Turn a composed YAML node into Python values, recording the line of every mapping key."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(yaml.safe_load(yaml.serialize(key_node)))
            path = f"{prefix}.{key}" if prefix else key
            if key in out:
                raise ConfigError(f"duplicate key '{path}' (line {key_node.start_mark.line + 1})")
            lines[path] = key_node.start_mark.line + 1
            out[key] = _node_to_python(value_node, lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_node_to_python(v, lines, f"{prefix}[{i}]") for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def read_yaml(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Read a YAML mapping; return it with a map from dotted key to line number."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    lines: dict[str, int] = {}
    if node is None:
        return {}, lines
    try:
        data = _node_to_python(node, lines, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data, lines


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _tagged_members(args: tuple[Any, ...]) -> dict[str, type]:
    """For a union of config dataclasses that each name themselves in a ``type`` field (e.g. the extractors),
    the members by that name, the first being the default; empty for any other union."""
    tags = {}
    for member in (arg for arg in args if arg is not type(None)):
        fields = {f.name: f for f in dataclasses.fields(member)} if dataclasses.is_dataclass(member) else {}
        default = fields["type"].default if "type" in fields else None
        if not isinstance(default, str):
            return {}
        tags[default] = member
    return tags


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check (and, for int->float and list->tuple, convert) one value against a field type."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        tagged = _tagged_members(args)
        if tagged:
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}': expected a mapping, got {value!r}")
            name = value.get("type", next(iter(tagged)))
            if not isinstance(name, str) or name not in tagged:  # a list or mapping is no name (nor hashable)
                raise ConfigError(f"'{key}.type': {name!r} is not one of {list(tagged)}")
            return _build(tagged[name], value, key)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"'{key}': invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"'{key}': {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}': expected a mapping of {_type_name(tp)} fields, got {value!r}")
        return _build(tp, value, key)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{key}': expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"'{key}': expected {len(args)} values, got {len(value)}")
            items = [_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))]
        else:
            item_tp = args[0] if args else Any
            items = [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}': expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{key}': expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{key}': expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}': expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{key}': expected a string, got {value!r}")
        return value
    raise ConfigError(f"'{key}': unsupported field type {tp!r}")


def _build(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown key '{path}' (known keys here: {known})")
        kwargs[key] = _coerce(value, hints[key], path)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        # A section's own check ("steps must be at least 1", "warmup_epochs ... shorter than
        # first_cycle_epochs") is about every key its message names, in the order it names them.
        named = sorted((match.start(), name) for name in fields if (match := re.search(rf"\b{name}\b", str(exc))))
        where = ", ".join(f"'{prefix}.{name}'" if prefix else f"'{name}'" for _, name in named)
        raise ConfigError(f"{where or repr(prefix or cls.__name__)}: {exc}") from exc
    return obj


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a config dataclass from a plain mapping, rejecting unknown keys and wrong types."""
    return _build(cls, data)


def load_config(path: str | Path, cls: type[T]) -> T:
    """Load and validate a YAML file as ``cls``; errors name the key and the line."""
    data, lines = read_yaml(path)
    try:
        return _build(cls, data)
    except ConfigError as exc:
        message = str(exc)
        # The line of the first key the message names that the file sets (a cross-key check may name
        # one that the file leaves at its default).
        line = next((lines[key] for key in re.findall(r"'([^']*)'", message) if key in lines), None)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {message}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (tuples as lists), for writing back to YAML."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)
