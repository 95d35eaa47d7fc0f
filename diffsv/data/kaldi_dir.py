"""Kaldi data directories: strict readers whose errors say ``path:line: what is wrong``, and an atomic writer.

A data directory is a set of text tables keyed by utterance id (``wav.scp``, ``utt2spk``, ``spk2utt``,
``utt2dur``, ``utt2num_samples``, optionally ``segments`` and ``trials``). Kaldi's rules, which every
tool downstream relies on and which :meth:`DataDir.check` enforces:

- every table is sorted in C collation (byte order, what ``LC_ALL=C sort`` gives) with unique keys;
  Python's ``str`` order is the same as the byte order of the UTF-8 encoding, so ``sorted()`` suffices;
- utterance ids start with their speaker id, so that sorting by utterance keeps each speaker's
  utterances together and ``utt2spk`` and ``spk2utt`` can both be sorted;
- ``spk2utt`` is exactly ``utils/utt2spk_to_spk2utt.pl utt2spk``;
- with ``segments``, wav.scp is keyed by recording and lists exactly the recordings the segments use;
- ``trials`` (``utt1 utt2 target|nontarget``) keep the order of the published list: they are not sorted;
  more lists over the same utterances are ``trials_<name>`` (VoxCeleb1-E and -H share one directory).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from diffsv.data.audio import AudioError, random_cut, read_mono
from diffsv.utils.fileio import atomic_directory

V = TypeVar("V")

TRIAL_LABELS = {"target": True, "nontarget": False}


class DataDirError(ValueError):
    """A data directory (or a list file) breaks the format; the message starts with ``path:line:`` when known."""


@dataclass(frozen=True)
class Segment:
    """One ``segments`` line: the utterance is ``recording`` from ``start`` to ``end`` seconds."""

    recording: str
    start: float
    end: float


@dataclass(frozen=True)
class AudioRef:
    """An utterance's audio: a wav.scp rxspecifier, cut to ``start``..``end`` seconds when segmented.

    ``source`` (``wav.scp:line``, when known) prefixes every error, so that a bad recording is found at once.
    ``num_samples`` (from ``utt2num_samples``, when the directory has it) lets a random window be drawn
    before reading, so that only the window is read.
    """

    rxspecifier: str
    start: float | None = None
    end: float | None = None
    source: str | None = None
    num_samples: int | None = None

    def read(self, sample_rate: int, min_samples: int = 1, window: tuple[int, int] | None = None) -> np.ndarray:
        try:
            return read_mono(self.rxspecifier, sample_rate, self.start, self.end, min_samples, window)
        except AudioError as err:
            if self.source is None:
                raise
            raise AudioError(f"{self.source}: {err}") from err

    def random_window(
        self,
        sample_rate: int,
        length: int,
        rng: np.random.Generator,
        extend: Callable[[np.ndarray, int], np.ndarray],
        min_samples: int = 1,
    ) -> np.ndarray:
        """``length`` samples from offset ``rng.integers(0, n - length + 1)``, where ``n`` is the length of the
        audio made at least ``length`` long by ``extend(samples, length)``. Audio known to be long enough is
        not extended, so only the window is read; the draw, and so the window, are the same either way."""
        if self.num_samples is not None and self.num_samples >= length:
            offset = int(rng.integers(0, self.num_samples - length + 1))
            return self.read(sample_rate, min_samples, window=(offset, length))
        return random_cut(extend(self.read(sample_rate, min_samples), length), length, rng)


class AudioRefs(Sequence[AudioRef]):
    """Many utterances' :class:`AudioRef`, packed into a few numpy arrays; each is made when it is indexed.

    A training loader indexes a million utterances from forked worker processes. A list of AudioRef objects
    would be copied into every worker page by page, because reading a Python object writes to it (its
    reference count) and a garbage collection writes to every object it tracks; an array's data is one block
    that indexing only reads, so the workers share it (``bench/loader_memory.py`` measures both).
    """

    def __init__(
        self,
        rxspecifiers: Sequence[str],
        segments: np.ndarray | None = None,
        source_file: str | None = None,
        source_lines: np.ndarray | None = None,
        num_samples: np.ndarray | None = None,
    ) -> None:
        """``segments``: (start, end) seconds per ref, or None (whole recordings); ``source_lines``: each ref's
        line in ``source_file``, or None (no source, as for a directory built in memory); ``num_samples``:
        per ref, or None."""
        encoded = [spec.encode("utf-8") for spec in rxspecifiers]
        self._specs = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(spec) for spec in encoded], out=self._offsets[1:])
        self._segments = segments
        self._source_file = source_file
        self._source_lines = source_lines
        self._num_samples = num_samples

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> AudioRef:  # type: ignore[override]  # no slices
        index = range(len(self))[index]
        spec = self._specs[self._offsets[index] : self._offsets[index + 1]].tobytes().decode("utf-8")
        start, end = (None, None) if self._segments is None else self._segments[index].tolist()
        source = None if self._source_lines is None else f"{self._source_file}:{int(self._source_lines[index])}"
        num_samples = None if self._num_samples is None else int(self._num_samples[index])
        return AudioRef(spec, start, end, source, num_samples)


@dataclass(frozen=True)
class Trial:
    utt1: str
    utt2: str
    target: bool | None  # None in an unlabelled list


class Table(Mapping[str, V]):
    """A table read from a file: values by key in file order, and each key's line for error messages."""

    def __init__(self, path: Path, values: dict[str, V], lines: dict[str, int]) -> None:
        self.path = path
        self._values = values
        self.lines = lines

    def __getitem__(self, key: str) -> V:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def where(self, key: str) -> str:
        return f"{self.path}:{self.lines[key]}"


