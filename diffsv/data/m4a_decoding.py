"""m4a to 16 kHz mono 16-bit FLAC or WAV by ffmpeg, each output checked before it takes its final name.

An output is written under a temporary name beside its final one (:func:`diffsv.utils.fileio.atomic_path`)
and renamed only once it passes three checks, so a killed conversion leaves temporaries (which the next
plan removes) and complete outputs, never a half-written file under a final name:

1. ffmpeg's exit status is 0;
2. the output is complete: it holds every sample its header declares (:func:`diffsv.data.audio_info.probe_audio`,
   stage 1's own probe: a FLAC's last sample decodes, a WAV's data chunk is all there), at 16 kHz, mono;
3. its length agrees with the length the m4a declares (:mod:`diffsv.data.mp4_header`, which also refuses a
   file cut short before anything is decoded). AAC codes 1024-sample frames: the encoder primes the
   stream with silence (1024 samples for ffmpeg's encoder, 2112 for Apple's), which the edit list tells
   the decoder to drop, and pads the last frame. Measured on files ffmpeg 5.1 wrote (16, 44.1 and 48 kHz,
   with and without an edit list, with and without ``+faststart``), ffmpeg decodes the declared length
   plus 0 to 1023 samples of that padding (at the m4a's rate). Accepted: from one frame less than
   declared to a longest priming plus a frame more, at the m4a's rate (at 16 kHz, 64 ms less to 196 ms
   more). ffmpeg drops a damaged frame, saying so, and stops at the end of what a cut file holds: a file
   that loses more than a frame so falls short and is refused; one that loses one frame is converted, and
   what ffmpeg said goes to the job's log as a warning naming the file.

A file that fails is refused: its temporary is removed and the reason is returned; the caller goes on.
When ffmpeg fails on a file it can decode (to ``-f null``), the fault is the output's (a full disk, a
folder it cannot write): that is an OSError, not a refusal.

An ffmpeg process a file takes about 0.1 s of CPU a file, mostly in starting (ffmpeg links some 200
libraries), several times what decoding an 8-second recording takes; so files are converted in batches:
one ffmpeg process with a batch's files as its inputs and their temporaries as its outputs (about 20 ms of
CPU a file, checks included: bench/conversion_speed.py). A batch in which anything goes wrong (an exit status, a word on
stderr, a failed check) is done again file by file, so every refusal and warning names its own file.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from diffsv.data.audio import AudioError
from diffsv.data.audio_info import SAMPLE_RATE, probe_audio
from diffsv.data.mp4_header import Mp4Audio, Mp4Error, read_mp4_audio
from diffsv.utils.fileio import atomic_path

FORMATS = {
    "flac": ("-c:a", "flac", "-sample_fmt", "s16", "-f", "flac"),
    "wav": ("-c:a", "pcm_s16le", "-f", "wav"),
}
"""ffmpeg's output options for each output format, named by its file suffix."""
AAC_FRAME = 1024
LONGEST_PRIMING = 2112
"""Apple's AAC encoder's priming samples, the longest of the common encoders' (ffmpeg's: 1024)."""
BATCH = 32
"""Files per ffmpeg process. Measured CPU a file (8-second files, checks included): 32 ms at 4, 20 at 8,
17 at 16 and 32, no lower at 64 or 128."""
_SAID = 400
"""At most this many characters of what ffmpeg says are quoted in a reason."""


@dataclass(frozen=True)
class Conversion:
    """One file to convert: its m4a and the output it makes."""

    source: str
    output: str


@dataclass(frozen=True)
class Verdict:
    """What became of a conversion: ``refused`` says why it has no output; ``note`` is what ffmpeg said
    about a file it converted in full (a damaged frame it concealed, say)."""

    conversion: Conversion
    refused: str | None = None
    note: str | None = None


class _Redo(Exception):
    """A batch that went wrong somewhere: its files are converted again one at a time."""


class _Refused(Exception):
    """A file that fails a check; the message is the reason."""


def length_problem(frames: int, declared: Mp4Audio, sample_rate: int = SAMPLE_RATE) -> str | None:
    """Why ``frames`` decoded samples at ``sample_rate`` disagree with what ``declared`` declares, or None
    (the tolerance is the module's)."""
    expected = declared.samples(sample_rate)
    frame = AAC_FRAME * sample_rate / declared.timescale
    if expected - frame <= frames <= expected + (LONGEST_PRIMING + AAC_FRAME) * sample_rate / declared.timescale:
        return None
    return (
        f"decodes to {frames} samples ({frames / sample_rate:.2f} s) but declares {expected} ({declared.seconds:.2f} s)"
    )


