"""The ``diffsv`` command: embed, score, verify and look at the front end of a trained model.

    diffsv embed wav.scp embeddings.ark --model exp/diffsv      # Kaldi ark + scp of segment embeddings
    diffsv score trials embeddings.scp [--output scores]        # cosine scores; EER when trials are labelled
    diffsv verify enrol.wav test.wav --model exp/diffsv         # same speaker or not (EER threshold; LLR if calibrated)
    diffsv calibrate scores trials --model exp/diffsv           # fit scores -> LLRs; verify then decides at a prior
    diffsv enhance noisy.wav frontend.png --model exp/diffsv    # noisy log-mel | enhancer prior | diffusion output

``--model`` takes an experiment directory (its final.pt, recorded test protocol, mean, threshold and
calibration) or a model file; ``calibrate --model`` names the experiment directory it writes to. Errors
name the file and exit with status 1.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from diffsv.calibration import DEFAULT_TARGET_PRIOR
from diffsv.utils.argtypes import probability

if TYPE_CHECKING:
    from diffsv.inference import SpeakerVerifier

EPILOG = "Run 'diffsv COMMAND --help' for a command's options."


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="experiment directory or model file (final.pt)")
    parser.add_argument(
        "--sampler", help="reverse-diffusion sampler: euler (the paper's), heun, dpm_solver [the experiment's]"
    )
    parser.add_argument("--sampler-steps", type=int, help="sampler steps [the experiment's]")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--segments",
        type=segment_count,
        default="all",
        help="windows per recording: 'all' covers the whole of it; N takes N evenly spaced windows; "
        "'stage5' the experiment's test protocol [all]",
    )
    parser.add_argument(
        "--min-speech",
        type=float,
        default=0.5,
        help="seconds above the energy floor (-50 dBFS) an input needs; less is refused [0.5]",
    )
    parser.add_argument("--allow-short", action="store_true", help="embed any input of at least one frame")


def segment_count(text: str) -> int | str | None:
    """``all``, ``stage5`` (None: the experiment's protocol) or a positive count."""
    if text in ("all", "stage5"):
        return None if text == "stage5" else text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected 'all', 'stage5' or a positive count, got '{text}'")
    return int(text)


def load(args: argparse.Namespace) -> SpeakerVerifier:
    # torch is imported here, not at the top, so that --help answers at once.
    from diffsv.inference import load_model

    return load_model(
        args.model,
        device=args.device,
        sampler=args.sampler,
        steps=args.sampler_steps,
        segments=args.segments,
        min_speech=0.0 if args.allow_short else args.min_speech,
    )


def embed(args: argparse.Namespace) -> str:
    """Embed every recording of a Kaldi wav.scp (any sample rate), whole by default (--segments). Writes
    OUTPUT (.ark) and its .scp; each entry is a (segments, dim) matrix, the one the API and verify give the
    same audio (the sampler's noise is seeded by the audio itself, as in recipe stage 5)."""
    from tqdm import tqdm

    from diffsv.data.kaldi_dir import read_wav_scp
    from diffsv.embedding_store import write_embeddings

    entries = read_wav_scp(args.wav_scp)
    model = load(args)
    progress = tqdm(model.embed_all(entries.items()), total=len(entries), unit=" utt", disable=None)
    scp = args.output.with_suffix(".scp")
    count = write_embeddings(args.output, scp, progress)
    return f"wrote {count} embeddings to {args.output} and {scp}"


def score(args: argparse.Namespace) -> str:
    """Score a trial list with cosine similarity of segment-averaged embeddings, as recipe stage 5 does.
    Prints 'utt1 utt2 score' lines (or writes --output); with labelled trials also EER and minDCF."""
    from diffsv.data.kaldi_dir import read_trials
    from diffsv.metrics import verification_metrics
    from diffsv.scoring import embedding_table, load_embeddings, load_mean, score_trials, write_scores

    trials = read_trials(args.trials, labelled=None)
    mean = load_mean(args.mean) if args.mean else None
    scores = score_trials(trials, embedding_table(load_embeddings(args.embeddings), str(args.embeddings), mean))
    if args.output:
        write_scores(args.output, trials, scores)
    else:
        for enrol, test, value in zip(trials.enrol, trials.test, scores.tolist(), strict=True):
            print(f"{enrol} {test} {value:.8f}")
    if trials.labels is None:
        return f"scored {len(trials)} trials"
    metrics = verification_metrics(scores, trials.labels)
    dcf = ", ".join(f"minDCF({key[8:]}) {value:.4f}" for key, value in metrics.items() if key != "eer")
    return f"scored {len(trials)} trials: EER {100 * metrics['eer']:.2f}%, {dcf}"


def verify(args: argparse.Namespace) -> str:
    """Decide whether two recordings share a speaker. With a calibrated experiment (calibration.json, from
    'diffsv calibrate'), their log-likelihood ratio against the Bayes threshold at the target prior; else
    their score against the threshold (by default the experiment's clean EER point). Prints the verdict,
    the score, the LLR and prior when calibrated, and the threshold."""
    result = load(args).verify(args.enrol, args.test, threshold=args.threshold, target_prior=args.target_prior)
    verdict = "same speaker" if result.accepted else "different speakers"
    if result.target_prior is not None:
        print(
            f"{verdict}: LLR {result.llr:.3f} (score {result.score:.4f}), "
            f"threshold {result.threshold:.3f} at target prior {result.target_prior:g}"
        )
    elif result.llr is not None:
        print(f"{verdict}: score {result.score:.4f}, threshold {result.threshold:.4f} (LLR {result.llr:.3f})")
    else:
        print(f"{verdict}: score {result.score:.4f}, threshold {result.threshold:.4f}")
    return ""


def calibrate(args: argparse.Namespace) -> str:
    """Fit a logistic-regression calibration (diffsv.calibration) that maps the scores of a labelled trial
    list to log-likelihood ratios, and store it in the experiment as calibration.json, where 'diffsv
    verify' and diffsv.load_model find it. With --utt2dur, the durations of both sides of each trial are a
    quality measure too. The scores must be the experiment's own (for an experiment's stage-5 score files,
    'python -m diffsv.bin.calibrate --exp EXP --data DATA --sets ...' finds them and their trials)."""
    from diffsv.calibration import TrialSet
    from diffsv.calibration import calibrate as fit_and_store
    from diffsv.experiment import Experiment

    if not args.model.is_dir():
        raise ValueError(f"{args.model}: not an experiment directory (--model names where calibration.json goes)")
    exp = Experiment(args.model)
    trial_set = TrialSet(str(args.scores), args.scores, args.trials, args.utt2dur)
    quality = "duration" if args.utt2dur else None
    result = fit_and_store([trial_set], exp.calibration_file, quality, args.target_prior)
    return f"wrote {exp.calibration_file}: {result.describe()}"


def enhance(args: argparse.Namespace) -> str:
    """Draw what Diff-SV's front end does to a recording: its noisy log-mel, the enhancer's prior and the
    diffusion sampler's output, one above the other on one colour scale, as a PNG."""
    from matplotlib.figure import Figure

    from diffsv.utils.fileio import save_png

    model = load(args)
    views = model.front_end_views(args.audio)
    titles = {
        "noisy": "input: noisy log-mel",
        "prior": "enhancer prior x_hat",
        "diffusion": f"diffusion output z0 ({model.model.config.diffusion.sampler}, "
        f"{model.model.config.diffusion.steps} steps)",
    }
    low = min(np.percentile(view, 1) for view in views.values())
    high = max(np.percentile(view, 99) for view in views.values())
    hop = model.model.config.frontend.hop_length / model.sample_rate
    fig = Figure(figsize=(6 + 0.01 * views["noisy"].shape[1], 7.5), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    for ax, (name, view) in zip(axes, views.items(), strict=True):
        extent = (0.0, view.shape[1] * hop, 0, view.shape[0])
        image = ax.imshow(view, origin="lower", aspect="auto", extent=extent, vmin=low, vmax=high, cmap="magma")
        ax.set_title(titles[name], fontsize="medium")
        ax.set_ylabel("mel bin")
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(image, ax=list(axes), label="log-mel (mean-normalised)")
    fig.suptitle(f"{args.audio}", fontsize="small")
    save_png(fig, args.output)
    return f"wrote {args.output}"


@dataclass(frozen=True)
class Command:
    """A subcommand: its handler (whose docstring is its --help text), a one-line summary, its arguments."""

    handler: Callable[[argparse.Namespace], str]
    summary: str
    arguments: tuple[tuple[str, dict], ...]
    uses_model: bool = True


COMMANDS = {
    "embed": Command(
        embed,
        "embed the utterances of a wav.scp into a Kaldi ark/scp",
        (
            ("wav_scp", {"type": Path, "help": "Kaldi wav.scp: 'utt rxspecifier' lines"}),
            ("output", {"type": Path, "help": "embeddings archive to write (e.g. embeddings.ark)"}),
        ),
    ),
    "score": Command(
        score,
        "score a trial list from embeddings",
        (
            ("trials", {"type": Path, "help": "Kaldi trials: 'utt1 utt2 [target|nontarget]'"}),
            ("embeddings", {"type": Path, "help": "xvector.scp holding every trial's utterances"}),
            ("--mean", {"type": Path, "help": "mean embedding (.npy) subtracted before scoring"}),
            ("--output", {"type": Path, "help": "score file to write instead of printing"}),
        ),
        uses_model=False,
    ),
    "verify": Command(
        verify,
        "decide whether two recordings share a speaker",
        (
            ("enrol", {"type": Path, "help": "first recording (any format soundfile reads)"}),
            ("test", {"type": Path, "help": "second recording"}),
            ("--threshold", {"type": float, "help": "score threshold [calibrated: the LLR decides; else the EER's]"}),
            (
                "--target-prior",
                {
                    "type": probability,
                    "default": DEFAULT_TARGET_PRIOR,
                    "help": "prior of the same speaker, at which a calibrated experiment decides [%(default)s]",
                },
            ),
        ),
    ),
    "calibrate": Command(
        calibrate,
        "fit a score-to-LLR calibration on a labelled trial list and store it in the experiment",
        (
            ("scores", {"type": Path, "help": "score file: 'utt1 utt2 score' lines"}),
            ("trials", {"type": Path, "help": "Kaldi trials: 'utt1 utt2 target|nontarget'"}),
            ("--utt2dur", {"type": Path, "help": "durations of the trials' utterances: a quality measure"}),
            (
                "--target-prior",
                {"type": probability, "default": DEFAULT_TARGET_PRIOR, "help": "prior the fit weighs to [%(default)s]"},
            ),
            ("--model", {"type": Path, "required": True, "help": "experiment directory to store calibration.json"}),
        ),
        uses_model=False,
    ),
    "enhance": Command(
        enhance,
        "draw the front end's views of a recording as a PNG",
        (
            ("audio", {"type": Path, "help": "recording to show"}),
            ("output", {"type": Path, "help": "PNG to write"}),
        ),
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diffsv", description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=command.summary,
            description=f"{command.summary}.\n\n{inspect.cleandoc(command.handler.__doc__ or '')}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=command.handler)
        for flag, options in command.arguments:
            sub.add_argument(flag, **options)
        if command.uses_model:
            add_model_options(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = args.handler(args)
    except (ValueError, OSError) as exc:  # the toolkit's errors (audio, data, checkpoint, scoring) are ValueErrors
        print(f"diffsv {args.command}: {exc}", file=sys.stderr)
        return 1
    if summary:
        print(f"diffsv {args.command}: {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