class TrialList(Sequence[Trial]):
    """Trials read from a file, in file order, with each trial's line number."""

    def __init__(self, path: Path, trials: list[Trial], lines: list[int]) -> None:
        self.path = path
        self._trials = trials
        self.lines = lines
        # Columns for scoring and metrics: enrolment and test ids, labels 1 target / 0 non-target (int8;
        # None for an unlabelled list).
        self.enrol = [trial.utt1 for trial in trials]
        self.test = [trial.utt2 for trial in trials]
        labelled = bool(trials) and trials[0].target is not None
        self.labels = np.array([t.target for t in trials], dtype=np.int8) if labelled else None

    def __getitem__(self, index: int) -> Trial:  # type: ignore[override]  # slices work too, untyped
        return self._trials[index]

    def __len__(self) -> int:
        return len(self._trials)

    def where(self, index: int) -> str:
        return f"{self.path}:{self.lines[index]}"


def location(table: object, name: str, key: str | int) -> str:
    """``path:line`` of a key when the table came from a file, else the file name alone (in-memory tables)."""
    return table.where(key) if isinstance(table, (Table, TrialList)) else name


# ---- reading ----------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a file; empty files, empty lines, bad UTF-8 and DOS line endings are errors."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataDirError(f"{path}: cannot read: {exc.strerror}") from None
    if not data:
        raise DataDirError(f"{path}: empty file")
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    for number, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataDirError(f"{path}:{number}: not valid UTF-8") from None
        if "\r" in line:
            raise DataDirError(f"{path}:{number}: carriage return (DOS line ending)")
        if not line.strip():
            raise DataDirError(f"{path}:{number}: empty line")
        if line[0].isspace():
            raise DataDirError(f"{path}:{number}: leading whitespace")
        yield number, line


def _read_table(path: str | Path, key_name: str, parse: Callable[[str], V]) -> Table[V]:
    """Read ``key rest-of-line`` lines that must be C-sorted with unique keys; ``parse`` turns the rest of
    the line into the value and raises ValueError (its message becomes ``path:line: message``)."""
    path = Path(path)
    values: dict[str, V] = {}
    lines: dict[str, int] = {}
    previous: str | None = None
    for number, line in _lines(path):
        fields = line.split(None, 1)
        key, rest = fields[0], fields[1].strip() if len(fields) > 1 else ""
        if key in lines:
            raise DataDirError(f"{path}:{number}: duplicate {key_name} '{key}' (first on line {lines[key]})")
        if previous is not None and key < previous:
            raise DataDirError(f"{path}:{number}: not sorted (C collation): '{key}' after '{previous}'")
        try:
            values[key] = parse(rest)
        except ValueError as exc:
            raise DataDirError(f"{path}:{number}: {exc}") from None
        lines[key] = number
        previous = key
    return Table(path, values, lines)


