"""Kaldi-style helpers in utils/: what is particular to run.pl (what all job runners share is in
test_jobqueue.py), split_scp.pl, utt2spk<->spk2utt, parse_options.sh.

Everything is driven through the scripts, as recipes call them, in a temporary directory.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[1] / "utils"


def run_pl(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / "run.pl"), *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


def log_body(log: Path) -> list[str]:
    """The command's output in a run.pl log: the lines between the header and the footer."""
    lines = log.read_text().splitlines()
    assert lines[1].startswith("# Started at ") and lines[2] == "#"
    assert lines[-2].startswith("# Accounting: ") and lines[-1].startswith("# Ended ")
    return lines[3:-2]


# ---- run.pl -------------------------------------------------------------------------------------


def test_variable_is_substituted_literally_in_log_and_args(tmp_path: Path) -> None:
    result = run_pl(
        tmp_path,
        "--num-threads",
        "2",
        "TASK=2:3",
        "log/split.TASK.log",
        "echo",
        "data/split.TASK.scp",
        "prefixTASK",
        "JOB",
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "log/split.1.log").exists()
    for task in (2, 3):
        log = tmp_path / f"log/split.{task}.log"
        assert log_body(log) == [f"data/split.{task}.scp prefix{task} JOB"]
        assert "# Accounting: time=" in log.read_text() and " threads=2\n" in log.read_text()


def test_max_jobs_run_1_never_overlaps_jobs(tmp_path: Path) -> None:
    # Each job appends "start N" and "end N" to one file; run one at a time, every start must be
    # followed by the same job's end before any other job starts.
    script = "echo start JOB >> events; sleep 0.1; echo end JOB >> events"
    result = run_pl(tmp_path, "--max-jobs-run", "1", "JOB=1:4", "log/s.JOB.log", "bash", "-c", script)
    assert result.returncode == 0, result.stderr
    events = (tmp_path / "events").read_text().split("\n")[:-1]
    assert events == [f"{kind} {job}" for job in (1, 2, 3, 4) for kind in ("start", "end")]


def test_jobs_run_concurrently_up_to_the_limit(tmp_path: Path) -> None:
    # A barrier: each job waits (up to 10 s) until all three have started, which only parallel jobs can do.
    (tmp_path / "started").mkdir()
    script = (
        'touch started/JOB; for i in $(seq 100); do [ "$(ls started | wc -l)" -ge 3 ] && exit 0; sleep 0.1; '
        "done; exit 1"
    )
    result = run_pl(tmp_path, "--max-jobs-run", "3", "JOB=1:3", "log/b.JOB.log", "bash", "-c", script)
    assert result.returncode == 0, result.stderr


def test_single_job_form(tmp_path: Path) -> None:
    result = run_pl(tmp_path, "--gpu", "1", "--mem", "4G", "--time", "1:00:00", "log/one.log", "echo", "JOB", "kept")
    assert result.returncode == 0, result.stderr
    assert log_body(tmp_path / "log/one.log") == ["JOB kept"]

    result = run_pl(tmp_path, "log/two.log", "false")
    assert result.returncode == 1
    assert "run.pl: 1 / 1 failed, log is in log/two.log" in result.stderr


