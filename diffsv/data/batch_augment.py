"""The training augmentation applied to a whole batch on the training device (``data.augment_on: device``).

The data loader only draws (:meth:`diffsv.data.augment.Augmenter.draw`: the same generator, the same order)
and reads the crop and the noise it chose; :func:`collate_draws` packs a batch's draws into tensors that
travel with the batch, and :func:`augment_batch` does :meth:`~diffsv.data.augment.Augmenter.apply`'s
arithmetic on all of them at once, in the reference's order: gain; pitch shift, the batch grouped by ratio
(the per-crop path's own :func:`~diffsv.data.augment.pitch_shift_tensor`); coloured noise; reverberation by
FFT convolution with each example's RIR; the MUSAN windows averaged and mixed at each example's SNR.
A stage an example did not draw leaves it untouched. Levels, RMS and the coloured noise are computed in
float64 as the per-crop path computes them; the rest in the crop's dtype (float32 in training, whatever
the autocast around the model).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from fractions import Fraction

import numpy as np
import scipy.fft
import torch

from diffsv.data.augment import AugmentationDraws, pitch_shift_tensor
from diffsv.utils.arithmetic import float32_arithmetic


@dataclass
class AugmentationBatch:
    """A batch's draws as tensors: per transform, the rows (batch indices) that drew it and their values.

    MUSAN windows are stored slot-major (every mixed example's first window, then every second one, ...;
    ``slot_bounds`` delimits the slots) so that each example's windows are summed in its own order.
    """

    sample_rate: int
    gain_rows: torch.Tensor  # (G,) int64
    gain_db: torch.Tensor  # (G,) float64
    pitch_groups: list[tuple[Fraction, torch.Tensor]]  # (ratio, rows) for each ratio drawn
    coloured_rows: torch.Tensor  # (C,)
    coloured_decay: torch.Tensor  # (C,) float64
    coloured_snr_db: torch.Tensor  # (C,) float64
    coloured_white: torch.Tensor  # (C, sample_rate) float64
    reverb_rows: torch.Tensor  # (R,)
    rirs: torch.Tensor  # (R, longest RIR), zero-padded
    mix_rows: torch.Tensor  # (M,)
    mix_snr_db: torch.Tensor  # (M,) float64
    noise_windows: torch.Tensor  # (W, crop length), slot-major
    noise_owner: torch.Tensor  # (W,) index into mix_rows
    slot_bounds: list[int]

    def map_tensors(self, function: Callable[[torch.Tensor], torch.Tensor]) -> AugmentationBatch:
        changed: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, torch.Tensor):
                changed[item.name] = function(value)
        changed["pitch_groups"] = [(ratio, function(rows)) for ratio, rows in self.pitch_groups]
        return replace(self, **changed)

    def to(self, device: torch.device, non_blocking: bool = False) -> AugmentationBatch:
        return self.map_tensors(lambda tensor: tensor.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> AugmentationBatch:
        """Page-locked copies, so that the copy to a CUDA device is asynchronous (the DataLoader calls this)."""
        return self.map_tensors(torch.Tensor.pin_memory)

    def nbytes(self) -> int:
        """The bytes the batch's draws carry (the MUSAN windows, mostly)."""
        sizes: list[int] = []
        self.map_tensors(lambda tensor: sizes.append(tensor.numel() * tensor.element_size()) or tensor)
        return sum(sizes)


def _rows(rows: list[int]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.int64)