def _columns(rest: str, expected: str) -> list[str]:
    """The fields after the key, which must be as many as the names in ``expected`` after the first."""
    fields = rest.split()
    if len(fields) != len(expected.split()) - 1:
        raise ValueError(f"expected '{expected}', found {len(fields) + 1} columns")
    return fields


def _number(text: str, what: str, kind: type[int] | type[float] = float) -> float:
    """A finite int or float; the ValueError names ``what``."""
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{what} '{text}' is not {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} '{text}' is not finite")
    return value


def _positive(text: str, what: str, kind: type[int] | type[float] = float) -> float:
    value = _number(text, what, kind)
    if value <= 0:
        raise ValueError(f"{what} must be positive, got '{text}'")
    return value


def read_wav_scp(path: str | Path, key_name: str = "utterance id") -> Table[str]:
    """``id rxspecifier``: the rest of the line is the specifier, kept verbatim (pipes contain spaces).

    ``key_name`` words the errors: ids are recordings when the directory has ``segments``.
    """

    def parse(rest: str) -> str:
        if not rest:
            raise ValueError("expected 'id rxspecifier', found only an id")
        return rest

    return _read_table(path, key_name, parse)


def read_utt2spk(path: str | Path) -> Table[str]:
    """``utt spk``."""
    return _read_table(path, "utterance id", lambda rest: _columns(rest, "utt spk")[0])


def read_spk2utt(path: str | Path) -> Table[list[str]]:
    """``spk utt1 utt2 ...``."""

    def parse(rest: str) -> list[str]:
        if not rest:
            raise ValueError("expected 'spk utt1 utt2 ...', found a speaker without utterances")
        return rest.split()

    return _read_table(path, "speaker id", parse)


def read_utt2dur(path: str | Path) -> Table[float]:
    """``utt seconds``, positive."""
    return _read_table(path, "utterance id", lambda rest: _positive(_columns(rest, "utt seconds")[0], "duration"))


def read_utt2num_samples(path: str | Path) -> Table[int]:
    """``utt samples``, a positive integer."""

    def parse(rest: str) -> int:
        return int(_positive(_columns(rest, "utt samples")[0], "sample count", int))

    return _read_table(path, "utterance id", parse)


def read_segments(path: str | Path) -> Table[Segment]:
    """``utt recording start end`` in seconds with 0 <= start < end."""

    def parse(rest: str) -> Segment:
        recording, start_text, end_text = _columns(rest, "utt recording start end")
        start, end = _number(start_text, "start"), _number(end_text, "end")
        if start < 0:
            raise ValueError(f"start {start_text} is negative")
        if end <= start:
            raise ValueError(f"end {end_text} is not after start {start_text}")
        return Segment(recording, start, end)

    return _read_table(path, "utterance id", parse)


