"""The evaluation sets a recipe's data preparation made: ``data/eval_sets.json``, read by stage 5.

Stage 1 lists the clean test set (condition ``clean``) and any VOiCES sets; stage 2 lists the noisy copies
it made (``<noise>_<snr>``). Each writer replaces only its own entries, so re-running stage 2 with other
SNRs changes exactly what stage 5 then embeds and scores, and a condition no module knows in advance is
scored and reported like any other. Paths are stored relative to the data directory, so a data
directory can be moved whole.

    {"prepare_data": [{"condition": "clean", "data": "test", "trials": "test/trials"}, ...],
     "make_noisy_sets": [{"condition": "babble_0", "data": "test_babble_0", "trials": "test_babble_0/trials"}, ...]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from diffsv.utils.fileio import atomic_open

MANIFEST = "eval_sets.json"


class EvalSetsError(ValueError):
    """The manifest is missing, unreadable or inconsistent; the message names the file."""


@dataclass(frozen=True)
class EvalSet:
    """One evaluated condition: its data directory and its trial list."""

    condition: str
    data: Path
    trials: Path

    @property
    def name(self) -> str:
        """The set's name in an experiment (``embeddings/<name>/``): its data directory's."""
        return self.data.name


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path.resolve(), root.resolve())


def write_eval_sets(data_root: Path, writer: str, sets: Sequence[EvalSet]) -> None:
    """Replace ``writer``'s entries in ``data_root``'s manifest with ``sets`` (atomically; not at all when
    they are already those)."""
    path = data_root / MANIFEST
    entries = _read(path) if path.exists() else {}
    entries[writer] = [
        {"condition": s.condition, "data": _relative(s.data, data_root), "trials": _relative(s.trials, data_root)}
        for s in sets
    ]
    text = json.dumps(entries, indent=1)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return  # unchanged: a re-run writes nothing
    with atomic_open(path) as handle:
        handle.write(text)


def _read(path: Path) -> dict[str, list[dict[str, str]]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise EvalSetsError(f"{path}: not valid JSON ({exc}); re-run stages 1 and 2 to rewrite it") from None
    if not isinstance(entries, dict) or not all(isinstance(v, list) for v in entries.values()):
        raise EvalSetsError(f"{path}: expected an object of lists of sets; re-run stages 1 and 2 to rewrite it")
    return entries


def read_eval_sets(data_root: Path) -> list[EvalSet]:
    """Every listed set, in the order written; each condition once, each data directory and trial list present."""
    path = data_root / MANIFEST
    if not path.is_file():
        raise EvalSetsError(f"{path}: no list of evaluation sets; run stage 1 (and stage 2 for the noisy sets)")
    sets: list[EvalSet] = []
    seen: dict[str, str] = {}
    for writer, entries in _read(path).items():
        for entry in entries:
            try:
                found = EvalSet(entry["condition"], data_root / entry["data"], data_root / entry["trials"])
            except (KeyError, TypeError):
                raise EvalSetsError(f"{path}: {writer}: an entry needs condition, data and trials: {entry}") from None
            if found.condition in seen:
                first = seen[found.condition]
                raise EvalSetsError(f"{path}: condition '{found.condition}' is listed by both {first} and {writer}")
            for kind, listed in (("data directory", found.data), ("trial list", found.trials)):
                if not listed.exists():
                    raise EvalSetsError(f"{path}: {found.condition}: {kind} {listed} is missing; re-run {writer}")
            seen[found.condition] = writer
            sets.append(found)
    return sets
