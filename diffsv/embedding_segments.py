"""The windows of an utterance a test-time embedding is computed from; torch-free, so that the command-line
options of stage 5 (``diffsv.bin.evaluate``) are parsed without importing torch.

The reference protocol (stage 5; spec section 7: 4 x 159,920 samples): an utterance gives ``segments``
windows of ``segment_samples`` at evenly spaced offsets from 0 to ``len - segment_samples`` (truncated to
integers); one not longer than a window is wrap-padded to it. ``segments="all"`` (the inference API's
default) covers the whole recording instead: as many windows as it takes to cover it, evenly spaced and
overlapping where needed, at most :data:`MAX_SEGMENTS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SEGMENTS = 30
"""The most windows ``segments="all"`` takes (5 minutes of the paper's 10 s windows): longer audio is
sampled by evenly spaced windows rather than covered."""


@dataclass(frozen=True)
class SegmentConfig:
    """Windows per utterance (a count, or ``"all"`` to cover the recording) and samples per window."""

    segments: int | str = 4
    segment_samples: int = 159_920

    def __post_init__(self) -> None:
        count_ok = self.segments == "all" or (isinstance(self.segments, int) and self.segments >= 1)
        if not count_ok or self.segment_samples < 1:
            raise ValueError(
                f"segments must be 'all' or at least 1 and segment samples at least 1, "
                f"got {self.segments!r} x {self.segment_samples}"
            )

    def count(self, samples: int) -> int:
        """How many windows an utterance of ``samples`` samples gives."""
        if self.segments != "all":
            return int(self.segments)
        return min(MAX_SEGMENTS, max(1, -(-samples // self.segment_samples)))


def utterance_segments(samples: np.ndarray, config: SegmentConfig) -> np.ndarray:
    """(segments, segment_samples) windows of one utterance."""
    length, count = config.segment_samples, config.count(samples.shape[0])
    if samples.shape[0] <= length:
        return np.tile(np.pad(samples, (0, length - samples.shape[0]), mode="wrap"), (count, 1))
    starts = np.linspace(0, samples.shape[0] - length, count).astype(np.int64)
    return np.stack([samples[start : start + length] for start in starts])