def test_gpu_jobs_each_get_their_own_gpus(tmp_path: Path) -> None:
    """--gpu N gives each job N of the visible GPUs as its CUDA_VISIBLE_DEVICES; no GPU serves two jobs at once."""
    visible = dict(os.environ, CUDA_VISIBLE_DEVICES="3,5")
    script = 'echo "start $CUDA_VISIBLE_DEVICES" >> events; sleep 0.2; echo "end $CUDA_VISIBLE_DEVICES" >> events'
    result = run_pl(tmp_path, "--gpu", "1", "JOB=1:4", "log/g.JOB.log", "bash", "-c", script, env=visible)
    assert result.returncode == 0, result.stderr
    busy: set[str] = set()
    for kind, gpu in (line.split() for line in (tmp_path / "events").read_text().splitlines()):
        assert (gpu in busy) == (kind == "end"), f"GPU {gpu} given to two jobs at once"
        (busy.add if kind == "start" else busy.discard)(gpu)
    assert sorted(line.split()[1] for line in (tmp_path / "events").read_text().splitlines()) == ["3"] * 4 + ["5"] * 4

    result = run_pl(tmp_path, "--gpu", "2", "JOB=1:2", "log/h.JOB.log", "printenv", "CUDA_VISIBLE_DEVICES", env=visible)
    assert result.returncode == 0 and all(log_body(tmp_path / f"log/h.{n}.log") == ["3,5"] for n in (1, 2))
    result = run_pl(tmp_path, "--gpu", "3", "log/i.log", "true", env=visible)
    assert result.returncode == 1 and "--gpu 3 per job, but 2 GPU(s) are visible (3,5)" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus", "1", "log/x.log", "true"], "--bogus"),
        (["--max-jobs-run", "0", "log/x.log", "true"], "--max-jobs-run"),
        (["--num-threads", "many", "log/x.log", "true"], "--num-threads"),
        (["JOB=1:2", "log/x.log", "true"], "log/x.log"),
        (["JOB=0:2", "log/x.JOB.log", "true"], "JOB=0:2"),
        (["JOB=3:2", "log/x.JOB.log", "true"], "JOB=3:2"),
        (["log/x.log"], "command"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_pl(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "log").exists()


# ---- split_scp.pl -------------------------------------------------------------------------------


def split_scp(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / "split_scp.pl"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_split_scp_into_contiguous_nearly_equal_parts(tmp_path: Path) -> None:
    lines = [f"utt{i} /data/wav/{i}.wav\n" for i in range(7)]
    (tmp_path / "wav.scp").write_text("".join(lines))
    result = split_scp(tmp_path, "wav.scp", "a.scp", "b.scp", "c.scp")
    assert result.returncode == 0, result.stderr
    parts = [(tmp_path / name).read_text() for name in ("a.scp", "b.scp", "c.scp")]
    assert [part.count("\n") for part in parts] == [3, 2, 2]
    assert "".join(parts) == "".join(lines)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.scp", "b.scp", "c.scp", "wav.scp"]


def test_split_scp_keeps_each_speaker_in_one_part(tmp_path: Path) -> None:
    # s1 has as many utterances as the four others together, so the balanced split is {s1} / {s2..s5};
    # s3's second utterance is out of place in the input and is gathered with its first.
    utt2spk = [
        ("u1", "s1"),
        ("u2", "s1"),
        ("u3", "s1"),
        ("u4", "s1"),
        ("u5", "s2"),
        ("u6", "s3"),
        ("u7", "s4"),
        ("u9", "s3"),
        ("u8", "s5"),
    ]
    (tmp_path / "utt2spk").write_text("".join(f"{utt} {spk}\n" for utt, spk in utt2spk))
    (tmp_path / "feats.scp").write_text("".join(f"{utt} ark:feats.ark:{i}\n" for i, (utt, _) in enumerate(utt2spk)))
    result = split_scp(tmp_path, "--utt2spk=utt2spk", "feats.scp", "1.scp", "2.scp")
    assert result.returncode == 0, result.stderr
    keys = [[line.split()[0] for line in (tmp_path / name).read_text().splitlines()] for name in ("1.scp", "2.scp")]
    assert keys == [["u1", "u2", "u3", "u4"], ["u5", "u6", "u9", "u7", "u8"]]


def test_split_scp_balances_speakers_of_equal_size(tmp_path: Path) -> None:
    (tmp_path / "utt2spk").write_text("".join(f"s{spk}-u{utt} s{spk}\n" for spk in range(6) for utt in range(2)))
    outputs = [f"{i}.utt2spk" for i in range(3)]
    assert split_scp(tmp_path, "--utt2spk=utt2spk", "utt2spk", *outputs).returncode == 0
    for output in outputs:
        speakers = [line.split()[1] for line in (tmp_path / output).read_text().splitlines()]
        assert len(speakers) == 4 and len(set(speakers)) == 2


@pytest.mark.parametrize(
    "files, args, message",
    [
        ({"in.scp": "a x\nb y\n"}, ["in.scp", "1", "2", "3"], "output 3 would be empty"),
        (
            {"in.scp": "a x\nb y\n", "u2s": "a s\nb s\n"},
            ["--utt2spk=u2s", "in.scp", "1", "2"],
            "output 2 would be empty: in.scp has 1 speakers for 2 outputs",
        ),
        ({"in.scp": ""}, ["in.scp", "1"], "input in.scp is empty"),
        ({"in.scp": "a x\n\nb y\n"}, ["in.scp", "1"], "in.scp:2: empty line"),
        ({"in.scp": "a x\nc y\n", "u2s": "a s\n"}, ["--utt2spk=u2s", "in.scp", "1"], "'c' of in.scp is not in u2s"),
        ({}, ["missing.scp", "1"], "missing.scp"),
        ({"in.scp": "a x\n"}, ["in.scp"], "usage"),
    ],
)
def test_split_scp_errors(tmp_path: Path, files: dict[str, str], args: list[str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = split_scp(tmp_path, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(files)


# ---- utt2spk <-> spk2utt ------------------------------------------------------------------------


def test_utt2spk_spk2utt_round_trip(tmp_path: Path) -> None:
    utt2spk = "b-1 b\nb-2 b\na-1 a\nc-1 c\nc-2 c\nc-3 c\n"
    (tmp_path / "utt2spk").write_text(utt2spk)
    spk2utt = subprocess.run(
        [str(UTILS / "utt2spk_to_spk2utt.pl"), "utt2spk"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert spk2utt == "b b-1 b-2\na a-1\nc c-1 c-2 c-3\n"
    back = subprocess.run(
        [str(UTILS / "spk2utt_to_utt2spk.pl")], input=spk2utt, capture_output=True, text=True, check=True
    ).stdout
    assert back == utt2spk


def test_spk2utt_orders_speakers_by_first_appearance(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(UTILS / "utt2spk_to_spk2utt.pl")],
        input="u1 s2\nu2 s1\nu3 s2\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "s2 u1 u3\ns1 u2\n"
    bad = subprocess.run([str(UTILS / "utt2spk_to_spk2utt.pl")], input="u1 s1 extra\n", capture_output=True, text=True)
    assert bad.returncode != 0 and "expected 'utt spk'" in bad.stderr


# ---- parse_options.sh ---------------------------------------------------------------------------


@pytest.fixture
def options_script(tmp_path: Path) -> Path:
    script = tmp_path / "script.sh"
    script.write_text(
        "stage=0\nstop_stage=100\nnj=4\nuse_gpu=false\nname=default\n"
        f". '{UTILS / 'parse_options.sh'}'\n"
        'echo "stage=$stage stop_stage=$stop_stage nj=$nj use_gpu=$use_gpu name=$name args=$*"\n'
    )
    (tmp_path / "conf").write_text("nj=2\nname=fromconf\n")
    return script


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "stage=0 stop_stage=100 nj=4 use_gpu=false name=default args="),
        (
            ["--stage", "3", "--stop-stage", "5", "data"],
            "stage=3 stop_stage=5 nj=4 use_gpu=false name=default args=data",
        ),
        (["--nj=8"], "stage=0 stop_stage=100 nj=8 use_gpu=false name=default args="),
        (["--config", "conf", "--name", "cli"], "stage=0 stop_stage=100 nj=2 use_gpu=false name=cli args="),
        (["--use-gpu", "true"], "stage=0 stop_stage=100 nj=4 use_gpu=true name=default args="),
    ],
)
def test_parse_options_sets_variables(options_script: Path, args: list[str], expected: str) -> None:
    result = subprocess.run(
        ["bash", str(options_script), *args], cwd=options_script.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"


@pytest.mark.parametrize("args, message", [(["--bogus", "1"], "--bogus"), (["--use-gpu", "maybe"], "--use-gpu")])
def test_parse_options_rejects(options_script: Path, args: list[str], message: str) -> None:
    result = subprocess.run(["bash", str(options_script), *args], capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stdout == ""
    assert message in result.stderr
