"""VoxCeleb2 dev as a training set and the VoxCeleb1-O/E/H protocol: stages 0-1 on tiny trees in the published
layouts (m4a written by ffmpeg, and the converted dev/wav), the train/test overlap refusal, the VoxCeleb2
configs, and the recipe through stage 5 with -O, -E and -H scored."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import soundfile
import yaml
from corpus_trees import (
    VoxCeleb1Tree,
    VoxCeleb2Tree,
    make_musan,
    make_nonspeech,
    make_rirs,
    make_voxceleb1,
    make_voxceleb2,
    write_wav,
)
from training_helpers import tiny_experiment

from diffsv.bin import check_corpora, prepare_data
from diffsv.config import load_config, to_dict
from diffsv.data.eval_sets import read_eval_sets
from diffsv.training.config import ExperimentConfig

pytestmark = pytest.mark.recipe_run  # the module runs the recipe through stage 5: start it early

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs" / "voxceleb_diffsv"
VENV_BIN = REPO / "tools" / "venv" / "bin"


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[VoxCeleb1Tree, VoxCeleb2Tree]:
    root = tmp_path_factory.mktemp("vox")
    return make_voxceleb1(root / "VoxCeleb1"), make_voxceleb2(root / "VoxCeleb2")


def vox_args(vox1: VoxCeleb1Tree, *lists: str, **options: str) -> list[str]:
    args = ["--voxceleb1-root", str(vox1.root), "--trials-list", str(vox1.list_path())]
    for condition in lists:
        name = {"vox1_e": "list_test_all2.txt", "vox1_h": "list_test_hard2.txt"}[condition]
        args += [f"--{condition.replace('_', '-')}-list", str(vox1.list_path(name))]
    for option, value in options.items():
        args += [f"--{option.replace('_', '-')}", value]
    return args


def utt(relative: str) -> str:
    return relative.rsplit(".", 1)[0].replace("/", "-")


def column(path: Path, index: int = 0) -> list[str]:
    return [line.split()[index] for line in path.read_text().splitlines()]


def test_voxceleb2_training_with_vox1_o_e_h(trees: tuple[VoxCeleb1Tree, VoxCeleb2Tree], tmp_path: Path) -> None:
    vox1, vox2 = trees
    data = tmp_path / "data"
    args = vox_args(vox1, "vox1_e", "vox1_h", train_set="voxceleb2", voxceleb2_root=str(vox2.root))
    assert prepare_data.main([*args, "--data", str(data)]) == 0
    # train: VoxCeleb2 dev alone, ids from its relative paths, speakers its own
    assert column(data / "train" / "utt2spk") == sorted(utt(stem) for stem in vox2.files)
    assert sorted(set(column(data / "train" / "utt2spk", 1))) == vox2.speakers
    wav_scp = dict(line.split(" ", 1) for line in (data / "train" / "wav.scp").read_text().splitlines())
    assert wav_scp["id00012-vid0x0_Abc-00001"] == str(vox2.root / "dev/wav/id00012/vid0x0_Abc/00001.wav")
    samples = dict(line.split() for line in (data / "train" / "utt2num_samples").read_text().splitlines())
    assert {k: int(v) for k, v in samples.items()} == {utt(s): round(sec * 16000) for s, sec in vox2.files.items()}
    # -E and -H: one directory of the files their lists name (dev speakers too), each list in its order
    eh = data / "test_vox1_eh"
    named = {rel for name in ("list_test_all2.txt", "list_test_hard2.txt") for t in vox1.trials[name] for rel in t[:2]}
    assert column(eh / "utt2spk") == sorted(utt(rel) for rel in named)
    for condition, name in (("vox1_e", "list_test_all2.txt"), ("vox1_h", "list_test_hard2.txt")):
        expected = [f"{utt(a)} {utt(b)} {'target' if t else 'nontarget'}" for a, b, t in vox1.trials[name]]
        assert (eh / f"trials_{condition}").read_text().splitlines() == expected
    assert not (eh / "trials").exists()
    # the -O list stays the clean test set of stage 2; -E and -H are two conditions of one directory
    sets = {s.condition: (s.data.name, s.trials.name) for s in read_eval_sets(data)}
    assert sets == {
        "clean": ("test", "trials"),
        "vox1_e": ("test_vox1_eh", "trials_vox1_e"),
        "vox1_h": ("test_vox1_eh", "trials_vox1_h"),
    }
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "diffsv.bin.validate_data_dir", str(eh)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # a trial naming an utterance the directory lacks is found by the validator, naming the file
    (eh / "trials_vox1_h").write_text("id10001-x-00001 id10270-5r0dWxy17C8-00001 target\n")
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "diffsv.bin.validate_data_dir", "--no-audio-check", str(eh)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "trials_vox1_h:1: utterance 'id10001-x-00001' is not in utt2spk" in result.stderr


def test_both_dev_parts_train_together(trees: tuple[VoxCeleb1Tree, VoxCeleb2Tree], tmp_path: Path) -> None:
    vox1, vox2 = trees
    data = tmp_path / "data"
    assert (
        prepare_data.main([*vox_args(vox1, train_set="both", voxceleb2_root=str(vox2.root)), "--data", str(data)]) == 0
    )
    speakers = column(data / "train" / "spk2utt")
    assert speakers == sorted([*vox1.train_speakers, *vox2.speakers])
    assert len(column(data / "train" / "utt2spk")) == len(vox2.files) + sum(
        1 for rel in vox1.files if rel.split("/")[0] in vox1.train_speakers
    )
    assert not (data / "test_vox1_eh").exists()
    samples = dict(line.split() for line in (data / "train" / "utt2num_samples").read_text().splitlines())
    durations = dict(line.split() for line in (data / "train" / "utt2dur").read_text().splitlines())
    assert durations.keys() == samples.keys() and len(samples) == len(column(data / "train" / "utt2spk"))
    assert all(float(durations[utt]) == pytest.approx(int(n) / 16000, abs=1e-6) for utt, n in samples.items())


def test_an_utterance_in_two_formats_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    vox1 = make_voxceleb1(tmp_path / "VoxCeleb1")
    vox2 = make_voxceleb2(tmp_path / "VoxCeleb2", speakers=1, videos=1)
    wav = vox2.root / "dev/wav/id00012/vid0x0_Abc/00001.wav"
    flac = wav.with_suffix(".flac")
    soundfile.write(str(flac), soundfile.read(str(wav))[0], 16000)
    args = vox_args(vox1, train_set="voxceleb2", voxceleb2_root=str(vox2.root))
    assert check_corpora.main(args) == 1
    err = capsys.readouterr().err
    assert "00001.wav is the same utterance in another format" in err or "00001.flac is the same utterance" in err
    assert "keep one" in err


@pytest.mark.parametrize("train_set", ["voxceleb1", "both"])
def test_training_on_tested_speakers_is_refused(
    trees: tuple[VoxCeleb1Tree, VoxCeleb2Tree], tmp_path: Path, train_set: str, capsys: pytest.CaptureFixture
) -> None:
    vox1, vox2 = trees
    options = {"train_set": train_set} | ({"voxceleb2_root": str(vox2.root)} if train_set == "both" else {})
    args = vox_args(vox1, "vox1_h", **options)
    data = tmp_path / "data"
    assert prepare_data.main([*args, "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert f"{vox1.list_path('list_test_hard2.txt')}: the training set (" in err
    assert "holds 2 of the 4 speakers that VoxCeleb1-H tests (e.g. id10001)" in err and "--train-set voxceleb2" in err
    assert not data.exists()  # refused before anything is written
    assert check_corpora.main(args) == 1  # stage 0 refuses it too
    assert "holds 2 of the 4 speakers" in capsys.readouterr().err


def test_speaker_ids_in_both_corpora_are_refused(
    trees: tuple[VoxCeleb1Tree, VoxCeleb2Tree], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    vox1, _ = trees
    clash = make_voxceleb2(tmp_path / "VoxCeleb2", speakers=1)
    write_wav(clash.root / "dev/wav/id10001/zzz/00001.wav", 1.0)
    args = vox_args(vox1, train_set="both", voxceleb2_root=str(clash.root))
    assert prepare_data.main([*args, "--data", str(tmp_path / "data")]) == 1
    assert "1 speaker ids are in both VoxCeleb1 dev and VoxCeleb2 dev (e.g. id10001)" in capsys.readouterr().err


def test_layouts_are_recognised_and_m4a_is_not_read_directly(
    trees: tuple[VoxCeleb1Tree, VoxCeleb2Tree], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    vox1, _ = trees
    m4a = make_voxceleb2(tmp_path / "m4a", m4a=True, speakers=2, videos=1)
    assert sorted(p.suffix for p in (m4a.root / "dev" / "aac").rglob("*.*")) == [".m4a"] * 4
    assert check_corpora.main(vox_args(vox1, train_set="voxceleb2", voxceleb2_root=str(m4a.root))) == 0
    assert "VoxCeleb2: found" in (out := capsys.readouterr().out) and "4 files of 2 speakers in dev/aac (m4a:" in out
    data = tmp_path / "data"
    assert prepare_data.main(
        [*vox_args(vox1, train_set="voxceleb2", voxceleb2_root=str(m4a.root)), "--data", str(data)]
    )
    assert "m4a files are not read directly; convert them first" in capsys.readouterr().err
    # pointed one level too deep, the error says which folder to give
    assert prepare_data.main(
        [*vox_args(vox1, train_set="voxceleb2", voxceleb2_root=str(m4a.root / "dev")), "--data", str(data)]
    )
    assert f"{m4a.root / 'dev'} holds aac/: give the folder above it" in capsys.readouterr().err
    # the options must agree with each other
    assert prepare_data.main([*vox_args(vox1, train_set="voxceleb2"), "--data", str(data)]) == 1
    assert "--train-set voxceleb2 trains on VoxCeleb2: give --voxceleb2-root" in capsys.readouterr().err
    assert prepare_data.main([*vox_args(vox1, voxceleb2_root=str(m4a.root)), "--data", str(data)]) == 1
    assert "does not train on it" in capsys.readouterr().err


def test_extended_lists_need_voxceleb1_dev(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    vox1 = make_voxceleb1(tmp_path / "VoxCeleb1", split_dirs=True)
    vox2 = make_voxceleb2(tmp_path / "VoxCeleb2", speakers=2, videos=1)
    args = vox_args(vox1, "vox1_e", train_set="voxceleb2", voxceleb2_root=str(vox2.root))
    os.rename(vox1.root / "dev", tmp_path / "dev_elsewhere")
    assert check_corpora.main(args) == 1
    err = capsys.readouterr().err
    assert f"{vox1.list_path('list_test_all2.txt')}:1: 'id10001/1zcIwhmdeo4/00001.wav' is not a file" in err
    assert "VoxCeleb1 dev must be there as well" in err
    # -O alone needs only the test part when training on VoxCeleb2
    data = tmp_path / "data"
    assert (
        prepare_data.main([*vox_args(vox1, train_set="voxceleb2", voxceleb2_root=str(vox2.root)), "--data", str(data)])
        == 0
    )
    assert sorted(p.name for p in data.iterdir()) == ["eval_sets.json", "test", "train"]


def test_vox2_configs_are_the_papers_but_for_the_length_of_training() -> None:
    conf = RECIPE / "conf"
    for name in ("diffsv", "baseline"):
        paper = to_dict(load_config(conf / f"{name}.yaml", ExperimentConfig))
        vox2 = to_dict(load_config(conf / f"{name}_vox2.yaml", ExperimentConfig))
        changed = {
            (section, key) for section in paper for key in paper[section] if paper[section][key] != vox2[section][key]
        }
        assert changed == {("training", "epochs"), ("scheduler", "warmup_epochs"), ("scheduler", "first_cycle_epochs")}
        factor = vox2["training"]["epochs"] / paper["training"]["epochs"]
        for key in ("warmup_epochs", "first_cycle_epochs"):
            assert vox2["scheduler"][key] == pytest.approx(paper["scheduler"][key] * factor)


# ---- the recipe through stage 5 on VoxCeleb2 (m4a) + VoxCeleb1 with -O, -E and -H -------------------------


def env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")


def run_recipe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "run.sh", *args], cwd=RECIPE, env=env(), capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def vox2_recipe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Stages 0-5 with --train-set voxceleb2 on an m4a tree of 5 speakers and VoxCeleb1 with its three lists."""
    root = tmp_path_factory.mktemp("vox2_recipe")
    vox1 = make_voxceleb1(root / "VoxCeleb1")
    vox2 = make_voxceleb2(root / "VoxCeleb2", m4a=True, speakers=5)
    make_musan(root / "musan")
    make_rirs(root / "RIRS_NOISES")
    make_nonspeech(root / "Nonspeech100")
    config = tiny_experiment(epochs=2, average_last=2)
    config.data.batch_size = 4
    config.data.validation_speakers = 2
    config.data.validation_seconds = 1.0
    (root / "tiny.yaml").write_text(yaml.safe_dump(to_dict(config)))
    data, exp = root / "data", root / "exp"
    common = [
        "--voxceleb1-root", str(vox1.root), "--voxceleb2-root", str(vox2.root), "--train-set", "voxceleb2",
        "--musan-root", str(root / "musan"), "--rirs-root", str(root / "RIRS_NOISES"),
        "--nonspeech-root", str(root / "Nonspeech100"), "--data", str(data), "--exp", str(exp),
        "--config", str(root / "tiny.yaml"), "--segment-samples", "16000", "--nj", "2",
    ]  # fmt: skip
    result = run_recipe("--stage", "0", "--stop-stage", "5", *common)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"vox1": vox1, "vox2": vox2, "data": data, "exp": exp, "common": common, "stdout": result.stdout}


