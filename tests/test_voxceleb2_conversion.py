"""VoxCeleb2's m4a converted to 16 kHz FLAC/WAV (diffsv.bin.convert_audio): m4a that ffmpeg wrote from the
demo corpus's recorded speech (Asterisk's prompts), converted in a clean run, resumed after a killed one,
and refused when corrupt or truncated; the length an m4a declares, and the tolerance it is held to."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

from diffsv.bin import convert_audio
from diffsv.data.m4a_decoding import Conversion, convert, length_problem, output_problem
from diffsv.data.mini_corpus.recordings import ASTERISK_ROOT
from diffsv.data.mp4_header import Mp4Audio, read_mp4_audio

REPO = Path(__file__).resolve().parents[1]
SPEECH = ASTERISK_ROOT / "en_US_f_Allison"
VIDEOS = ("21Uxsk56VDQ", "Zq-ab_3x")
STEMS = [f"id{speaker:05d}/{video}/{n:05d}" for speaker in (12, 15) for video in VIDEOS for n in (1, 2)]
AAC_FRAME = 1024


def require(ok: bool, reason: str) -> None:
    """Skip with ``reason`` unless ``ok``; in CI (which installs everything) fail instead."""
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


@dataclass
class SpeechTree:
    aac: Path  # <speaker>/<video>/<n>.m4a
    speech: dict[str, np.ndarray]  # stem -> the 16 kHz speech each m4a was encoded from


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> SpeechTree:
    """Eight m4a (AAC at 16 kHz, mono, as VoxCeleb2's) that one ffmpeg run encoded from eight Asterisk
    prompts, beside the 16 kHz speech it encoded (from the same run)."""
    require(shutil.which("ffmpeg") is not None, "ffmpeg not installed: run tools/install_ffmpeg.sh")
    speech_prompts = (p for p in sorted(SPEECH.glob("*.wav")) if 1.0 <= soundfile.info(str(p)).duration <= 2.5)
    prompts = list(itertools.islice(speech_prompts, len(STEMS)))
    require(len(prompts) == len(STEMS), f"the demo's speech is not at {SPEECH}: run tools/install_mini_corpus.sh")
    root = tmp_path_factory.mktemp("vox2")
    inputs, outputs = [], []
    for k, (prompt, stem) in enumerate(zip(prompts, STEMS, strict=True)):
        (root / "aac" / stem).parent.mkdir(parents=True, exist_ok=True)
        (root / "speech" / stem).parent.mkdir(parents=True, exist_ok=True)
        inputs += ["-i", str(prompt)]
        outputs += ["-map", f"{k}:a", "-ar", "16000", "-c:a", "pcm_s16le", str(root / "speech" / f"{stem}.wav")]
        outputs += ["-map", f"{k}:a", "-ar", "16000", "-c:a", "aac", str(root / "aac" / f"{stem}.m4a")]
    ffmpeg(*inputs, *outputs)
    speech = {stem: soundfile.read(str(root / "speech" / f"{stem}.wav"), dtype="float32")[0] for stem in STEMS}
    return SpeechTree(root / "aac", speech)


@pytest.fixture
def source(tree: SpeechTree, tmp_path: Path) -> Path:
    """A copy of the m4a tree, for a test to add to."""
    return Path(shutil.copytree(tree.aac, tmp_path / "aac"))


def step(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """``convert_audio.main(argv)``: its exit status, stdout and stderr."""
    code = convert_audio.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plan(capsys: pytest.CaptureFixture, src: Path, dest: Path, work: Path, *options: str) -> int:
    code, out, err = step(capsys, "plan", "--source", str(src), "--dest", str(dest), "--work-dir", str(work), *options)
    assert code == 0, err
    assert out.strip().isdigit(), out  # the recipe reads stdout as the number of jobs: nothing else may be there
    return int(out)


def convert_all(capsys: pytest.CaptureFixture, work: Path, jobs: int) -> str:
    errors = ""
    for job in range(1, jobs + 1):
        code, _, err = step(capsys, "convert", "--work-dir", str(work), "--job", str(job))
        assert code == 0, err
        errors += err
    return errors


def snapshot(dest: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``dest``: its inode and modification time, which a rewrite would change."""
    return {str(p.relative_to(dest)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in dest.rglob("*") if p.is_file()}


def dead_pid() -> int:
    """The id of a process that has ended (a writer killed on this host)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def assert_converted(dest: Path, tree: SpeechTree, suffix: str = ".flac") -> None:
    """``dest`` holds exactly the tree's outputs, each 16 kHz mono 16-bit, the encoded speech plus at most
    the last AAC frame's padding, and close to it sample by sample."""
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [f"{s}{suffix}" for s in STEMS]
    for stem, speech in tree.speech.items():
        samples, rate = soundfile.read(str(dest / f"{stem}{suffix}"), dtype="float32")
        assert (rate, samples.ndim, soundfile.info(str(dest / f"{stem}{suffix}")).subtype) == (16000, 1, "PCM_16")
        assert 0 <= len(samples) - len(speech) < AAC_FRAME, stem
        error = samples[: len(speech)] - speech
        assert 10 * np.log10(np.sum(speech**2) / np.sum(error**2)) > 15, stem  # aligned: priming dropped


def test_a_clean_run_converts_every_file_and_a_second_does_nothing(
    tree: SpeechTree, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    dest, work = tmp_path / "wav", tmp_path / "work"
    assert plan(capsys, tree.aac, dest, work, "--nj", "3") == 3
    assert [len((work / f"list.{j}").read_text().splitlines()) for j in (1, 2, 3)] == [2, 3, 3]
    assert json.loads((work / "plan.json").read_text())["total"] == 8
    convert_all(capsys, work, 3)
    code, out, err = step(capsys, "finish", "--work-dir", str(work))
    assert code == 0, err
    assert "converted 8 files (8 this run)" in out
    assert_converted(dest, tree)
    assert json.loads((work / "done.json").read_text())["files"] == 8
    # again: nothing to convert, nothing rewritten
    before = snapshot(dest)
    assert plan(capsys, tree.aac, dest, work, "--nj", "3") == 0
    assert not list(work.glob("list.*"))
    code, out, _ = step(capsys, "finish", "--work-dir", str(work))
    assert code == 0 and "converted 8 files (0 this run)" in out
    assert snapshot(dest) == before


def test_the_recipe_commands_as_processes_through_run_pl(tree: SpeechTree, tmp_path: Path) -> None:
    """The three steps as the recipe runs them (WAV this time): plan's stdout is the job count that
    ``run.pl JOB=1:N`` substitutes into ``--job JOB``."""
    dest, work = tmp_path / "wav", tmp_path / "work"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", PYTHONPATH=str(REPO))
    module = [sys.executable, "-m", "diffsv.bin.convert_audio"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    planned = run(*module, "plan", "--source", str(tree.aac), "--dest", str(dest), "--work-dir", str(work),
                  "--nj", "2", "--format", "wav")  # fmt: skip
    assert planned.returncode == 0 and planned.stdout == "2\n", planned.stderr
    log = work / "log" / "convert.JOB.log"
    jobs = run(str(REPO / "utils" / "run.pl"), "JOB=1:2", str(log), *module, "convert", "--work-dir", str(work),
               "--job", "JOB")  # fmt: skip
    assert jobs.returncode == 0, jobs.stderr
    for job in (1, 2):
        assert f"convert_audio: job {job}: converted 4 of 4 files" in (work / "log" / f"convert.{job}.log").read_text()
    finished = run(*module, "finish", "--work-dir", str(work))
    assert finished.returncode == 0 and "converted 8 files" in finished.stdout, finished.stderr
    assert_converted(dest, tree, ".wav")


def test_a_killed_run_resumes_converting_only_what_has_no_output(
    tree: SpeechTree, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    dest, work = tmp_path / "flac", tmp_path / "work"
    assert plan(capsys, tree.aac, dest, work, "--nj", "2") == 2
    assert step(capsys, "convert", "--work-dir", str(work), "--job", "1")[0] == 0
    # job 2 was killed while ffmpeg wrote its first file: only the temporary is left, under a dead pid
    first_of_job_2 = dest / (work / "list.2").read_text().split()[0].replace(".m4a", ".flac")
    stale = first_of_job_2.parent / f".{first_of_job_2.name}.tmp.{socket.gethostname()}.{dead_pid()}.k7q2x9"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"fLaC" + bytes(100))
    done = snapshot(dest)
    assert len(done) == 5
    code, _, err = step(capsys, "finish", "--work-dir", str(work))
    assert code == 1 and "4 files not converted by their job" in err and not (work / "done.json").exists()
    # again: the temporary is removed, only job 2's files are planned, job 1's outputs are left as they are
    assert plan(capsys, tree.aac, dest, work, "--nj", "2") == 2
    assert not stale.exists()
    planned = sorted(line for j in (1, 2) for line in (work / f"list.{j}").read_text().splitlines())
    assert planned == [f"{s}.m4a" for s in STEMS[4:]]
    convert_all(capsys, work, 2)
    code, out, err = step(capsys, "finish", "--work-dir", str(work))
    assert code == 0 and "converted 8 files (4 this run)" in out, err
    assert_converted(dest, tree)
    after = snapshot(dest)
    assert {name: after[name] for name in done if name != str(stale.relative_to(dest))} == {
        name: stamp for name, stamp in done.items() if name != str(stale.relative_to(dest))
    }


def test_sigkill_leaves_complete_outputs_and_temporaries_only(
    tree: SpeechTree, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A job killed (SIGKILL, with its ffmpeg) while converting one file at a time: whatever has a final name
    is complete; the next run converts the rest."""
    dest, work = tmp_path / "flac", tmp_path / "work"
    assert plan(capsys, tree.aac, dest, work) == 1
    job = subprocess.Popen(
        [sys.executable, "-m", "diffsv.bin.convert_audio", "convert", "--work-dir", str(work), "--job", "1",
         "--batch", "1"],
        cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while job.poll() is None and not list(dest.rglob("*.flac")) and time.monotonic() < deadline:
        time.sleep(0.01)
    if job.poll() is None:
        os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    for output in dest.rglob("*.flac"):
        stem = str(output.relative_to(dest)).removesuffix(".flac")
        assert output_problem(output, read_mp4_audio(str(tree.aac / f"{stem}.m4a"))) is None, output
    assert plan(capsys, tree.aac, dest, work) == 1
    convert_all(capsys, work, 1)
    assert step(capsys, "finish", "--work-dir", str(work))[0] == 0
    assert_converted(dest, tree)


def cut(path: Path, fraction: float) -> Path:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
    return path


def cut_with_consistent_boxes(path: Path, fraction: float) -> Path:
    """A faststart m4a (index first) cut inside its audio data, its ``mdat`` size then made to fit: nothing
    shows the cut but the length decoded against the length declared."""
    data = bytearray(path.read_bytes()[: int(path.stat().st_size * fraction)])
    offset = 0
    while data[offset + 4 : offset + 8] != b"mdat":
        offset += struct.unpack_from(">I", data, offset)[0]
    struct.pack_into(">I", data, offset, len(data) - offset)
    path.write_bytes(bytes(data))
    return path


def test_corrupt_and_truncated_m4a_are_refused_by_name(
    tree: SpeechTree, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    speaker = source / "id00012" / "21Uxsk56VDQ"
    garbage = speaker / "00091.m4a"
    garbage.write_bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    truncated = cut(Path(shutil.copy(speaker / "00001.m4a", speaker / "00092.m4a")), 0.6)  # the index is lost
    speech = str(tree.aac.parent / "speech" / f"{STEMS[1]}.wav")
    faststart, short = speaker / "00093.m4a", speaker / "00094.m4a"
    ffmpeg("-i", speech, "-c:a", "aac", "-movflags", "+faststart", str(faststart))
    shutil.copy(faststart, short)
    cut(faststart, 0.6)
    cut_with_consistent_boxes(short, 0.6)
    dest, work = tmp_path / "flac", tmp_path / "work"
    assert plan(capsys, source, dest, work) == 1
    code, out, err = step(capsys, "convert", "--work-dir", str(work), "--job", "1")
    assert code == 0, err  # refusing is not failing: the job went on
    assert "converted 8 of 12 files" in out and "refused 4" in out
    reasons = {
        garbage: "not an MP4 file",
        truncated: "truncated: its 'mdat' box ends at byte",
        faststart: "truncated: its 'mdat' box ends at byte",
        short: "decodes to",
    }
    for path, reason in reasons.items():
        assert f"refused {path}: {reason}" in err
    assert f"but declares {len(tree.speech[STEMS[1]])} " in err.split(str(short))[1].splitlines()[0]
    assert len((work / "refused.1").read_text().splitlines()) == 4
    assert not [p for p in dest.rglob("*") if p.name.startswith(".")]  # no temporary left behind
    assert_converted(dest, tree)
    code, out, err = step(capsys, "finish", "--work-dir", str(work))
    assert code == 1 and out == ""
    assert "8 of 12 files converted; 4 m4a files refused (corrupt or truncated)" in err
    assert f"{garbage}: not an MP4 file" in err and str(work / "refused.txt") in err
    assert {line.split("\t")[0] for line in (work / "refused.txt").read_text().splitlines()} == set(map(str, reasons))
    assert not (work / "done.json").exists()
    # the refused files stay planned: a run after they are replaced converts them
    assert plan(capsys, source, dest, work) == 1
    assert len((work / "list.1").read_text().splitlines()) == 4


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "no such directory"),
        ("empty", "no <speaker>/<video>/<n>.m4a files"),
        ("above", "no <speaker>/<video>/<n>.m4a files; give {source}/aac"),
        ("flat", "its m4a files are not at <speaker>/<video>/<n>.m4a"),
    ],
)
def test_plan_refuses_a_tree_not_in_the_layout(
    tree: SpeechTree, tmp_path: Path, capsys: pytest.CaptureFixture, layout: str, message: str
) -> None:
    source = tmp_path / "given"
    if layout != "missing":
        source.mkdir()
    if layout == "above":  # VoxCeleb2's dev/ given instead of dev/aac
        shutil.copytree(tree.aac, source / "aac")
    if layout == "flat":
        shutil.copy(tree.aac / f"{STEMS[0]}.m4a", source / "00001.m4a")
    code, out, err = step(capsys, "plan", "--source", str(source), "--dest", str(tmp_path / "d"),
                          "--work-dir", str(tmp_path / "w"))  # fmt: skip
    assert (code, out) == (1, "")
    assert f"convert_audio plan: {source}: " in err and message.format(source=source) in err


def test_an_output_ffmpeg_cannot_write_stops_the_job_rather_than_refusing(
    tree: SpeechTree, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ffmpeg that decodes (to ``-f null``) but cannot write, as on a full disk: the job fails naming the
    output; no m4a is blamed. Without ffmpeg at all, the job says how to install it."""
    dest, work = tmp_path / "flac", tmp_path / "work"
    assert plan(capsys, tree.aac, dest, work) == 1
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ffmpeg").write_text(
        f'#!/bin/sh\ncase "$*" in *" null -") exec {shutil.which("ffmpeg")} "$@";; esac\n'
        'echo "Error writing trailer: No space left on device" >&2\nexit 1\n'
    )
    (fake / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    code, _, err = step(capsys, "convert", "--work-dir", str(work), "--job", "1")
    assert code == 1 and "cannot write" in err and "No space left on device" in err
    assert "refused" not in err and not (work / "refused.1").exists()
    assert not list(dest.rglob("*.*"))
    monkeypatch.setenv("PATH", str(fake / "none"))
    code, _, err = step(capsys, "convert", "--work-dir", str(work), "--job", "1")
    assert code == 1 and "ffmpeg: not found on the PATH (tools/install_ffmpeg.sh installs it)" in err


@pytest.mark.parametrize(
    "options",
    [[], ["-movflags", "+faststart"], ["-use_editlist", "0"], ["-ar", "44100", "-ac", "2"]],
    ids=["edit-list", "faststart", "no-edit-list", "44.1kHz-stereo"],
)
def test_the_declared_length_and_what_ffmpeg_decodes(tree: SpeechTree, tmp_path: Path, options: list[str]) -> None:
    """With an edit list the header declares exactly the encoded samples (the priming dropped); without one,
    the priming too. ffmpeg decodes the declared length plus the last frame's padding, under one frame."""
    speech = tree.speech[STEMS[0]]
    m4a = tmp_path / "x.m4a"
    ffmpeg("-i", str(tree.aac.parent / "speech" / f"{STEMS[0]}.wav"), "-c:a", "aac", *options, str(m4a))
    declared = read_mp4_audio(str(m4a))
    rate = 44100 if "44100" in options else 16000
    priming = 0 if "-use_editlist" in options else AAC_FRAME
    encoded = len(speech) * rate / 16000  # samples ffmpeg's resampler gives, to one
    assert declared.timescale == rate
    assert declared.media - declared.skipped == pytest.approx(encoded + AAC_FRAME - priming, abs=1)
    (verdict,) = convert([Conversion(str(m4a), str(tmp_path / "x.flac"))], "flac")
    assert verdict.refused is None
    decoded = soundfile.info(str(tmp_path / "x.flac")).frames
    assert 0 <= decoded - declared.samples(16000) < AAC_FRAME * 16000 / rate


def test_the_length_tolerance() -> None:
    """One AAC frame short to Apple's priming (2112) plus a frame long, at the m4a's rate."""
    at_16k, at_48k = Mp4Audio(16000, 33024, 1024), Mp4Audio(48000, 97024, 1024)
    assert length_problem(32000, at_16k) is None
    assert length_problem(32000 - 1024, at_16k) is None and length_problem(32000 - 1025, at_16k) is not None
    assert length_problem(32000 + 3136, at_16k) is None and length_problem(32000 + 3137, at_16k) is not None
    assert length_problem(32000 - 341, at_48k) is None and length_problem(32000 - 342, at_48k) is not None
    assert "decodes to 30975 samples (1.94 s) but declares 32000 (2.00 s)" == length_problem(30975, at_16k)
