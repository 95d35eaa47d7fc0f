"""Where Diff-SV pays: EER against training length for the demo's baseline and Diff-SV, with variants.

    tools/venv/bin/python bench/scale_study.py [--workdir bench/out/scale_study] [--groups main,seeds,variants]
    tools/venv/bin/python bench/scale_study.py --runs diffsv_residual,diffsv --max-epochs 40   # these runs only
    tools/venv/bin/python bench/scale_study.py --report-only      # the table and figures from what is done

Each run trains one of the demo's configs (``egs/mini_diffsv/conf/<system>.yaml``) on the full mini
corpus with the paper's schedule shape scaled to 160 epochs (320 -> 160: a half-epoch warm-up, a first
cycle of 20 epochs, each next cycle's cosine part 1.5x longer), and evaluates it at a series of lengths.
The model at a length is what stage 4 would give for a run of that length: the average of the last
``training.average_last`` epochs up to it (the schedule and the batches do not depend on the run's
length, so a longer run's first N epochs are the N-epoch run); it is scored on every test condition by
the recipe's own stage 5.

Groups, run in this order: ``main`` (both systems to 160 epochs, lengths interleaved so that both
curves grow together), ``seeds`` (two more training seeds of each system at the short lengths) and
``variants`` (Diff-SV switches that stay off in the paper's config). Everything is resumable: a killed
study continues from the last epoch checkpoint and the last finished evaluation. The report
(``scale_study.md``, ``scale_study.png``, ``variants.png``, ``scale_study.json``) is rewritten after
every evaluation; each Diff-SV-minus-baseline EER difference carries a 95 % speaker-bootstrap interval.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from matplotlib.figure import Figure

from diffsv.config import load_config
from diffsv.data.eval_sets import EvalSetsError, read_eval_sets
from diffsv.data.kaldi_dir import read_data_dir, read_trials
from diffsv.metrics import cluster_bootstrap, eer, percentile_interval
from diffsv.models.model_file import save_model_file
from diffsv.protocol import CLEAN, NOISE_TYPES, SNRS, TEST_NOISES
from diffsv.results import ConditionScores, find_score_files, load_conditions
from diffsv.training.checkpoint import average_model_states, epoch_checkpoints, last_epochs
from diffsv.training.config import ExperimentConfig
from diffsv.utils.fileio import atomic_open, save_png

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs" / "mini_diffsv"
#: The paper's schedule (1-epoch warm-up, 40-epoch first cycle, of 320 epochs) scaled to 160 epochs.
SCHEDULE: dict[str, Any] = {"scheduler.warmup_epochs": 0.5, "scheduler.first_cycle_epochs": 20.0}
MAIN_POINTS = (10, 20, 30, 40, 50, 60, 80, 100, 120, 160)
SHORT_POINTS = (10, 20, 40)
EXTRA_SEEDS = (1, 2)
RESAMPLES = 1000
IN_DOMAIN = tuple(f"{noise.name}_{snr}" for noise in TEST_NOISES if not noise.out_of_domain for snr in SNRS)
OUT_OF_DOMAIN = tuple(f"{noise.name}_{snr}" for noise in TEST_NOISES if noise.out_of_domain for snr in SNRS)
#: The figure's panels and the compared averages: clean, the in-domain noisy average, the out-of-domain one.
PANELS = {"clean": (CLEAN,), "in-domain noisy": IN_DOMAIN, "out-of-domain noisy": OUT_OF_DOMAIN}
#: The demo table's "avg": clean with babble, music and noise (the paper's headline average).
AVERAGE = (CLEAN, *IN_DOMAIN)

log = logging.getLogger("scale_study")


@dataclass(frozen=True)
class Run:
    """One training run: a demo config with overrides, evaluated at ``points`` epochs."""

    name: str
    system: str
    group: str
    points: tuple[int, ...]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def seed(self) -> int | None:
        return self.overrides.get("training.seed")


def plan() -> list[Run]:
    runs = [Run(system, system, "main", MAIN_POINTS) for system in ("baseline", "diffsv")]
    runs += [
        Run(f"{system}_seed{seed}", system, "seeds", SHORT_POINTS, {"training.seed": seed})
        for seed in EXTRA_SEEDS
        for system in ("baseline", "diffsv")
    ]
    runs += [
        Run(
            "diffsv_residual" + (f"_seed{seed}" if seed is not None else ""),
            "diffsv",
            "variants",
            SHORT_POINTS,
            {"model.enhancer.residual": True, **({"training.seed": seed} if seed is not None else {})},
            "the enhancer's prior is the noisy log-mel plus its output (a residual path), so it can follow each "
            "frame's level, which the reference's LayerNorm output cannot",
        )
        for seed in (None, *EXTRA_SEEDS)
    ]
    runs += [
        Run(
            f"diffsv_pretrain{epochs}",
            "diffsv",
            "variants",
            SHORT_POINTS,
            {"training.pretrain_epochs": epochs},
            f"stage 3 pre-trains the enhancer and score network for {epochs} epochs first",
        )
        for epochs in (5, 10, 20)
    ]
    runs += [
        Run(
            f"diffsv_steps{steps}",
            "diffsv",
            "variants",
            SHORT_POINTS,
            {"model.diffusion.steps": steps},
            f"{steps} reverse-diffusion steps in training and scoring (the demo: 2)",
        )
        for steps in (3, 10)
    ]
    return runs


class Study:
    """The study's directory: ``data/`` (stages 0-2 of the mini recipe), ``runs/<run>/`` (``config.yaml``,
    ``train/`` as stage 4 writes it, ``points/epoch_NNN/`` as stage 5 writes it), and the report."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"

    def run_dir(self, run: Run) -> Path:
        return self.workdir / "runs" / run.name

    def point_dir(self, run: Run, point: int) -> Path:
        return self.run_dir(run) / "points" / f"epoch_{point:03d}"

    def prepare_data(self) -> None:
        """Stages 0-2 of the mini recipe, unless stage 2 has listed its sets (they resume, so this is cheap)."""
        with contextlib.suppress(EvalSetsError):  # no list yet: nothing prepared
            if any(s.condition != CLEAN for s in read_eval_sets(self.data)):
                return
        log.info("stages 0-2 of the mini recipe into %s", self.data)
        options = ["--stage", "0", "--stop-stage", "2", "--exp", str(self.workdir / "log")]  # stage 2's job logs
        self._recipe(options, self.workdir / "log" / "data.log")

    def write_config(self, run: Run) -> Path:
        """The run's config: the demo's, the scaled schedule, the run's length and its overrides; checked on
        load like any config. A plan changed under an existing run is an error, not a silent mix."""
        config = yaml.safe_load((RECIPE / "conf" / f"{run.system}.yaml").read_text())
        settings = {**SCHEDULE, "training.epochs": max(run.points), **run.overrides}
        for key, value in settings.items():
            *parents, leaf = key.split(".")
            section = config
            for name in parents:
                section = section[name]
            section[leaf] = value
        text = yaml.safe_dump(config, sort_keys=False)
        path = self.run_dir(run) / "config.yaml"
        if path.exists() and yaml.safe_load(path.read_text()) != config:
            raise SystemExit(f"scale_study: {path} differs from the plan's run '{run.name}'; remove {path.parent}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as handle:
            handle.write(text)
        load_config(path, ExperimentConfig)
        return path

    def train(self, run: Run, point: int) -> None:
        """Stage 3 (if the run pre-trains) and stage 4 through epoch ``point``, resuming."""
        exp = self.run_dir(run) / "train"
        if any(path.name == f"epoch_{point}.pt" for path in epoch_checkpoints(exp / "joint")):
            return
        config = self.write_config(run)
        command = [sys.executable, "-m", "diffsv.bin.train", "--config", str(config), "--exp", str(exp)]
        command += ["--train-data", str(self.data / "train"), "--pools", str(self.data), "--no-progress"]
        if run.overrides.get("training.pretrain_epochs"):
            self._call([*command, "--phase", "pretrain"], self.run_dir(run) / "log" / "train_pretrain.log")
        joint = [*command, "--phase", "joint", "--until-epoch", str(point)]
        self._call(joint, self.run_dir(run) / "log" / "train_joint.log")

    def average(self, run: Run, point: int) -> Path:
        """The model stage 4 would write after ``point`` epochs: the mean of the last epochs up to it."""
        model = self.point_dir(run, point) / "final.pt"
        if model.exists():
            return model
        config = load_config(self.run_dir(run) / "config.yaml", ExperimentConfig)
        last = last_epochs(self.run_dir(run) / "train" / "joint", config.training.average_last, point)
        model.parent.mkdir(parents=True, exist_ok=True)
        save_model_file(model, average_model_states(last), config.model, averaged=[p.name for p in last])
        return model

    def evaluate(self, run: Run, point: int) -> None:
        """The recipe's stage 5 on the point's model (skipped when its results are newer than the model)."""
        model = self.average(run, point)
        results = model.parent / "results.json"
        if results.exists() and results.stat().st_mtime >= model.stat().st_mtime:
            return
        options = ["--stage", "5", "--stop-stage", "5", "--exp", str(model.parent.parent)]
        options += ["--config", str(self.run_dir(run) / "config.yaml"), "--tag", model.parent.name]
        self._recipe(options, self.run_dir(run) / "log" / f"stage5_{model.parent.name}.log")

    def _recipe(self, options: list[str], log_file: Path) -> None:
        self._call(["./run.sh", "--data", str(self.data), *options], log_file, cwd=RECIPE)

    @staticmethod
    def _call(command: list[str], log_file: Path, cwd: Path | None = None) -> None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a") as handle:
            status = subprocess.call(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
        if status:
            raise SystemExit(f"scale_study: {' '.join(command)} failed ({status}); see {log_file}")


def tasks(
    runs: Sequence[Run], groups: Sequence[str], names: Sequence[str] = (), max_epochs: int | None = None
) -> Iterator[tuple[Run, int]]:
    """(run, length) in the order they are worked on: group by group, each group's lengths in step; with
    ``names``, only those runs, in that order, each to its last length before the next starts; with
    ``max_epochs``, only the lengths up to it."""

    def within(points: Iterable[int]) -> list[int]:
        return sorted(p for p in points if max_epochs is None or p <= max_epochs)

    if names:
        for run in (run for name in names for run in runs if run.name == name and run.group in groups):
            yield from ((run, point) for point in within(run.points))
        return
    for group in groups:
        members = [run for run in runs if run.group == group]
        for point in within({p for run in members for p in run.points}):
            yield from ((run, point) for run in members if point in run.points)


@dataclass(frozen=True)
class Point:
    """One evaluated model: its per-condition EERs and scores."""

    run: Run
    epochs: int
    eer: Mapping[str, float]
    scores: Mapping[str, ConditionScores]

    def mean(self, conditions: Sequence[str]) -> float | None:
        present = [self.eer[c] for c in conditions if c in self.eer]
        return float(np.mean(present)) if len(present) == len(conditions) else None


def load_points(study: Study, runs: Sequence[Run]) -> dict[tuple[str, int], Point]:
    points = {}
    for run in runs:
        for epochs in run.points:
            directory = study.point_dir(run, epochs)
            if not (directory / "results.json").exists():
                continue
            results = json.loads((directory / "results.json").read_text())
            files = find_score_files(directory / "scores", study.data / "test" / "trials", {})
            eers = {condition: metrics["eer"] for condition, metrics in results.items()}
            points[run.name, epochs] = Point(run, epochs, eers, load_conditions(files))
    return points


def speakers_of_trials(study: Study, scores: ConditionScores) -> list[str]:
    """The enrolment speaker of each trial: the bootstrap's clusters."""
    utt2spk = read_data_dir(study.data / "test").utt2spk
    return [utt2spk[utt] for utt in read_trials(scores.trials_file).enrol]


def eer_difference(ours: Point, other: Point, clusters: Sequence[str], cache: Path) -> dict[str, list[float]]:
    """``{panel: [difference, low, high]}``: ours minus other in EER percentage points, per figure panel, with
    a 95 % interval from :data:`RESAMPLES` speaker-bootstrap replicates (both systems on the same draws).

    Cached next to ``ours``, keyed by both result files' modification times.
    """
    key = [other.run.name, other.epochs, *(_mtime(p) for p in (ours, other))]
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored["key"] == key:
            return stored["difference"]
    conditions = [c for members in PANELS.values() for c in members]
    for condition in conditions:
        if not np.array_equal(ours.scores[condition].labels, other.scores[condition].labels):
            raise SystemExit(f"scale_study: {condition}: the two runs were scored on different trials")
    replicates: dict[str, list[float]] = {panel: [] for panel in PANELS}
    for index in cluster_bootstrap(clusters, RESAMPLES, seed=0):
        rates = {
            condition: [
                eer(p.scores[condition].scores[index], p.scores[condition].labels[index]) for p in (ours, other)
            ]
            for condition in conditions
        }
        for panel, members in PANELS.items():
            replicates[panel].append(100 * float(np.mean([rates[c][0] - rates[c][1] for c in members])))
    difference = {
        panel: [100 * (ours.mean(members) - other.mean(members)), *percentile_interval(replicates[panel])]
        for panel, members in PANELS.items()
    }
    with atomic_open(cache) as handle:
        json.dump({"key": key, "difference": difference}, handle, indent=1)
    return difference


def _mtime(point: Point) -> float:
    return Path(point.scores[CLEAN].score_file).parent.parent.joinpath("results.json").stat().st_mtime


def reference_of(run: Run, runs: Sequence[Run]) -> Run:
    """What a run is compared with: Diff-SV with the baseline of its seed; a variant with Diff-SV of its seed."""
    if run.group == "variants":
        return next(r for r in runs if r.system == "diffsv" and r.seed == run.seed and r.group != "variants")
    return next(r for r in runs if r.system == "baseline" and r.seed == run.seed and r.group != "variants")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _interval(difference: Sequence[float]) -> str:
    """``+d [low, high]`` in EER points; bold when the interval excludes 0."""
    value, low, high = difference
    mark = "**" if low > 0 or high < 0 else ""
    return f"{mark}{value:+.2f}{mark} [{low:+.2f}, {high:+.2f}]"


def _table(rows: Sequence[tuple[Point, Mapping[str, Sequence[float]] | None]], against: str) -> list[str]:
    header = ["epochs", "run", "clean", *NOISE_TYPES, "avg", *(f"{panel}: {against}" for panel in PANELS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for point, difference in rows:
        cells = [_cell(point.mean((CLEAN,)))]
        cells += [_cell(point.mean(tuple(f"{noise}_{snr}" for snr in SNRS))) for noise in NOISE_TYPES]
        cells.append(_cell(point.mean(AVERAGE)))
        cells += [_interval(difference[panel]) if difference else "" for panel in PANELS]
        lines.append(f"| {point.epochs} | {point.run.name} | " + " | ".join(cells) + " |")
    return lines


def crossovers(base: Sequence[Point], ours: Sequence[Point]) -> dict[str, int | None]:
    """Per panel, the first length from which Diff-SV's EER stays at or below the baseline's (None: never)."""
    pairs = [(b, o) for b in base for o in ours if b.epochs == o.epochs]
    result: dict[str, int | None] = {}
    for panel, members in PANELS.items():
        ahead = [o.mean(members) <= b.mean(members) for b, o in pairs]
        result[panel] = next((pairs[i][0].epochs for i in range(len(pairs)) if all(ahead[i:])), None)
    return result


@dataclass(frozen=True)
class Curve:
    label: str
    points: Sequence[Point]
    style: Mapping[str, Any]


@dataclass(frozen=True)
class Band:
    """One system's EER range over its training seeds, per length: what a variant must beat to count."""

    label: str
    seeds: Mapping[int, Sequence[Point]]
    color: str


def seed_bands(points: Mapping[tuple[str, int], Point], runs: Sequence[Run]) -> list[Band]:
    """A band per system over the lengths at which at least two of its seeds were evaluated."""
    bands = []
    for system, style in SYSTEM_STYLE.items():
        seeds = {
            epochs: found
            for epochs in SHORT_POINTS
            if len(found := [points[r.name, epochs] for r in runs if r.system == system and (r.name, epochs) in points])
            > 1
        }
        if seeds:
            bands.append(Band(f"{system}: range over {max(map(len, seeds.values()))} seeds", seeds, style["color"]))
    return bands


def plot_curves(
    path: Path, curves: Sequence[Curve], crossing: Mapping[str, int | None], bands: Sequence[Band] = ()
) -> None:
    """EER (%) against training epochs, one panel per average of :data:`PANELS`; a dashed line at a crossover."""
    fig = Figure(figsize=(4.4 * len(PANELS), 4.0))
    for k, (panel, members) in enumerate(PANELS.items()):
        ax = fig.add_subplot(1, len(PANELS), k + 1)
        for band in bands:
            epochs = sorted(band.seeds)
            values = [[100 * p.mean(members) for p in band.seeds[e]] for e in epochs]
            ax.fill_between(
                epochs, list(map(min, values)), list(map(max, values)), color=band.color, alpha=0.15, label=band.label
            )
        for curve in (curve for curve in curves if curve.points):  # a run not yet evaluated has no legend entry
            ax.plot(
                [p.epochs for p in curve.points],
                [100 * p.mean(members) for p in curve.points],
                label=curve.label,
                **curve.style,
            )
        if crossing.get(panel) is not None:
            ax.axvline(crossing[panel], color="0.4", linestyle="--", linewidth=0.8)
        ax.set_title(panel)
        ax.set_xlabel("training epochs")
        ax.set_ylabel("EER (%)")
        ax.grid(True, color="0.9")
    fig.axes[0].legend(fontsize="x-small")
    fig.tight_layout()
    save_png(fig, path)


SYSTEM_STYLE = {"baseline": {"color": "tab:blue"}, "diffsv": {"color": "tab:orange"}}
#: Colours for the variants' curves, none shared with :data:`SYSTEM_STYLE`, so no variant reads as a system.
VARIANT_COLORS = ("tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def report(study: Study, runs: Sequence[Run]) -> None:
    """scale_study.md, scale_study.png, variants.png and scale_study.json from the evaluations done so far."""
    points = load_points(study, runs)
    if not points:
        return
    by_run = {run.name: [points[run.name, e] for e in run.points if (run.name, e) in points] for run in runs}
    clusters = speakers_of_trials(study, next(iter(points.values())).scores[CLEAN])

    def compared(point: Point) -> tuple[Point, Mapping[str, Sequence[float]] | None]:
        if point.run.system == "baseline":
            return point, None
        reference = points.get((reference_of(point.run, runs).name, point.epochs))
        if reference is None:
            return point, None
        cache = study.point_dir(point.run, point.epochs) / f"bootstrap_vs_{reference.run.name}.json"
        return point, eer_difference(point, reference, clusters, cache)

    main = [run for run in runs if run.group == "main"]
    seeds = [run for run in runs if run.group in ("main", "seeds")]
    variants = [run for run in runs if run.group == "variants"]
    main_rows = [compared(points[r.name, e]) for e in MAIN_POINTS for r in main if (r.name, e) in points]
    seed_rows = [compared(points[r.name, e]) for e in SHORT_POINTS for r in seeds if (r.name, e) in points]
    variant_rows = [compared(points[r.name, e]) for r in variants for e in r.points if (r.name, e) in points]
    crossing = crossovers(by_run["baseline"], by_run["diffsv"])

    curves = [
        Curve(
            f"{r.name} (seed {r.seed or 'of the config'})",
            by_run[r.name],
            {**SYSTEM_STYLE[r.system], "marker": "o", "markersize": 3},
        )
        for r in main
    ]
    curves += [
        Curve(r.name, by_run[r.name], {**SYSTEM_STYLE[r.system], "marker": "x", "linestyle": ":"})
        for r in runs
        if r.group == "seeds" and by_run[r.name]
    ]
    plot_curves(study.workdir / "scale_study.png", curves, crossing)
    if any(by_run[r.name] for r in variants):
        longest = max(max(r.points) for r in variants)
        variant_curves = [
            Curve(
                r.name,
                [p for p in by_run[r.name] if p.epochs <= longest],
                {**SYSTEM_STYLE[r.system], "marker": "o", "markersize": 3},
            )
            for r in main
        ]
        variant_curves += [
            Curve(r.name, by_run[r.name], {"color": color, "marker": "s", "markersize": 3, "linestyle": "--"})
            for r, color in zip(variants, itertools.cycle(VARIANT_COLORS))
            if by_run[r.name]
        ]
        plot_curves(study.workdir / "variants.png", variant_curves, {}, seed_bands(points, seeds))

    spread = seed_spread(points, seeds)
    text = [
        "# When does Diff-SV pay? (bench/scale_study.py)",
        "",
        "EER (%) on the mini corpus's test conditions; babble, music, noise and nonspeech average their five SNRs;",
        "avg is clean + babble + music + noise (the demo table's). Each difference column is this run minus the",
        "one it is compared with, in EER points, averaged over that panel's conditions, with a 95 % interval from",
        f"{RESAMPLES} bootstrap replicates over test speakers; **bold** when the interval excludes 0.",
        "",
        "## Main curve: Diff-SV against its baseline",
        "",
        "![EER against training epochs](scale_study.png)",
        "",
        *_table(main_rows, "minus baseline"),
        "",
        "Crossover (first length from which Diff-SV stays at or below the baseline): "
        + (
            "; ".join(f"{panel} {'none' if e is None else f'{e} epochs'}" for panel, e in crossing.items())
            if by_run["baseline"] and by_run["diffsv"]
            else "not measured (both main runs are needed)"
        )
        + ".",
        "",
        "## Training seeds",
        "",
        *_table(seed_rows, "minus the baseline of its seed"),
        "",
        *spread_table(spread),
    ]
    if variant_rows:
        text += [
            "",
            "## Variants (Diff-SV switches, each against the Diff-SV run of its seed)",
            "",
            "![variants](variants.png)",
            "",
            *(
                f"- `{r.name}`: {r.description} (`{', '.join(f'{k}: {v}' for k, v in r.overrides.items())}`)."
                for r in variants
            ),
            "",
            *_table(variant_rows, "minus Diff-SV of its seed"),
        ]
    with atomic_open(study.workdir / "scale_study.md") as handle:
        handle.write("\n".join(text) + "\n")
    record = {
        "runs": {r.name: {"system": r.system, "group": r.group, "overrides": dict(r.overrides)} for r in runs},
        "eer": {f"{name}@{epochs}": point.eer for (name, epochs), point in points.items()},
        "differences": {
            f"{point.run.name}@{point.epochs}": difference
            for point, difference in main_rows + seed_rows + variant_rows
            if difference
        },
        "crossover": crossing,
        "seed_spread": spread,
    }
    with atomic_open(study.workdir / "scale_study.json") as handle:
        json.dump(record, handle, indent=1)


def seed_spread(points: Mapping[tuple[str, int], Point], runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per system and short length, the mean and range of clean and avg EER (%) over the seeds evaluated."""
    rows = []
    for system in ("baseline", "diffsv"):
        for epochs in SHORT_POINTS:
            found = [points[r.name, epochs] for r in runs if r.system == system and (r.name, epochs) in points]
            if len(found) < 2:
                continue
            row: dict[str, Any] = {"system": system, "epochs": epochs, "seeds": len(found)}
            for name, members in (("clean", (CLEAN,)), ("avg", AVERAGE)):
                values = [100 * p.mean(members) for p in found]
                row[name] = {"mean": float(np.mean(values)), "min": min(values), "max": max(values)}
            rows.append(row)
    return rows


def spread_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["| system | epochs | seeds | clean mean [min, max] | avg mean [min, max] |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [f"{row[k]['mean']:.2f} [{row[k]['min']:.2f}, {row[k]['max']:.2f}]" for k in ("clean", "avg")]
        lines.append(f"| {row['system']} | {row['epochs']} | {row['seeds']} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "scale_study")
    parser.add_argument("--groups", default="main,seeds,variants", help="groups to work on, in order")
    parser.add_argument("--runs", default="", help="comma-separated run names to work on, in order; default: all")
    parser.add_argument("--max-epochs", type=int, help="work on the lengths up to this many epochs only")
    parser.add_argument("--report-only", action="store_true", help="write the report from what is done; train nothing")
    args = parser.parse_args(argv)
    groups = args.groups.split(",")
    unknown = sorted(set(groups) - {"main", "seeds", "variants"})
    if unknown:
        parser.error(f"unknown group(s) {unknown}: choose from main, seeds, variants")
    runs = plan()
    names = [name for name in args.runs.split(",") if name]
    unknown = sorted(set(names) - {run.name for run in runs if run.group in groups})
    if unknown:
        parser.error(f"run(s) {unknown} not in groups {groups}: choose from {', '.join(r.name for r in runs)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.FileHandler(args.workdir / "study.log"), logging.StreamHandler()],
    )
    study = Study(args.workdir.resolve())
    if not args.report_only:
        study.prepare_data()
        todo = list(tasks(runs, groups, names, args.max_epochs))
        for n, (run, point) in enumerate(todo, start=1):
            log.info("[%d/%d] %s: train to epoch %d", n, len(todo), run.name, point)
            study.train(run, point)
            log.info("[%d/%d] %s: stage 5 at epoch %d", n, len(todo), run.name, point)
            study.evaluate(run, point)
            report(study, runs)
    report(study, runs)
    log.info("report: %s", study.workdir / "scale_study.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
