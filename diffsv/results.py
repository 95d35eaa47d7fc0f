"""The evaluation report: per-condition metrics, RESULTS.md next to the paper's numbers, and figures.

Conditions are those of ``diffsv.protocol``: the clean VoxCeleb1-O test set, its noisy copies
``<type>_<snr>`` (MUSAN babble, music and noise, and Nonspeech100, at 0-20 dB) and, optionally, VOiCES
dev/eval. Each condition is one score file ``<scores_dir>/<condition>.score`` with its trial list. A
condition the protocol does not name (another SNR, another noise, a user's test set) is reported like
the others: in its noise's row and its SNR's column, or in the table of other conditions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.special import ndtri

from diffsv.data.kaldi_dir import TrialList, read_trials
from diffsv.experiment import Experiment
from diffsv.metrics import (
    DCF_OPERATING_POINTS,
    EER_THRESHOLD_KEY,
    METRIC_KEYS,
    det_curve,
    eer_threshold,
    verification_metrics,
)
from diffsv.protocol import (
    CLEAN,
    NOISY,
    SNRS,
    VOICES,
    VOX1_EXTENDED,
    VOX1_TITLES,
    condition_order,
    in_headline,
    noise_types,
    noisy_parts,
    snrs_of,
)
from diffsv.scoring import read_scores, scores_for_trials
from diffsv.utils.fileio import atomic_directory, atomic_open, save_png

#: Published EER (%) of Diff-SV: Kim et al., "Diff-SV: A Unified Hierarchical Framework for Noise-Robust
#: Speaker Verification Using Score-Based Diffusion Probabilistic Models", ICASSP 2024 (arXiv:2309.08320), in the
#: project's reference shared/reference/paper_results.md (VoxCeleb1-O; MUSAN test split; Nonspeech100).
#: Averages are not stored: computed over all conditions they give the published 3.90 and 4.64.
PAPER_DIFFSV_EER_PERCENT: dict[str, float] = {
    CLEAN: 2.35,
    **dict(zip((f"babble_{snr}" for snr in SNRS), (8.74, 4.51, 3.33, 2.82, 2.61), strict=True)),
    **dict(zip((f"music_{snr}" for snr in SNRS), (6.04, 3.96, 3.10, 2.75, 2.60), strict=True)),
    **dict(zip((f"noise_{snr}" for snr in SNRS), (6.01, 4.52, 3.49, 2.93, 2.64), strict=True)),
    **dict(zip((f"nonspeech_{snr}" for snr in SNRS), (8.23, 5.06, 3.85, 3.19, 2.89), strict=True)),
}
PAPER_LABEL = "Diff-SV (paper)"
PAPER_SOURCE = "shared/reference/paper_results.md"


class ResultsError(ValueError):
    """Score files and trial lists do not make a consistent set of conditions."""


@dataclass(frozen=True)
class ConditionScores:
    """One condition's scores with their labels, in trial order, and the files they came from."""

    scores: np.ndarray
    labels: np.ndarray
    score_file: str
    trials_file: str


def find_score_files(
    scores_dir: Path, default_trials: Path | None, trials_for: Mapping[str, Path]
) -> dict[str, tuple[Path, Path]]:
    """``{condition: (score file, trials file)}`` for every ``<condition>.score`` in ``scores_dir``.

    VOiCES conditions have their own trials and need an explicit ``trials_for`` entry; the others use
    ``trials_for`` when given, else ``default_trials``.
    """
    if not scores_dir.is_dir():
        raise ResultsError(f"{scores_dir}: no such scores directory")
    found: dict[str, tuple[Path, Path]] = {}
    for condition in condition_order(path.stem for path in scores_dir.glob("*.score") if path.is_file()):
        score_file = scores_dir / f"{condition}.score"
        trials = trials_for.get(condition, None if condition in VOICES else default_trials)
        if trials is None:
            option = f"--trials-for {condition}=PATH" if condition in VOICES else "--trials"
            raise ResultsError(f"{score_file}: no trial list for '{condition}'; give {option}")
        found[condition] = (score_file, trials)
    if not found:
        raise ResultsError(
            f"{scores_dir}: no condition score files (<condition>.score: clean.score, babble_0.score, ...)"
        )
    return found


def load_conditions(files: Mapping[str, tuple[Path, Path]]) -> dict[str, ConditionScores]:
    """Read every condition's scores against its trial list (each trial list is read once)."""
    trial_lists: dict[Path, TrialList] = {}
    loaded = {}
    for condition, (score_file, trials_file) in files.items():
        if trials_file not in trial_lists:
            trial_lists[trials_file] = read_trials(trials_file)
        trials = trial_lists[trials_file]
        scores = scores_for_trials(trials, read_scores(score_file), str(score_file))
        loaded[condition] = ConditionScores(scores, trials.labels, str(score_file), str(trials_file))
    return loaded


