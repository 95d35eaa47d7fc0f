"""VoxCeleb2's m4a converted once to 16 kHz mono FLAC (or WAV), in three steps so that a recipe only
orchestrates (``diffsv.bin.convert_audio``):

``plan``     lists ``SOURCE/<speaker>/<video>/<n>.m4a`` (VoxCeleb2's ``dev/aac``), removes the temporaries
             killed conversions left in ``DEST``, and splits the files whose output
             ``DEST/<speaker>/<video>/<n>.flac`` does not exist yet into at most ``nj`` job lists.
``convert``  job J converts its list's files that still have no output (:mod:`diffsv.data.m4a_decoding`:
             each checked, then renamed into place) and lists the ones it refused.
``finish``   checks that every planned file has its output; refusals and files left unconverted are an
             error that counts them; otherwise it writes the completion record.

Killed at any point, the three steps run again convert only what has no output; after a complete run,
``plan`` finds nothing to do (0 jobs). The work folder holds:

``plan.json``      source, destination, format, files under the source, files planned, jobs
``list.J``         job J's files, as paths relative to the source
``refused.J``      job J's refusals, ``path<TAB>reason`` (written when the job ends)
``refused.txt``    finish: every refusal
``done.json``      finish: the completion record (the destination holds every file's output)
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from diffsv.data.m4a_decoding import BATCH, FORMATS, Conversion, convert
from diffsv.utils.fileio import atomic_open, remove_stale_temporaries

SOURCE_SUFFIX = ".m4a"
PLAN = "plan.json"
DONE = "done.json"
REFUSED = "refused.txt"
SHOWN = 5
"""Refused files named in finish's error; the rest are in ``refused.txt``."""


class ConversionError(ValueError):
    """The source is not in the layout, the work folder holds no plan, or files were refused or left
    unconverted; the message names the path."""


