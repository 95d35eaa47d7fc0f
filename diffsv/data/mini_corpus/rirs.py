"""Simulated room impulse responses in the three size classes of RIRS_NOISES, with pyroomacoustics.

RIRS_NOISES (Ko et al., 2017) simulated rooms of 1-10 m (small), 10-30 m (medium) and 30-50 m (large)
length and width; here each room is a shoebox with a random size in its class, a height of 2-6 m, a
reverberation time drawn per class, and its walls' absorption from Sabine's formula. Every response of
a room has its own source and microphone positions (at least 0.5 m from the walls). The image-source
order is capped so the large rooms build in seconds; the late tail of a capped large room is thinner
than in reality, which matters little for augmentation.
"""

from __future__ import annotations

import numpy as np

from diffsv.data.mini_corpus import dsp
from diffsv.data.mini_corpus.speakers import SourceMissing

ROOM_CLASSES = {  # size -> (length/width range m, height range m, RT60 range s)
    "smallroom": ((1.0, 10.0), (2.0, 3.5), (0.2, 0.6)),
    "mediumroom": ((10.0, 30.0), (2.5, 5.0), (0.4, 0.9)),
    "largeroom": ((30.0, 50.0), (4.0, 6.0), (0.6, 1.2)),
}
MAX_ORDER = 20
MARGIN = 0.5


def _position(dims: np.ndarray, rng: np.random.Generator) -> list[float]:
    return [float(rng.uniform(MARGIN, side - MARGIN)) for side in dims]


def room_responses(size: str, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` impulse responses of one random room of the class ``size``, peak-normalised."""
    try:
        import pyroomacoustics as pra
    except ImportError:
        raise SourceMissing("pyroomacoustics: not installed; run tools/install_mini_corpus.sh") from None
    (side_low, side_high), (height_low, height_high), (rt_low, rt_high) = ROOM_CLASSES[size]
    while True:  # a short RT60 is impossible in a large room (absorption over 1): draw again
        side_low = max(side_low, 2 * MARGIN + 0.5)
        dims = np.array([rng.uniform(side_low, side_high), rng.uniform(side_low, side_high)])
        dims = np.append(dims, rng.uniform(height_low, height_high))
        rt60 = float(rng.uniform(rt_low, rt_high))
        try:
            absorption, order = pra.inverse_sabine(rt60, dims)
            break
        except ValueError:
            continue
    responses = []
    for _ in range(count):
        room = pra.ShoeBox(
            dims, fs=dsp.SAMPLE_RATE, materials=pra.Material(absorption), max_order=min(order, MAX_ORDER)
        )
        room.add_source(_position(dims, rng))
        room.add_microphone(_position(dims, rng))
        room.compute_rir()
        response = np.asarray(room.rir[0][0], dtype=np.float64)
        responses.append((response / np.max(np.abs(response)) * 0.9).astype(np.float32))
    return responses