def condition_metrics(conditions: Mapping[str, ConditionScores]) -> dict[str, dict[str, float]]:
    """``{condition: {"eer": fraction, "min_dcf_<name>": ..., "eer_threshold": score}}``; results.json's content.

    The EER threshold is what ``diffsv.load_model(...).verify`` decides with by default.
    """
    results = {}
    for condition, data in conditions.items():
        try:
            results[condition] = verification_metrics(data.scores, data.labels)
            results[condition][EER_THRESHOLD_KEY] = eer_threshold(data.scores, data.labels)
        except ValueError as exc:
            raise ResultsError(f"{data.score_file} (trials {data.trials_file}): {exc}") from exc
    return results


def _mean(values: Mapping[str, float], conditions: Sequence[str]) -> float | None:
    present = [values[c] for c in conditions if c in values]
    return sum(present) / len(present) if present else None


@dataclass(frozen=True)
class _System:
    """One system's values for a table; its averages use only the conditions in ``average_over``."""

    label: str
    values: Mapping[str, float]
    average_over: frozenset[str]


def _row_cells(system: _System, group: str, snrs: Sequence[int]) -> list[float | None]:
    """One report row: a cell per SNR and the average; ``clean`` and ``avg`` fill only the average."""
    cells: list[float | None] = [None] * len(snrs)
    if group == CLEAN:
        return cells + [system.values.get(CLEAN)]
    if group == "avg":
        members = tuple(c for c in system.average_over if in_headline(c))
    else:
        members = tuple(f"{group}_{snr}" for snr in snrs)
        cells = [system.values.get(c) for c in members]
    averaged = {c: system.values[c] for c in members if c in system.values and c in system.average_over}
    return cells + [_mean(averaged, members)]


def _relative_change(ours: float | None, base: float | None) -> str:
    if ours is None or base is None or base == 0:
        return "-"
    return f"{100 * (ours - base) / base:+.1f}%"