def read_trials(path: str | Path, labelled: bool | None = True) -> TrialList:
    """``utt1 utt2 target|nontarget`` in list order (not sorted); a repeated pair is an error.

    ``labelled=None`` also accepts a list without labels (``utt1 utt2``; ``Trial.target`` is None then): its
    first line decides, and every line must have as many columns. The one reader of trial lists: data
    directories, scoring, results and the ``diffsv score`` command all read them here.
    """
    path = Path(path)
    trials: list[Trial] = []
    numbers: list[int] = []
    first: dict[tuple[str, str], int] = {}
    columns = 3 if labelled else None
    for number, line in _lines(path):
        fields = line.split()
        columns = columns or (len(fields) if len(fields) in (2, 3) else 3)
        if len(fields) != columns:
            expected = "utt1 utt2 target|nontarget" if columns == 3 else "utt1 utt2"
            raise DataDirError(f"{path}:{number}: expected '{expected}', found {len(fields)} columns")
        utt1, utt2 = fields[:2]
        label = fields[2] if columns == 3 else None
        if label is not None and label not in TRIAL_LABELS:
            raise DataDirError(f"{path}:{number}: label must be 'target' or 'nontarget', got '{label}'")
        if (utt1, utt2) in first:
            raise DataDirError(f"{path}:{number}: trial '{utt1} {utt2}' repeats line {first[utt1, utt2]}")
        first[utt1, utt2] = number
        trials.append(Trial(utt1, utt2, None if label is None else TRIAL_LABELS[label]))
        numbers.append(number)
    return TrialList(path, trials, numbers)


# ---- rules shared by the writer and the validator ---------------------------------------------