def _float64(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def collate_draws(draws: Sequence[AugmentationDraws], length: int) -> AugmentationBatch:
    """Pack the draws of a batch of crops of ``length`` samples (in the data loader's worker)."""
    gain = [(row, d.gain_db) for row, d in enumerate(draws) if d.gain_db is not None]
    pitch: dict[Fraction, list[int]] = {}
    for row, d in enumerate(draws):
        if d.pitch_ratio is not None:
            pitch.setdefault(d.pitch_ratio, []).append(row)
    coloured = [(row, d) for row, d in enumerate(draws) if d.coloured_white is not None]
    reverb = [(row, d.rir) for row, d in enumerate(draws) if d.rir is not None]
    mixed = [(row, d) for row, d in enumerate(draws) if d.rir is None]
    sample_rate = draws[0].sample_rate

    rirs = np.zeros((len(reverb), max((rir.shape[0] for _, rir in reverb), default=0)), dtype=np.float32)
    for k, (_, rir) in enumerate(reverb):
        rirs[k, : rir.shape[0]] = rir
    windows, owners, bounds = [], [], [0]
    for slot in range(max((len(d.noises) for _, d in mixed), default=0)):
        for owner, (_, d) in enumerate(mixed):
            if slot < len(d.noises):
                if d.noises[slot].shape[0] != length:
                    raise ValueError(f"a noise window of {d.noises[slot].shape[0]} samples for a crop of {length}")
                windows.append(d.noises[slot])
                owners.append(owner)
        bounds.append(len(windows))
    white = np.stack([d.coloured_white for _, d in coloured]) if coloured else np.zeros((0, sample_rate))
    return AugmentationBatch(
        sample_rate=sample_rate,
        gain_rows=_rows([row for row, _ in gain]),
        gain_db=_float64([value for _, value in gain]),
        pitch_groups=[(ratio, _rows(rows)) for ratio, rows in sorted(pitch.items())],
        coloured_rows=_rows([row for row, _ in coloured]),
        coloured_decay=_float64([d.coloured_decay for _, d in coloured]),
        coloured_snr_db=_float64([d.coloured_snr_db for _, d in coloured]),
        coloured_white=torch.from_numpy(white),
        reverb_rows=_rows([row for row, _ in reverb]),
        rirs=torch.from_numpy(rirs),
        mix_rows=_rows([row for row, _ in mixed]),
        mix_snr_db=_float64([d.snr_db for _, d in mixed]),
        noise_windows=torch.from_numpy(np.stack(windows) if windows else np.zeros((0, length), dtype=np.float32)),
        noise_owner=_rows(owners),
        slot_bounds=bounds,
    )


def level_db(samples: torch.Tensor) -> torch.Tensor:
    """:func:`diffsv.data.noise_mixing.level_db` of each row, in float64."""
    return 10.0 * torch.log10(samples.double().square().mean(-1) + 1e-4)


def coloured_noise(white: torch.Tensor, decay: torch.Tensor, length: int) -> torch.Tensor:
    """:func:`diffsv.data.augment.coloured_noise` of each row of ``white`` (float64) with its own decay."""
    sample_rate = white.shape[-1]
    spectrum = torch.fft.rfft(white)
    ramp = torch.linspace(1.0, math.sqrt(sample_rate / 2), spectrum.shape[-1], dtype=white.dtype, device=white.device)
    period = torch.fft.irfft(spectrum * ramp ** -decay[:, None], n=sample_rate)
    period = period / (period.square().mean(-1, keepdim=True).sqrt() + 1e-8)
    return period.repeat(1, -(-length // sample_rate))[:, :length]


def reverberate(speech: torch.Tensor, rirs: torch.Tensor) -> torch.Tensor:
    """:func:`diffsv.data.augment.reverberate` of each row with its own zero-padded RIR. Only an RIR's first
    ``length`` taps reach the kept samples, so a longer one is cut (after its norm is taken)."""
    length = speech.shape[-1]
    rirs = rirs.to(speech.dtype)
    rirs = rirs / torch.linalg.vector_norm(rirs, dim=-1, keepdim=True).clamp_min(1e-12)
    rirs = rirs[:, :length]
    size = scipy.fft.next_fast_len(length + rirs.shape[-1] - 1, real=True)  # the full convolution fits
    spectrum = torch.fft.rfft(speech, n=size) * torch.fft.rfft(rirs, n=size)
    return torch.fft.irfft(spectrum, n=size)[:, :length]


def mixed_noise(speech: torch.Tensor, draws: AugmentationBatch) -> torch.Tensor:
    """Each mixed example's windows averaged (summed slot by slot, in the per-crop path's order) and scaled
    to its SNR below its speech (``speech`` holds the mixed examples' rows)."""
    windows = draws.noise_windows.to(speech.dtype)
    total = torch.zeros_like(speech)
    for low, high in zip(draws.slot_bounds, draws.slot_bounds[1:], strict=False):
        total.index_add_(0, draws.noise_owner[low:high], windows[low:high])
    counts = torch.zeros_like(total[:, 0]).index_add_(0, draws.noise_owner, torch.ones_like(windows[:, 0]))
    noise = total / counts[:, None]
    scale = torch.sqrt(10.0 ** ((level_db(speech) - level_db(noise) - draws.mix_snr_db) / 10.0))
    return (scale[:, None] * noise.double()).to(speech.dtype)


@torch.no_grad()
def augment_batch(clean: torch.Tensor, draws: AugmentationBatch) -> torch.Tensor:
    """The noisy batch the draws make of ``clean`` (batch, samples), on ``clean``'s device and in its dtype,
    in IEEE arithmetic whatever the training's precision (TF32 would move the resampler's convolutions
    about 1e-3 off the per-crop path)."""
    with float32_arithmetic("fp32"):
        return _augment(clean, draws)


def _augment(clean: torch.Tensor, draws: AugmentationBatch) -> torch.Tensor:
    speech = clean.clone()
    dtype, length = speech.dtype, speech.shape[-1]
    if draws.gain_rows.numel():
        speech[draws.gain_rows] *= (10.0 ** (draws.gain_db / 20.0)).to(dtype)[:, None]
    for ratio, group in draws.pitch_groups:
        # A CPU shifts a crop at a time: a group's spectra (4.6 MB a 2 s crop) would leave its caches, and
        # the vocoder ran 1.6x slower batched; a GPU takes the whole group at once.
        for rows in group.split(1) if speech.device.type == "cpu" else (group,):
            speech[rows] = pitch_shift_tensor(speech[rows], ratio, draws.sample_rate)
    if draws.coloured_rows.numel():
        rows = draws.coloured_rows
        chosen = speech[rows].double()
        noise = coloured_noise(draws.coloured_white, draws.coloured_decay, length)
        rms = chosen.square().mean(-1, keepdim=True).sqrt()
        speech[rows] = (chosen + rms * 10.0 ** (-draws.coloured_snr_db[:, None] / 20.0) * noise).to(dtype)
    if draws.reverb_rows.numel():  # reverberated and mixed rows are disjoint: one noise kind each
        speech[draws.reverb_rows] = reverberate(speech[draws.reverb_rows], draws.rirs)
    if draws.mix_rows.numel():
        chosen = speech[draws.mix_rows]
        speech[draws.mix_rows] = chosen + mixed_noise(chosen, draws)
    return speech