def _snr_table(
    systems: Sequence[_System], fmt: str, compare: bool, noises: Sequence[str], snrs: Sequence[int]
) -> list[str]:
    """Rows clean, each noise present and the headline average, one sub-row per system; a column per SNR.

    With ``compare``, the last two systems are "ours" and the baseline, and a relative-change row follows.
    """
    header = ["condition", "system", *(f"{snr} dB" for snr in snrs), "avg"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups = [(CLEAN, CLEAN), *((noise, noise) for noise in noises), ("avg", "avg (clean+babble+music+noise)")]
    for group, title in groups:
        blank = [group in (CLEAN, "avg") and i < len(snrs) for i in range(len(snrs) + 1)]
        rows = [(system.label, _row_cells(system, group, snrs)) for system in systems]
        for k, (label, cells) in enumerate(rows):
            shown = [
                "" if empty else "-" if v is None else format(v, fmt) for v, empty in zip(cells, blank, strict=True)
            ]
            lines.append(f"| {title if k == 0 else ''} | {label} | " + " | ".join(shown) + " |")
        if compare:
            (_, ours), (base_label, base) = rows[-2], rows[-1]
            changes = ["" if empty else _relative_change(o, b) for o, b, empty in zip(ours, base, blank, strict=True)]
            lines.append(f"|  | change vs {base_label} | " + " | ".join(changes) + " |")
    return lines


def _other_table(
    conditions: Sequence[str],
    systems: Sequence[tuple[str, Mapping[str, Mapping[str, float]]]],
    titles: Mapping[str, str] | None = None,
) -> list[str]:
    """Every metric of each condition (shown by its title when ``titles`` has one) and system."""
    header = ["condition", "system", "EER (%)", *(f"minDCF {p.name}" for p in DCF_OPERATING_POINTS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for condition in conditions:
        for label, results in systems:
            metrics = results.get(condition)
            cells = ["-"] * (len(header) - 2)
            if metrics is not None:
                cells = [f"{100 * metrics['eer']:.2f}", *(f"{metrics[p.key]:.4f}" for p in DCF_OPERATING_POINTS)]
            lines.append(f"| {(titles or {}).get(condition, condition)} | {label} | " + " | ".join(cells) + " |")
    return lines


def render_markdown(
    label: str,
    results: Mapping[str, Mapping[str, float]],
    trials_files: Mapping[str, str],
    figures: Sequence[str],
    compare: tuple[str, Mapping[str, Mapping[str, float]]] | None = None,
    paper: bool = True,
) -> str:
    """RESULTS.md: EER (%) by condition and SNR (next to the paper's Diff-SV unless ``paper`` is false:
    its VoxCeleb1 figures mean nothing beside another corpus), then each minDCF, then VOiCES."""
    systems = [(label, results)] + ([compare] if compare else [])
    by_trials: dict[str, list[str]] = {}
    for condition, trials in trials_files.items():
        by_trials.setdefault(trials, []).append(condition)
    points = "; ".join(f"{p.name}: {p.description}" for p in DCF_OPERATING_POINTS)
    out = [
        f"# Results: {label}",
        "",
        "Generated by `python -m diffsv.bin.make_results`; `results.json` holds the same figures (EER as a fraction).",
        "",
        *(f"- Trials `{trials}`: {', '.join(conds)}." for trials, conds in by_trials.items()),
        "- EER: where the linearly interpolated DET curve crosses P_miss = P_fa (ties never split).",
        f'- minDCF, normalised by min(C_miss p, C_fa (1 - p)): {points}. "reference" is the authors\' setting.',
        '- A condition without a score file is shown as "-". Every average ("avg") is over the conditions',
        "  present in every experiment shown only, so averages stay comparable.",
    ]
    if paper:
        out += [
            "- Paper: Diff-SV (Kim et al., ICASSP 2024, arXiv:2309.08320), EER only; its averages over all conditions",
            f"  are the published 3.90 (clean+babble+music+noise) and 4.64 (nonspeech). Source: {PAPER_SOURCE}.",
        ]
    if compare:
        out.append(
            f"- change: relative change of {label} against {compare[0]}, (ours - theirs) / theirs; negative is better."
        )
    common = frozenset(results).intersection(
        *(res for _, res in systems), *([PAPER_DIFFSV_EER_PERCENT] if paper else [])
    )
    present = condition_order(set().union(*(res for _, res in systems)))
    # The protocol's rows and columns always (a missing condition shows as "-"), and any other present.
    noises, snrs = noise_types([*NOISY, *present]), snrs_of([*NOISY, *present])
    others = [c for c in present if c != CLEAN and noisy_parts(c) is None]
    eer_systems = [_System(name, _scaled(res, "eer", 100.0), common) for name, res in systems]
    if paper:
        eer_systems.insert(0, _System(PAPER_LABEL, PAPER_DIFFSV_EER_PERCENT, common))
    out += ["", "## EER (%)", "", *_snr_table(eer_systems, ".2f", compare is not None, noises, snrs)]
    for point in DCF_OPERATING_POINTS:
        dcf_systems = [_System(name, _scaled(res, point.key, 1.0), common) for name, res in systems]
        table = _snr_table(dcf_systems, ".4f", compare is not None, noises, snrs)
        out += ["", f"## minDCF {point.name} ({point.description})", "", *table]
    if any(c in present for c in VOX1_EXTENDED):  # trained without VoxCeleb1 dev: the VoxCeleb2 user's table
        vox1 = [c for c in VOX1_TITLES if c in present]
        out += ["", "## VoxCeleb1-O, -E and -H", "", *_other_table(vox1, systems, VOX1_TITLES)]
        others = [c for c in others if c not in VOX1_EXTENDED]
    if others:
        out += ["", "## Other conditions", "", *_other_table(others, systems)]
    if figures:
        out += ["", "## Figures", "", *(f"![{Path(f).stem}]({f})" for f in figures)]
    return "\n".join(out) + "\n"


def _scaled(results: Mapping[str, Mapping[str, float]], key: str, scale: float) -> dict[str, float]:
    return {condition: scale * metrics[key] for condition, metrics in results.items()}


def write_json(path: Path, results: Mapping[str, Mapping[str, float]]) -> None:
    """results.json in condition order, every metric key and the EER threshold present."""
    keys = (*METRIC_KEYS, EER_THRESHOLD_KEY)
    ordered = {c: {k: float(results[c][k]) for k in keys} for c in condition_order(results)}
    with atomic_open(path) as handle:
        json.dump(ordered, handle, indent=2)
        handle.write("\n")


# ---- figures ---------------------------------------------------------------------------------------

_DET_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
_DET_LIMITS = (0.0005, 0.5)


def figure_groups(conditions: Sequence[str]) -> dict[str, list[str]]:
    """One figure for clean, one per noise present (its SNRs, plus clean as a reference), one for VOiCES and
    one per other condition."""
    ordered = condition_order(conditions)
    groups: dict[str, list[str]] = {}
    if CLEAN in ordered:
        groups[CLEAN] = [CLEAN]
    for noise in noise_types(ordered):
        members = [c for c in ordered if (parts := noisy_parts(c)) and parts[0] == noise]
        groups[noise] = members + ([CLEAN] if CLEAN in ordered else [])
    voices = [c for c in ordered if c in VOICES]
    if voices:
        groups["voices"] = voices
    for condition in ordered:
        if condition != CLEAN and condition not in VOICES and noisy_parts(condition) is None:
            groups[condition] = [condition]
    return groups


def system_labels(ours: Path, other: Path) -> tuple[str, str]:
    """Names for two experiments in one report: their directory names, or, when those are the same (two
    ``exp/diffsv`` under different roots), the shortest trailing parts of their paths that tell them apart."""
    a, b = ours.absolute().parts, other.absolute().parts
    for k in range(1, max(len(a), len(b)) + 1):
        if a[-k:] != b[-k:]:
            return "/".join(a[-k:]).lstrip("/"), "/".join(b[-k:]).lstrip("/")
    return ours.name, f"{other.name} (compared)"


def plot_det(path: Path, title: str, conditions: Mapping[str, ConditionScores]) -> None:
    """DET curves on normal-deviate axes, one line per condition (clean dashed)."""
    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot()
    low, high = ndtri(_DET_LIMITS)
    for name, data in conditions.items():
        p_fa, p_miss = det_curve(data.scores, data.labels)
        x, y = ndtri(np.clip(p_fa, *_DET_LIMITS)), ndtri(np.clip(p_miss, *_DET_LIMITS))
        ax.plot(x, y, linestyle="--" if name == CLEAN else "-", linewidth=1.2, label=name)
    ax.plot([low, high], [low, high], color="0.7", linewidth=0.8)
    ticks = ndtri(_DET_TICKS)
    labels = [f"{100 * t:g}" for t in _DET_TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("false alarm probability (%)")
    ax.set_ylabel("miss probability (%)")
    ax.set_title(title)
    ax.grid(True, color="0.9")
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    save_png(fig, path)


def plot_score_distributions(path: Path, title: str, conditions: Mapping[str, ConditionScores]) -> None:
    """Target and non-target score histograms (densities), one panel per condition."""
    fig = Figure(figsize=(3.2 * len(conditions), 3.0))
    axes = fig.subplots(1, len(conditions), squeeze=False)[0]
    for ax, (name, data) in zip(axes, conditions.items(), strict=True):
        target = data.labels.astype(bool)
        low, high = float(data.scores.min()), float(data.scores.max())
        bins = np.linspace(low, high, 61) if high > low else np.linspace(low - 0.5, high + 0.5, 3)
        ax.hist(data.scores[~target], bins=bins, density=True, alpha=0.6, histtype="stepfilled", label="non-target")
        ax.hist(data.scores[target], bins=bins, density=True, alpha=0.6, histtype="stepfilled", label="target")
        ax.set_title(name)
        ax.set_xlabel("score")
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, path)


def write_figures(directory: Path, conditions: Mapping[str, ConditionScores]) -> list[str]:
    """``det_<group>.png`` and ``scores_<group>.png`` for every figure group; the file names written."""
    written = []
    for group, members in figure_groups(list(conditions)).items():
        subset = {name: conditions[name] for name in members}
        plot_det(directory / f"det_{group}.png", f"DET: {group}", subset)
        plot_score_distributions(directory / f"scores_{group}.png", f"scores: {group}", subset)
        written += [f"det_{group}.png", f"scores_{group}.png"]
    return written


def write_report(
    exp: Experiment,
    files: Mapping[str, tuple[Path, Path]],
    compare: tuple[Path, Mapping[str, tuple[Path, Path]]] | None = None,
    paper: bool = True,
) -> tuple[int, int]:
    """``results.json``, ``RESULTS.md`` and ``figures/`` of an experiment from its score files (and another
    experiment's beside it), each written only when complete; returns (conditions, figures)."""
    conditions = load_conditions(files)
    results = condition_metrics(conditions)
    label, shown = exp.name, None
    if compare:
        other, other_files = compare
        label, other_label = system_labels(exp.root, other)
        shown = (other_label, condition_metrics(load_conditions(other_files)))
    with atomic_directory(exp.figures_dir) as figures_dir:
        figures = write_figures(figures_dir, conditions)
    trials_files = {condition: str(trials) for condition, (_, trials) in files.items()}
    figure_files = [f"{exp.figures_dir.name}/{f}" for f in figures]
    markdown = render_markdown(label, results, trials_files, figure_files, shown, paper)
    write_json(exp.results_json, results)
    with atomic_open(exp.results_md) as handle:
        handle.write(markdown)
    return len(results), len(figures)
