"""The 100 Nonspeech Sounds of G. Hu (OSU PNL) -> ``nonspeech``.

Layout: ``ROOT/n1.wav`` ... ``ROOT/n100.wav`` (or in ``ROOT/Nonspeech/``, as ``Nonspeech.zip`` unpacks).
Each file is its own utterance and speaker, id ``n1`` ... ``n100``; the data directory lists them in
C order (n1, n10, n100, n11, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from diffsv.data.corpora.common import CorpusMissing, require_dir, wav_files, whole_files_dir
from diffsv.data.kaldi_dir import DataDir

NAME = "Nonspeech100"
URL = "http://web.cse.ohio-state.edu/pnl/corpus/HuNonspeech/Nonspeech.zip"
FILE_NAME = re.compile(r"n\d+\.wav")


@dataclass
class NonspeechLayout:
    root: Path
    files: list[Path]

    def summary(self) -> str:
        return f"{len(self.files)} files"

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        return {"nonspeech": whole_files_dir([(path.stem, path.stem, path) for path in self.files], resample)}


def scan_nonspeech(root: str | Path) -> NonspeechLayout:
    """Find ``n<k>.wav`` in the root or its ``Nonspeech/`` folder; raises CorpusError when there are none."""
    root = require_dir(Path(root), "Nonspeech100 root")
    for directory in (root, root / "Nonspeech"):
        files = [p for p in wav_files(directory) if FILE_NAME.fullmatch(p.name)] if directory.is_dir() else []
        if files:
            return NonspeechLayout(root, files)
    raise CorpusMissing(f"{root}: no n1.wav ... n100.wav files (nor in {root / 'Nonspeech'})")
