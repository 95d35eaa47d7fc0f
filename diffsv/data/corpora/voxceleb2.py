"""VoxCeleb2 dev in its published layout -> ``train`` (5,994 speakers, 1,092,009 utterances).

Two layouts, recognised by what is under the root:

- converted: ``ROOT/dev/wav/<speaker>/<video>/<nnnnn>.{wav,flac}`` (16 kHz mono), read as it is;
- published: ``ROOT/dev/aac/<speaker>/<video>/<nnnnn>.m4a`` (AAC in MP4, as ``vox2_dev_aac`` unpacks).
  The toolkit reads no AAC: the recipe's stage 1 converts it once (``diffsv.bin.convert_audio``) into a
  converted tree under its data folder and prepares that; pointed at it directly, stage 1 says so.

``dev/wav`` wins when both are there (a tree converted in place). The test part (``test/aac``) is not
used: the protocol tests on VoxCeleb1. Utterance ids are VoxCeleb1's scheme, the relative path with
``/`` turned into ``-`` (``id00012-21Uxsk56VDQ-00001``); VoxCeleb2's speaker ids (``id00012`` ..
``id09272``) and VoxCeleb1's (``id10001`` .. ``id11251``) do not meet, and a tree where they do is refused
when both are trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsv.data.corpora.common import CorpusError, CorpusMissing, require_dir, speaker_video_files, whole_files_dir
from diffsv.data.kaldi_dir import DataDir

NAME = "VoxCeleb2"
URL = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox2.html"
CONVERTED_DIR = "dev/wav"
CONVERTED_SUFFIXES = (".wav", ".flac")
M4A_DIR = "dev/aac"


def utterance_id(relative_stem: str) -> str:
    """``id00012/21Uxsk56VDQ/00001`` -> ``id00012-21Uxsk56VDQ-00001``."""
    return relative_stem.replace("/", "-")


def layout_kind(root: Path) -> str:
    """``converted`` or ``m4a``, by what is under ``root``; CorpusMissing when neither is."""
    if (root / CONVERTED_DIR).is_dir():
        return "converted"
    if (root / M4A_DIR).is_dir():
        return "m4a"
    nested = [name for name in ("wav", "aac") if (root / name).is_dir()]
    hint = f"; {root} holds {nested[0]}/: give the folder above it, the one holding dev/" if nested else ""
    raise CorpusMissing(f"{root}: neither {CONVERTED_DIR}/ nor {M4A_DIR}/ (VoxCeleb2 dev){hint}")


@dataclass
class VoxCeleb2Layout:
    root: Path
    kind: str
    files: dict[str, str]  # path by relative path without its suffix (``id00012/21Uxsk56VDQ/00001``)

    @property
    def speakers(self) -> set[str]:
        return {relative.split("/", 1)[0] for relative in self.files}

    @property
    def train_speakers(self) -> set[str]:
        return self.speakers

    def summary(self) -> str:
        text = f"{len(self.files)} files of {len(self.speakers)} speakers"
        if self.kind == "m4a":
            return f"{text} in {M4A_DIR} (m4a: stage 1 converts them to 16 kHz FLAC under its data folder)"
        return f"{text} in {CONVERTED_DIR}"

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        if self.kind == "m4a":
            raise CorpusError(
                f"{self.root / M4A_DIR}: m4a files are not read directly; convert them first "
                "(the recipe's stage 1 does, with diffsv.bin.convert_audio) and give the converted root"
            )
        entries = ((utterance_id(rel), rel.split("/", 1)[0], path) for rel, path in sorted(self.files.items()))
        return {"train": whole_files_dir(entries, resample)}


def scan_voxceleb2(root: str | Path) -> VoxCeleb2Layout:
    """List VoxCeleb2 dev (no audio read); raises CorpusError when the layout is wrong."""
    root = require_dir(Path(root), "VoxCeleb2 root")
    kind = layout_kind(root)
    converted = kind == "converted"
    directory, suffixes = (root / CONVERTED_DIR, CONVERTED_SUFFIXES) if converted else (root / M4A_DIR, (".m4a",))
    files: dict[str, str] = {}
    for relative, path in speaker_video_files(directory, suffixes):
        stem = relative.rsplit(".", 1)[0]
        if stem in files:
            raise CorpusError(
                f"{path}: {Path(files[stem]).name} is the same utterance in another format (converted twice, "
                "with both --convert-format values?): keep one"
            )
        files[stem] = path
    if not files:
        raise CorpusError(f"{directory}: no <speaker>/<video>/<n>{'|'.join(suffixes)} files")
    return VoxCeleb2Layout(root, kind, files)
