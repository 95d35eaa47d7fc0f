"""The ``diffsv`` command: embed, score, verify and look at the front end of a trained model.

    diffsv embed wav.scp embeddings.ark --model exp/diffsv      # Kaldi ark + scp of segment embeddings
    diffsv score trials embeddings.scp [--output scores]        # cosine scores; EER when trials are labelled
    diffsv verify enrol.wav test.wav --model exp/diffsv         # same speaker or not, at the EER threshold
    diffsv enhance noisy.wav frontend.png --model exp/diffsv    # noisy log-mel | enhancer prior | diffusion output

``--model`` takes an experiment directory (its final.pt, recorded test protocol, mean and threshold) or a
model file. Errors name the file and exit with status 1.
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


def load(args: argparse.Namespace) -> SpeakerVerifier:
    # torch is imported here, not at the top, so that --help answers at once.
    from diffsv.inference import load_model

    return load_model(args.model, device=args.device, sampler=args.sampler, steps=args.sampler_steps)


def embed(args: argparse.Namespace) -> str:
    """Embed every utterance of a Kaldi wav.scp (files, pipes or ark offsets; any sample rate) with the
    experiment's test protocol. Writes OUTPUT (.ark) and its .scp; each entry is a (segments, dim)
    matrix, its noise seeded by the utterance id exactly as recipe stage 5 seeds it."""
    from tqdm import tqdm

    from diffsv.data.kaldi_dir import read_wav_scp
    from diffsv.embedding import write_embeddings

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
    """Decide whether two recordings share a speaker: their score against the threshold (by default the
    experiment's clean EER point). Prints the verdict, the score and the threshold."""
    result = load(args).verify(args.enrol, args.test, threshold=args.threshold)
    verdict = "same speaker" if result.accepted else "different speakers"
    print(f"{verdict}: score {result.score:.4f}, threshold {result.threshold:.4f}")
    return ""


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
            ("--threshold", {"type": float, "help": "decision threshold [the experiment's EER threshold]"}),
        ),
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
