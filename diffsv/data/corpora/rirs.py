"""RIRS_NOISES (OpenSLR 28) simulated room impulse responses -> ``rirs``.

Layout: ``ROOT/simulated_rirs/{smallroom,mediumroom,largeroom}/RoomNNN/RoomNNN-MMMMM.wav`` (ROOT may also
be the ``simulated_rirs`` directory itself). The real RIRs and point-source noises of the archive are
not used. Room names repeat across room sizes, so ids carry the size: the speaker is the room
(``smallroom-Room001``) and the utterance its response ``smallroom-Room001-00001``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsv.data.corpora.common import CorpusError, require_dir, wav_files, whole_files_dir
from diffsv.data.kaldi_dir import DataDir

NAME = "RIRS_NOISES"
URL = "https://www.openslr.org/28/"
ROOM_SIZES = ("smallroom", "mediumroom", "largeroom")


@dataclass
class RirsLayout:
    root: Path
    entries: list[tuple[str, str, Path]]  # (utterance id, speaker id, path)

    def summary(self) -> str:
        counts = {size: sum(1 for utt, _, _ in self.entries if utt.startswith(size + "-")) for size in ROOM_SIZES}
        rooms = len({spk for _, spk, _ in self.entries})
        detail = ", ".join(f"{size} {count}" for size, count in counts.items())
        return f"{len(self.entries)} simulated RIRs in {rooms} rooms ({detail})"

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        return {"rirs": whole_files_dir(self.entries, resample)}


def scan_rirs(root: str | Path) -> RirsLayout:
    """Find the simulated RIRs; raises CorpusError when a room size is missing or names are unexpected."""
    root = require_dir(Path(root), "RIRS_NOISES root")
    simulated = root if root.name == "simulated_rirs" else require_dir(root / "simulated_rirs", "RIRS_NOISES layout")
    entries: list[tuple[str, str, Path]] = []
    for size in ROOM_SIZES:
        size_dir = require_dir(simulated / size, f"simulated_rirs has {', '.join(ROOM_SIZES)}")
        found = 0
        for room in sorted(p for p in size_dir.glob("Room*") if p.is_dir()):
            for path in wav_files(room):
                if not path.stem.startswith(room.name + "-"):
                    raise CorpusError(f"{path}: expected the name {room.name}-<n>.wav in {room}")
                entries.append((f"{size}-{path.stem}", f"{size}-{room.name}", path))
                found += 1
        if not found:
            raise CorpusError(f"{size_dir}: no Room*/Room*-*.wav files")
    return RirsLayout(root, entries)