def output_problem(path: Path, declared: Mp4Audio) -> str | None:
    """Why the output at ``path`` is not the complete 16 kHz mono conversion of an m4a that declares
    ``declared``, or None."""
    try:
        info = probe_audio(str(path))  # the header, checked against the file as stage 1 checks it
    except AudioError as err:
        return f"ffmpeg's output is not complete, readable audio ({err})"
    if info.sample_rate != SAMPLE_RATE or info.channels != 1:
        return f"ffmpeg's output is {info.sample_rate} Hz with {info.channels} channels"
    return length_problem(info.frames, declared)


def _said(stderr: str) -> str:
    """ffmpeg's message on one line, its end kept when long."""
    text = "; ".join(line.strip() for line in stderr.splitlines() if line.strip())
    return text if len(text) <= _SAID else "..." + text[-_SAID:]


def _ffmpeg(jobs: Sequence[tuple[str, Path]], fmt: str) -> subprocess.CompletedProcess:
    """One ffmpeg process decoding each ``(m4a, temporary)`` pair's first audio stream into the temporary."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for source, _ in jobs:
        command += ["-i", f"file:{source}"]
    for k, (_, temporary) in enumerate(jobs):
        command += ["-map", f"{k}:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), *FORMATS[fmt], f"file:{temporary}"]
    return subprocess.run(command, capture_output=True, text=True, errors="replace")


def _decodes(source: str) -> bool:
    """Whether ffmpeg decodes ``source`` to nothing (``-f null``) without failing."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", f"file:{source}", "-map", "0:a:0", "-f", "null", "-"]
    return subprocess.run(command, capture_output=True).returncode == 0


def _convert_batch(batch: Sequence[tuple[Conversion, Mp4Audio]], fmt: str) -> bool:
    """Convert a batch in one ffmpeg process; True when every output passed and took its name, False (and
    no output written) otherwise."""
    try:
        with contextlib.ExitStack() as stack:
            temporaries = [stack.enter_context(atomic_path(conversion.output)) for conversion, _ in batch]
            result = _ffmpeg([(c.source, t) for (c, _), t in zip(batch, temporaries, strict=True)], fmt)
            if result.returncode != 0 or result.stderr.strip():
                raise _Redo
            if any(output_problem(t, a) for (_, a), t in zip(batch, temporaries, strict=True)):
                raise _Redo
    except _Redo:
        return False
    return True


def _convert_one(conversion: Conversion, declared: Mp4Audio, fmt: str) -> Verdict:
    try:
        with atomic_path(conversion.output) as temporary:
            result = _ffmpeg([(conversion.source, temporary)], fmt)
            said = _said(result.stderr)
            if result.returncode != 0:
                if _decodes(conversion.source):
                    raise OSError(f"ffmpeg decodes {conversion.source} but cannot write it: {said}")
                raise _Refused(f"ffmpeg cannot decode it: {said}")
            problem = output_problem(temporary, declared)
            if problem:
                raise _Refused(f"{problem}; ffmpeg: {said}" if said else problem)
    except _Refused as refusal:
        return Verdict(conversion, refused=str(refusal))
    return Verdict(conversion, note=f"ffmpeg: {said}" if said else None)


def convert(conversions: Sequence[Conversion], fmt: str, batch: int = BATCH) -> Iterator[Verdict]:
    """Convert each m4a into its output (any existing output is replaced), ``batch`` files per ffmpeg
    process; yields each file's verdict, in order."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}: one of {', '.join(FORMATS)}")
    for start in range(0, len(conversions), batch):
        declared: list[tuple[Conversion, Mp4Audio]] = []
        verdicts: dict[Conversion, Verdict] = {}
        for conversion in conversions[start : start + batch]:
            try:
                declared.append((conversion, read_mp4_audio(conversion.source)))
            except (Mp4Error, OSError) as err:
                verdicts[conversion] = Verdict(conversion, refused=str(err))
        if len(declared) > 1 and _convert_batch(declared, fmt):
            verdicts.update((c, Verdict(c)) for c, _ in declared)
        else:
            verdicts.update((c, _convert_one(c, a, fmt)) for c, a in declared)
        yield from (verdicts[c] for c in conversions[start : start + batch])