def test_recipe_converts_the_m4a_once_in_parallel_jobs(vox2_recipe: dict) -> None:
    data, exp, vox2 = vox2_recipe["data"], vox2_recipe["exp"], vox2_recipe["vox2"]
    converted = data / "voxceleb2" / "dev" / "wav"
    made = sorted(p.relative_to(converted).as_posix() for p in converted.rglob("*.*"))
    assert made == sorted(f"{stem}.wav" for stem in vox2.files)  # --convert-format wav, the default
    assert {p.name for p in (exp / "log").glob("convert_voxceleb2.*.log")} == {
        "convert_voxceleb2.1.log",
        "convert_voxceleb2.2.log",
    }
    wav_scp = (data / "train" / "wav.scp").read_text()
    assert str(converted) in wav_scp and ".m4a" not in wav_scp
    # stage 1 again: nothing left to convert, nothing rewritten
    stamps = {p: p.stat().st_mtime_ns for p in converted.rglob("*.wav")}
    result = run_recipe("--stage", "1", "--stop-stage", "1", *vox2_recipe["common"])
    assert result.returncode == 0, result.stderr
    assert {p: p.stat().st_mtime_ns for p in converted.rglob("*.wav")} == stamps


def test_recipe_scores_vox1_o_e_h(vox2_recipe: dict) -> None:
    exp = vox2_recipe["exp"] / "tiny"
    scores = exp / "scores"
    for condition, trials in (("vox1_e", "list_test_all2.txt"), ("vox1_h", "list_test_hard2.txt")):
        lines = (scores / f"{condition}.score").read_text().splitlines()
        assert len(lines) == len(vox2_recipe["vox1"].trials[trials])
    assert (scores / "clean.score").is_file() and (scores / "babble_0.score").is_file()
    results = json.loads((exp / "results.json").read_text())
    assert {"clean", "vox1_e", "vox1_h"} <= set(results)
    report = (exp / "RESULTS.md").read_text()
    assert "## VoxCeleb1-O, -E and -H" in report
    for title in ("VoxCeleb1-O", "VoxCeleb1-E", "VoxCeleb1-H"):
        assert f"| {title} | tiny | " in report
    # -E and -H share one directory: embedded once
    plan = json.loads((exp / "embeddings" / "plan.json").read_text())
    assert [s["name"] for s in plan["sets"]].count("test_vox1_eh") == 1
    assert [p.name for p in (exp / "embeddings").iterdir() if "vox1" in p.name] == ["test_vox1_eh"]
