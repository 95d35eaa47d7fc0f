"""The training utterance table packed into arrays (``AudioRefs``, ``SpeakerCrops``): the same AudioRef for every
utterance, and so the same items, as one object per utterance gave; for plain files, segments, pipes and
non-ASCII paths, read from disk or built in memory; and no Python object per utterance, so that the data
loader's forked workers share the table instead of copying it (bench/loader_memory.py measures that)."""

from __future__ import annotations

import gc
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from corpus_trees import write_wav

from diffsv.data.augment import AugmentationConfig, Augmenter, NoisePools
from diffsv.data.frontend_config import FrontendConfig
from diffsv.data.kaldi_dir import AudioRef, DataDir, Segment, Table, read_data_dir
from diffsv.data.noise_mixing import NoisePool
from diffsv.data.speaker_crops import SpeakerCrops

SR = 16_000
CROP = 8_000


def whole_files(root: Path, count: int, pipes: bool = False, lengths: bool = True) -> DataDir:
    """``count`` utterances of two speakers, 0.3-2.2 s (some shorter than a crop), in a folder with a
    non-ASCII name; with ``pipes``, every third entry is read through ``cat ... |``."""
    wav_scp, lengths_by_utt = {}, {}
    for i in range(count):
        utt = f"spk{i % 2}-ü{i:03d}"
        path = write_wav(root / "wavs é" / f"{i}.wav", 0.3 + 0.1 * (i % 20), seed=i)
        wav_scp[utt] = f"cat '{path}' |" if pipes and i % 3 == 0 else str(path)
        lengths_by_utt[utt] = soundfile.info(str(path)).frames
    return DataDir(
        wav_scp=wav_scp,
        utt2spk={utt: utt.split("-")[0] for utt in wav_scp},
        utt2num_samples=lengths_by_utt if lengths else None,
    )


def segmented(root: Path) -> DataDir:
    """Eight 1.5 s segments (two per recording, overlapping) of four 3 s recordings."""
    recordings = {f"rec{r}": str(write_wav(root / f"rec{r}.wav", 3.0, seed=r)) for r in range(4)}
    segments = {f"rec{r}-s{k}": Segment(f"rec{r}", 0.7 * k + 0.05, 0.7 * k + 1.55) for r in range(4) for k in range(2)}
    return DataDir(
        wav_scp=recordings,
        utt2spk={utt: utt.split("-")[0] for utt in segments},
        utt2num_samples={utt: 24_000 for utt in segments},
        segments=segments,
    )


def on_disk(data: DataDir, path: Path) -> DataDir:
    data.write(path)
    return read_data_dir(path)


def explicit_ref(data: DataDir, utt: str) -> AudioRef:
    """An utterance's AudioRef made field by field from the tables, as one object per utterance was made."""
    num_samples = None if data.utt2num_samples is None else data.utt2num_samples[utt]
    table = data.wav_scp if data.segments is None else data.segments
    source = f"{table.path}:{table.lines[utt]}" if isinstance(table, Table) else None
    if data.segments is None:
        return AudioRef(data.wav_scp[utt], source=source, num_samples=num_samples)
    segment = data.segments[utt]
    return AudioRef(data.wav_scp[segment.recording], segment.start, segment.end, source, num_samples)


def directories(root: Path) -> dict[str, DataDir]:
    return {
        "files in memory": whole_files(root / "a", 24),
        "files on disk": on_disk(whole_files(root / "b", 24), root / "b" / "data"),
        "pipes on disk, no lengths": on_disk(
            whole_files(root / "c", 24, pipes=True, lengths=False), root / "c" / "data"
        ),
        "segments on disk": on_disk(segmented(root / "d"), root / "d" / "data"),
        "segments in memory": segmented(root / "e"),
    }


def crops(data: DataDir, augmenter: Augmenter | None, augment_on: str = "loader") -> SpeakerCrops:
    speakers = sorted(set(data.utt2spk.values()))
    labels = {spk: 2 * label + 1 for label, spk in enumerate(speakers)}
    utts = sorted(data.utt2spk)[::-1]  # any order: the dataset's index follows the list given
    return SpeakerCrops(data, utts, labels, CROP, FrontendConfig(), augmenter, 11, 1e-5, augment_on)


def test_packed_refs_are_the_per_utterance_refs(tmp_path: Path) -> None:
    for name, data in directories(tmp_path).items():
        utts = sorted(data.utt2spk)
        expected = [explicit_ref(data, utt) for utt in utts]
        assert list(data.audio_refs(utts)) == expected, name
        assert [data.audio_ref(utt) for utt in utts] == expected, name
        assert data.audio_refs(utts)[-1] == expected[-1] and len(data.audio_refs([])) == 0
        with pytest.raises(IndexError):
            data.audio_refs(utts)[len(utts)]
        pool = NoisePool(data, name, SR)
        assert list(pool.refs) == [explicit_ref(data, utt) for utt in data.utt2spk], name


@pytest.mark.parametrize("augment_on", ["loader", "device"])
def test_items_are_those_of_one_ref_and_label_per_utterance(tmp_path: Path, augment_on: str) -> None:
    noise = whole_files(tmp_path / "noise", 6)
    rirs = {f"rir{k}": str(write_wav(tmp_path / "rirs" / f"{k}.wav", 0.25, seed=50 + k)) for k in range(3)}
    pools = NoisePools(
        noise=NoisePool(noise, "noise", SR),
        babble=NoisePool(noise, "babble", SR),
        music=NoisePool(noise, "music", SR),
        reverb=NoisePool(DataDir(wav_scp=rirs, utt2spk={k: k for k in rirs}), "reverb", SR),
    )
    augmenter = Augmenter(AugmentationConfig(pitch_prob=0.0), pools, SR)
    for name, data in directories(tmp_path / "speech").items():
        dataset = crops(data, augmenter, augment_on)
        reference = crops(data, augmenter, augment_on)
        utts = sorted(data.utt2spk)[::-1]
        reference.refs = [explicit_ref(data, utt) for utt in utts]
        reference.labels = [2 * sorted(set(data.utt2spk.values())).index(data.utt2spk[utt]) + 1 for utt in utts]
        for key in [(epoch, index) for epoch in (0, 3) for index in range(len(utts))]:
            ours, theirs = dataset[key], reference[key]
            assert ours.keys() == theirs.keys(), name
            for field, value in theirs.items():
                if field == "draws":
                    assert vars(ours[field]).keys() == vars(value).keys()
                    for attribute, expected in vars(value).items():
                        np.testing.assert_equal(vars(ours[field])[attribute], expected, err_msg=f"{name} {key}")
                else:
                    assert ours[field].dtype == value.dtype and torch.equal(ours[field], value), (name, key, field)


def reachable_objects(root: object) -> int:
    """Python objects reachable from ``root``, not counting classes, modules and functions (shared by all)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return len(seen)


def test_the_table_holds_no_python_object_per_utterance(tmp_path: Path) -> None:
    small, large = (crops(on_disk(whole_files(tmp_path / str(n), n), tmp_path / f"{n}data"), None) for n in (8, 80))
    assert len(large) == 10 * len(small)
    assert reachable_objects(large) == reachable_objects(small)
    assert isinstance(large.labels, np.ndarray)