def spk2utt_from_utt2spk(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """Kaldi's ``utt2spk_to_spk2utt.pl``: speakers in order of first appearance in sorted utt2spk."""
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return spk2utt


def _check_ids(table: Mapping[str, object], name: str, what: str) -> None:
    for key in table:
        if not key or any(c.isspace() for c in key):
            raise DataDirError(f"{location(table, name, key)}: {what} {key!r} is empty or contains whitespace")


def _check_same_keys(a: Mapping[str, object], a_name: str, b: Mapping[str, object], b_name: str) -> None:
    """Both tables have the same keys; the first stray key is reported where it appears."""
    for table, name, other_name, other in ((a, a_name, b_name, b), (b, b_name, a_name, a)):
        for key in table:
            if key not in other:
                raise DataDirError(f"{location(table, name, key)}: utterance '{key}' is not in {other_name}")


def _check_speakers(utt2spk: Mapping[str, str]) -> None:
    """Utterance ids start with their speaker id, and utt2spk sorted by utterance is sorted by speaker too
    (each speaker's utterances contiguous, speakers in order), so spk2utt can be sorted like utt2spk."""
    current: str | None = None
    for utt in sorted(utt2spk):
        spk = utt2spk[utt]
        if not utt.startswith(spk):
            raise DataDirError(
                f"{location(utt2spk, 'utt2spk', utt)}: utterance id '{utt}' does not start with its speaker id "
                f"'{spk}' (Kaldi needs speaker-prefixed ids so that utt2spk and spk2utt sort alike)"
            )
        if current is not None and spk < current:
            raise DataDirError(
                f"{location(utt2spk, 'utt2spk', utt)}: utterance '{utt}' of speaker '{spk}' sorts after utterances "
                f"of speaker '{current}', so spk2utt could not be sorted like utt2spk"
            )
        current = spk


# ---- the directory ----------------------------------------------------------------------------


def _format_seconds(value: float) -> str:
    """Seconds to the microsecond (under a sample at 16 kHz), without trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


class Durations(Mapping[str, float]):
    """``utt2dur`` derived from ``utt2num_samples`` at ``sample_rate``, holding no float per utterance."""

    def __init__(self, samples: Mapping[str, int], sample_rate: int) -> None:
        self.samples = samples
        self.sample_rate = sample_rate

    def __getitem__(self, utt: str) -> float:
        return self.samples[utt] / self.sample_rate

    def __iter__(self) -> Iterator[str]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)


@dataclass
class DataDir:
    """Everything a data directory holds. Built in memory by corpus preparation (plain dicts) or read
    from disk by :func:`read_data_dir` (:class:`Table` values, so errors can name the line).

    ``wav_scp`` is keyed by recording when ``segments`` is given, else by utterance.
    """

    wav_scp: Mapping[str, str]
    utt2spk: Mapping[str, str]
    utt2dur: Mapping[str, float] | None = None
    utt2num_samples: Mapping[str, int] | None = None
    segments: Mapping[str, Segment] | None = None
    trials: Sequence[Trial] | None = None
    #: More trial lists over the same utterances (``trials_<name>``): one directory embedded once, scored
    #: by several lists (VoxCeleb1-E and -H).
    extra_trials: Mapping[str, Sequence[Trial]] | None = None

    def trial_lists(self) -> dict[str, Sequence[Trial]]:
        """Every trial list, by file name: ``trials`` and ``trials_<name>``."""
        lists = {} if self.trials is None else {"trials": self.trials}
        return lists | {f"trials_{name}": trials for name, trials in (self.extra_trials or {}).items()}

    @property
    def num_speakers(self) -> int:
        return len(set(self.utt2spk.values()))

    def audio_ref(self, utt: str) -> AudioRef:
        """Where an utterance's samples are: its wav.scp entry, or its segment of a recording."""
        return self.audio_refs([utt])[0]

    def audio_refs(self, utts: Sequence[str]) -> AudioRefs:
        """:meth:`audio_ref` of each of ``utts``, packed into arrays (:class:`AudioRefs`). Errors cite the line
        of ``segments``, or of ``wav.scp`` without it, when the table was read from a file."""
        located = self.wav_scp if self.segments is None else self.segments
        if self.segments is None:
            specs = [self.wav_scp[utt] for utt in utts]
            segments = None
        else:
            cuts = [self.segments[utt] for utt in utts]
            specs = [self.wav_scp[cut.recording] for cut in cuts]
            segments = np.array([(cut.start, cut.end) for cut in cuts], dtype=np.float64).reshape(-1, 2)
        lines = np.array([located.lines[utt] for utt in utts], dtype=np.int64) if isinstance(located, Table) else None
        num_samples = None
        if self.utt2num_samples is not None:
            num_samples = np.array([self.utt2num_samples[utt] for utt in utts], dtype=np.int64)
        return AudioRefs(specs, segments, None if lines is None else str(located.path), lines, num_samples)

    def describe(self) -> str:
        """One summary line: utterances, speakers, and recordings/trials when present."""
        text = f"{len(self.utt2spk)} utterances, {self.num_speakers} speakers"
        if self.segments is not None:
            text += f", {len(self.wav_scp)} recordings"
        for name, trials in self.trial_lists().items():
            text += f", {len(trials)} {name.replace('_', ' ', 1)}"
        return text

    def check(self) -> None:
        """Kaldi's consistency rules (see the module docstring); raises DataDirError at the first problem."""
        if not self.utt2spk:
            raise DataDirError("utt2spk: no utterances")
        _check_ids(self.wav_scp, "wav.scp", "id")
        _check_ids(self.utt2spk, "utt2spk", "utterance id")
        _check_ids({spk: None for spk in self.utt2spk.values()}, "utt2spk", "speaker id")
        if self.segments is not None:
            for utt, segment in self.segments.items():
                if segment.recording not in self.wav_scp:
                    raise DataDirError(
                        f"{location(self.segments, 'segments', utt)}: recording '{segment.recording}' is not in wav.scp"
                    )
                if not 0 <= segment.start < segment.end:
                    raise DataDirError(f"{location(self.segments, 'segments', utt)}: needs 0 <= start < end")
            used = {segment.recording for segment in self.segments.values()}
            for recording in self.wav_scp:
                if recording not in used:  # Kaldi's validate_data_dir.sh wants the same recordings in both
                    raise DataDirError(
                        f"{location(self.wav_scp, 'wav.scp', recording)}: recording '{recording}' has no segments"
                    )
            _check_same_keys(self.segments, "segments", self.utt2spk, "utt2spk")
        else:
            _check_same_keys(self.wav_scp, "wav.scp", self.utt2spk, "utt2spk")
        for table, name in ((self.utt2dur, "utt2dur"), (self.utt2num_samples, "utt2num_samples")):
            if table is not None:
                _check_same_keys(table, name, self.utt2spk, "utt2spk")
                for utt, value in table.items():
                    if not value > 0:
                        raise DataDirError(f"{location(table, name, utt)}: '{utt}' must be positive, got {value}")
        _check_speakers(self.utt2spk)
        for name, trials in self.trial_lists().items():
            if not trials:
                raise DataDirError(f"{name}: no trials")
            for index, trial in enumerate(trials):
                for utt in (trial.utt1, trial.utt2):
                    if utt not in self.utt2spk:
                        raise DataDirError(f"{location(trials, name, index)}: utterance '{utt}' is not in utt2spk")

    def write(self, path: str | Path) -> bool:
        """Check, then write every file C-sorted into ``path``, atomically: a temporary sibling directory
        is filled and swapped in, so ``path`` is either the old directory or the complete new one.

        A directory that already holds exactly these files is left untouched (a re-run changes nothing);
        returns whether anything was written. One file's text is held at a time (VoxCeleb2's wav.scp alone
        is over 100 MB).
        """
        self.check()
        path = Path(path)
        if self._written_in(path):
            return False
        with atomic_directory(path) as tmp:
            for name, text in self._files():
                (tmp / name).write_text(text, encoding="utf-8")
        return True

    def _written_in(self, path: Path) -> bool:
        """Whether ``path`` holds exactly this directory's files (stops at the first difference)."""
        names = set()
        for name, text in self._files():
            if _read_or_none(path / name) != text:
                return False
            names.add(name)
        others = {*DATA_DIR_FILES, *(p.name for p in path.glob("trials_*"))} - names
        return not any((path / name).exists() for name in others)

    def _files(self) -> Iterator[tuple[str, str]]:
        """The name and contents of each of the directory's files, made one at a time."""

        def text(lines: Iterable[str]) -> str:
            return "".join(line + "\n" for line in lines)

        yield "wav.scp", text(f"{key} {self.wav_scp[key]}" for key in sorted(self.wav_scp))
        yield "utt2spk", text(f"{utt} {self.utt2spk[utt]}" for utt in sorted(self.utt2spk))
        spk2utt = spk2utt_from_utt2spk(self.utt2spk)
        yield "spk2utt", text(" ".join([spk, *utts]) for spk, utts in spk2utt.items())
        del spk2utt
        if self.utt2dur is not None:
            durations = self.utt2dur
            yield "utt2dur", text(f"{utt} {_format_seconds(durations[utt])}" for utt in sorted(durations))
        if self.utt2num_samples is not None:
            samples = self.utt2num_samples
            yield "utt2num_samples", text(f"{utt} {samples[utt]}" for utt in sorted(samples))
        if self.segments is not None:
            segments = self.segments
            yield (
                "segments",
                text(
                    f"{utt} {s.recording} {_format_seconds(s.start)} {_format_seconds(s.end)}"
                    for utt, s in sorted(segments.items())
                ),
            )
        labels = {True: "target", False: "nontarget"}
        for name, trials in self.trial_lists().items():
            yield name, text(f"{t.utt1} {t.utt2} {labels[t.target]}" for t in trials)


# Every file DataDir.write may write (and ``trials_<name>``); the others in a directory (split lists,
# features) are not its own.
DATA_DIR_FILES = ("wav.scp", "utt2spk", "spk2utt", "utt2dur", "utt2num_samples", "segments", "trials")


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None


def read_data_dir(path: str | Path) -> DataDir:
    """Read the tables of a data directory (optional ones when present); spk2utt is left to the validator,
    since it is derived from utt2spk."""
    path = Path(path)
    has_segments = (path / "segments").is_file()

    def optional(name: str, reader: Callable[[Path], V]) -> V | None:
        return reader(path / name) if (path / name).is_file() else None

    return DataDir(
        wav_scp=read_wav_scp(path / "wav.scp", "recording id" if has_segments else "utterance id"),
        utt2spk=read_utt2spk(path / "utt2spk"),
        utt2dur=optional("utt2dur", read_utt2dur),
        utt2num_samples=optional("utt2num_samples", read_utt2num_samples),
        segments=optional("segments", read_segments),
        trials=optional("trials", read_trials),
        extra_trials={p.name.removeprefix("trials_"): read_trials(p) for p in sorted(path.glob("trials_*"))} or None,
    )