@dataclass(frozen=True)
class ConversionPlan:
    """What ``plan`` decided (``plan.json``): read by every job and by ``finish``."""

    source: str
    dest: str
    format: str
    total: int
    pending: int
    jobs: int

    def output(self, relative: str) -> str:
        """The output of the m4a at ``relative`` (to the source)."""
        return os.path.join(self.dest, relative[: -len(SOURCE_SUFFIX)] + "." + self.format)

    @staticmethod
    def read(work: Path) -> ConversionPlan:
        path = work / PLAN
        if not path.is_file():
            raise ConversionError(f"{path}: no conversion plan; run 'diffsv.bin.convert_audio plan' first")
        try:
            return ConversionPlan(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as err:
            raise ConversionError(f"{path}: not a conversion plan ({err}); run the plan step again") from None

    def write(self, work: Path) -> None:
        with atomic_open(work / PLAN) as handle:
            json.dump(asdict(self), handle, indent=1)


def job_list(work: Path, job: int) -> Path:
    return work / f"list.{job}"


def refusal_list(work: Path, job: int) -> Path:
    return work / f"refused.{job}"


def _outputs_in(directory: str) -> set[str]:
    """The names in ``directory`` (none if it does not exist), after removing the temporaries that killed
    writers left there."""
    try:
        names = {entry.name for entry in os.scandir(directory)}
    except FileNotFoundError:
        return set()
    if any(name.startswith(".") and ".tmp." in name for name in names):
        remove_stale_temporaries(directory, recursive=False)
        names = {entry.name for entry in os.scandir(directory)}
    return names


def _sorted_dirs(path: str) -> list[os.DirEntry]:
    return sorted((entry for entry in os.scandir(path) if entry.is_dir()), key=lambda entry: entry.name)


def _videos(source: Path) -> Iterator[tuple[str, list[str]]]:
    """``(<speaker>/<video>, sorted m4a names)`` of every video folder holding m4a files, in sorted order;
    macOS ``._*`` resource forks skipped. Strings, not Paths: VoxCeleb2 dev has 1,092,009 files."""
    speakers = _sorted_dirs(str(source))
    for speaker in tqdm(speakers, desc=f"listing {source}", unit=" speaker", leave=False, disable=None):
        for video in _sorted_dirs(speaker.path):
            names = sorted(
                entry.name
                for entry in os.scandir(video.path)
                if entry.name.endswith(SOURCE_SUFFIX) and not entry.name.startswith("._") and entry.is_file()
            )
            if names:
                yield f"{speaker.name}/{video.name}", names


def _layout_hint(source: Path) -> str:
    """Where the m4a are, when ``source`` is a folder above or below VoxCeleb2's ``dev/aac``."""
    for below in ("aac", "dev/aac"):
        if (source / below).is_dir():
            return f"; give {source / below}"
    if any(True for _ in itertools.islice(source.rglob(f"*{SOURCE_SUFFIX}"), 1)):
        return f"; its m4a files are not at <speaker>/<video>/<n>{SOURCE_SUFFIX}"
    return ""


def _remove_old(work: Path) -> None:
    """The job lists and refusals of an earlier plan."""
    for path in itertools.chain(work.glob("list.*"), work.glob("refused.*")):
        path.unlink()


def plan(source: Path, dest: Path, work: Path, nj: int, fmt: str = "flac") -> ConversionPlan:
    """Plan the conversion of ``source`` (VoxCeleb2's ``dev/aac``) into ``dest``: write at most ``nj``
    balanced job lists of the files without an output, and the plan, into ``work``."""
    if fmt not in FORMATS:
        raise ConversionError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if not source.is_dir():
        raise ConversionError(f"{source}: no such directory (the m4a files' <speaker>/<video>/<n>.m4a tree)")
    source, dest = source.resolve(), dest.resolve()
    pending: list[str] = []
    total = 0
    for relative_dir, names in _videos(source):
        total += len(names)
        done = _outputs_in(os.path.join(dest, relative_dir))
        stems = (name[: -len(SOURCE_SUFFIX)] for name in names)
        pending.extend(f"{relative_dir}/{stem}{SOURCE_SUFFIX}" for stem in stems if f"{stem}.{fmt}" not in done)
    if total == 0:
        raise ConversionError(f"{source}: no <speaker>/<video>/<n>{SOURCE_SUFFIX} files{_layout_hint(source)}")
    work.mkdir(parents=True, exist_ok=True)
    _remove_old(work)
    jobs = min(nj, len(pending))
    for job in range(jobs):
        with atomic_open(job_list(work, job + 1)) as handle:
            chunk = pending[job * len(pending) // jobs : (job + 1) * len(pending) // jobs]
            handle.write("".join(f"{relative}\n" for relative in chunk))
    if pending:
        (work / DONE).unlink(missing_ok=True)
    result = ConversionPlan(str(source), str(dest), fmt, total, len(pending), jobs)
    result.write(work)
    return result


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise ConversionError(f"{path}: no such job list")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def convert_job(work: Path, job: int, batch: int = BATCH) -> list[str]:
    """Job ``job`` of the plan in ``work``: convert its files that have no output yet, write its refusals to
    ``refused.J`` (each also on stderr, naming the file) and return a summary. A refused file leaves no
    output and the job goes on; other errors (ffmpeg missing, a full disk) stop it."""
    planned = ConversionPlan.read(work)
    if not 1 <= job <= planned.jobs:
        raise ConversionError(f"{work / PLAN}: job {job} is not one of the plan's {planned.jobs}")
    if shutil.which("ffmpeg") is None:
        raise FileNotFoundError("ffmpeg: not found on the PATH (tools/install_ffmpeg.sh installs it)")
    relatives = _read_list(job_list(work, job))
    source = Path(planned.source)
    todo = [
        Conversion(str(source / relative), planned.output(relative))
        for relative in relatives
        if not os.path.exists(planned.output(relative))
    ]
    refused: list[str] = []
    progress = tqdm(total=len(todo), desc=f"convert job {job}", unit=" file", mininterval=2)
    for verdict in convert(todo, planned.format, batch):
        if verdict.refused:
            refused.append(f"{verdict.conversion.source}\t{verdict.refused}")
            tqdm.write(f"refused {verdict.conversion.source}: {verdict.refused}", file=sys.stderr)
        elif verdict.note:
            tqdm.write(f"warning: {verdict.conversion.source}: converted, but {verdict.note}", file=sys.stderr)
        progress.update()
    progress.close()
    with atomic_open(refusal_list(work, job)) as handle:
        handle.write("".join(f"{line}\n" for line in refused))
    converted = len(todo) - len(refused)
    summary = f"job {job}: converted {converted} of {len(relatives)} files ({len(relatives) - len(todo)} already)"
    return [summary + (f"; refused {len(refused)} (listed in {refusal_list(work, job)})" if refused else "")]


def _missing(planned: ConversionPlan, relatives: Iterable[str]) -> list[str]:
    """The files among ``relatives`` without an output; one listing per folder, not one stat per file."""
    missing = []
    for directory, group in itertools.groupby(relatives, key=os.path.dirname):
        present = _outputs_in(os.path.join(planned.dest, directory))
        missing.extend(r for r in group if os.path.basename(planned.output(r)) not in present)
    return missing


def finish(work: Path) -> str:
    """Check that every file planned in ``work`` has its output; the summary, or a ConversionError that
    counts and names the refused files and those no job converted. Writes ``done.json`` on success."""
    planned = ConversionPlan.read(work)
    source = Path(planned.source)
    missing: list[str] = []
    refusals: dict[str, str] = {}
    for job in range(1, planned.jobs + 1):
        missing.extend(_missing(planned, _read_list(job_list(work, job))))
        if refusal_list(work, job).is_file():
            lines = refusal_list(work, job).read_text(encoding="utf-8").splitlines()
            refusals.update(line.split("\t", 1) for line in lines if "\t" in line)
    refused = [(str(source / r), refusals[str(source / r)]) for r in missing if str(source / r) in refusals]
    unconverted = [str(source / r) for r in missing if str(source / r) not in refusals]
    (work / REFUSED).unlink(missing_ok=True)
    if refused or unconverted:
        problems = []
        if refused:
            with atomic_open(work / REFUSED) as handle:
                handle.write("".join(f"{path}\t{reason}\n" for path, reason in refused))
            named = "; ".join(f"{path}: {reason}" for path, reason in refused[:SHOWN])
            more = f"; and {len(refused) - SHOWN} more" if len(refused) > SHOWN else ""
            problems.append(
                f"{len(refused)} m4a files refused (corrupt or truncated): {named}{more}; every one in {work / REFUSED}"
            )
        if unconverted:
            problems.append(
                f"{len(unconverted)} files not converted by their job (killed, or not run?): first "
                f"{unconverted[0]}; run the plan and convert steps again"
            )
        converted = planned.total - len(missing)
        raise ConversionError(f"{planned.dest}: {converted} of {planned.total} files converted; " + "; ".join(problems))
    with atomic_open(work / DONE) as handle:
        json.dump({"source": planned.source, "dest": planned.dest, "format": planned.format, "files": planned.total},
                  handle, indent=1)  # fmt: skip
    return f"converted {planned.total} files ({planned.pending} this run) into {planned.dest}"
