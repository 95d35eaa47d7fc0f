"""The few signal operations the corpus sources share: load as 16 kHz mono, trim, level, join, tile."""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from diffsv.data.audio import read_audio
from diffsv.data.audio_info import SAMPLE_RATE


def to_16k_mono(samples: np.ndarray, rate: int) -> np.ndarray:
    """Average the channels and resample polyphase to 16 kHz (packaged audio is 8 to 96 kHz)."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = mono.astype(np.float64)
    if rate != SAMPLE_RATE:
        common = gcd(rate, SAMPLE_RATE)
        mono = resample_poly(mono, SAMPLE_RATE // common, rate // common)
    return mono.astype(np.float32)


def load(path: str | Path) -> np.ndarray:
    """A packaged audio file (wav, ogg, ...) as 16 kHz mono float32."""
    audio = read_audio(str(path))
    return to_16k_mono(audio.samples, audio.sample_rate)


def trim(samples: np.ndarray, threshold_db: float = -40.0, pad_s: float = 0.1) -> np.ndarray:
    """Cut leading and trailing silence (frames 40 dB under the loudest), keeping ``pad_s`` around speech."""
    frame = SAMPLE_RATE // 100
    count = len(samples) // frame
    if count == 0:
        return samples
    energy = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(energy / energy.max()) > threshold_db)
    pad = round(pad_s * SAMPLE_RATE)
    start = max(0, loud[0] * frame - pad)
    end = min(len(samples), (loud[-1] + 1) * frame + pad)
    return samples[start:end]


def level(samples: np.ndarray, rms_db: float = -26.0, peak: float = 0.9) -> np.ndarray:
    """Scale to a common RMS level (sources range from whisper-quiet to clipped), peaks kept under ``peak``."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    if rms == 0.0:
        return samples
    gain = min(10 ** (rms_db / 20) / rms, peak / float(np.max(np.abs(samples))))
    return (samples * gain).astype(np.float32)


def join(pieces: Sequence[np.ndarray], gap_s: float) -> np.ndarray:
    """Concatenate with ``gap_s`` of silence between pieces."""
    gap = np.zeros(round(gap_s * SAMPLE_RATE), dtype=np.float32)
    out: list[np.ndarray] = []
    for index, piece in enumerate(pieces):
        if index:
            out.append(gap)
        out.append(piece.astype(np.float32))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def tile(samples: np.ndarray, min_seconds: float, gap_s: float) -> np.ndarray:
    """Repeat a short sound with gaps until it lasts ``min_seconds`` (event sounds of a few ms are common)."""
    repeats = 1
    while repeats * len(samples) + (repeats - 1) * gap_s * SAMPLE_RATE < min_seconds * SAMPLE_RATE:
        repeats += 1
    return join([samples] * repeats, gap_s)


def chunks(samples: np.ndarray, seconds: float, limit: int) -> list[np.ndarray]:
    """Up to ``limit`` consecutive pieces of ``seconds``; a remainder shorter than half a piece is dropped."""
    size = round(seconds * SAMPLE_RATE)
    pieces = [samples[start : start + size] for start in range(0, len(samples), size)]
    return [piece for piece in pieces if len(piece) >= size // 2][:limit]
