"""Validation of a Kaldi data directory: the checks of Kaldi's ``utils/validate_data_dir.sh`` and more.

Format: required files present (wav.scp, utt2spk, spk2utt); every table C-sorted with unique keys, no
empty lines and the right number of columns; utt2spk, wav.scp (or segments), utt2dur and
utt2num_samples cover the same utterances; segments use exactly the recordings of wav.scp, with
0 <= start < end; speaker-prefixed utterance ids; spk2utt exactly the inverse of utt2spk; trials name
known utterances. Audio (optional): every recording readable through
:func:`diffsv.data.audio.read_audio`, holding every sample its header declares, mono, 16 kHz, at least
one analysis frame long, and as long as utt2num_samples, utt2dur and segments say. Every error names the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from diffsv.data.audio import AudioError
from diffsv.data.audio_info import SAMPLE_RATE, AudioInfo, format_problem, probe_many
from diffsv.data.kaldi_dir import (
    DataDir,
    DataDirError,
    Table,
    location,
    read_data_dir,
    read_spk2utt,
    spk2utt_from_utt2spk,
)

REQUIRED_FILES = ("wav.scp", "utt2spk", "spk2utt")
DURATION_TOLERANCE = 0.01
"""Seconds by which utt2dur and segment ends may differ from the audio (they are written rounded)."""


@dataclass(frozen=True)
class Summary:
    utterances: int
    speakers: int


def _check_spk2utt(spk2utt: Table[list[str]], utt2spk: Mapping[str, str]) -> None:
    """spk2utt must be what utils/utt2spk_to_spk2utt.pl makes of utt2spk, line for line."""
    expected = spk2utt_from_utt2spk(utt2spk)
    for spk, utts in spk2utt.items():
        if spk not in expected:
            raise DataDirError(f"{spk2utt.where(spk)}: speaker '{spk}' is not in utt2spk")
        if utts != expected[spk]:
            extra = [utt for utt in utts if utt not in set(expected[spk])]
            missing = [utt for utt in expected[spk] if utt not in set(utts)]
            if extra:
                detail = f"utterance '{extra[0]}' does not belong to this speaker in utt2spk"
            elif missing:
                detail = f"utterance '{missing[0]}' of this speaker in utt2spk is missing"
            else:
                detail = "utterances are not in sorted order or repeat"
            raise DataDirError(f"{spk2utt.where(spk)}: speaker '{spk}': {detail}")
    for utt, spk in utt2spk.items():
        if spk not in spk2utt:
            raise DataDirError(f"{location(utt2spk, 'utt2spk', utt)}: speaker '{spk}' is not in spk2utt")


def _check_lengths(data: DataDir, infos: dict[str, AudioInfo]) -> None:
    """utt2num_samples, utt2dur and segment ends agree with the audio itself."""
    if data.segments is not None:
        for utt, seg in data.segments.items():
            length = infos[seg.recording].duration
            if seg.end > length + DURATION_TOLERANCE:
                where = location(data.segments, "segments", utt)
                raise DataDirError(f"{where}: ends at {seg.end} s, after recording '{seg.recording}' ({length:.3f} s)")
        expected = {  # as read_audio cuts a segment: rounded to samples, clipped to the recording
            utt: min(round(seg.end * SAMPLE_RATE), infos[seg.recording].frames) - round(seg.start * SAMPLE_RATE)
            for utt, seg in data.segments.items()
        }
        slack = 1
    else:
        expected = {utt: infos[utt].frames for utt in data.wav_scp}
        slack = 0
    if data.utt2num_samples is not None:
        for utt, samples in data.utt2num_samples.items():
            if abs(samples - expected[utt]) > slack:
                where = location(data.utt2num_samples, "utt2num_samples", utt)
                raise DataDirError(f"{where}: '{utt}' has {expected[utt]} samples in its audio, not {samples}")
    if data.utt2dur is not None:
        for utt, duration in data.utt2dur.items():
            seconds = expected[utt] / SAMPLE_RATE
            if abs(duration - seconds) > DURATION_TOLERANCE:
                where = location(data.utt2dur, "utt2dur", utt)
                raise DataDirError(f"{where}: '{utt}' lasts {seconds:.4f} s in its audio, not {duration}")


def check_audio(data: DataDir) -> None:
    """Every recording is readable and complete, mono, 16 kHz, at least one analysis frame long, and as long
    as the tables say."""
    recordings = list(data.wav_scp.items())
    infos: dict[str, AudioInfo] = {}
    for (recording, spec), result in zip(recordings, probe_many(spec for _, spec in recordings), strict=True):
        where = location(data.wav_scp, "wav.scp", recording)
        if isinstance(result, AudioError):
            raise DataDirError(f"{where}: recording '{recording}': {result}")
        problem = format_problem(result)
        if problem:
            raise DataDirError(f"{where}: recording '{recording}' ({spec}): {problem}")
        infos[recording] = result
    _check_lengths(data, infos)


def validate_data_dir(path: str | Path, check_audio_files: bool = True) -> Summary:
    """Validate ``path``; raises DataDirError naming the file and line of the first problem."""
    path = Path(path)
    if not path.is_dir():
        raise DataDirError(f"{path}: no such directory")
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            raise DataDirError(f"{path}: missing required file '{name}'")
    data = read_data_dir(path)
    data.check()
    _check_spk2utt(read_spk2utt(path / "spk2utt"), data.utt2spk)
    if check_audio_files:
        check_audio(data)
    return Summary(len(data.utt2spk), data.num_speakers)
