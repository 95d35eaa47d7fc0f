"""Recipe stage 5: embed every evaluation set, score every condition, write the report (see diffsv.evaluation).

    jobs=$(python -m diffsv.bin.evaluate plan --exp exp/diffsv --data data --nj 8 \
             [--model final|best] [--segments 4 --segment-samples 159920] [--sampler euler --sampler-steps 10] \
             [--score-norm none|mean|asnorm --cohort-utts 3000 --asnorm-top-n 300])
    [ "$jobs" -eq 0 ] || run.pl JOB=1:$jobs exp/diffsv/log/embed.JOB.log \
        python -m diffsv.bin.evaluate embed --exp exp/diffsv --job JOB
    python -m diffsv.bin.evaluate finish --exp exp/diffsv [--compare exp/baseline] [--no-paper]

``plan`` prints only the number of embedding jobs (0 when every set is up to date). Errors name the file
and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.embedding_segments import SegmentConfig
from diffsv.experiment import MODEL_NAMES, Experiment
from diffsv.scoring import SCORE_NORMS
from diffsv.utils.argtypes import positive_int
from diffsv.utils.arithmetic import PRECISIONS

#: The options that make the SegmentConfig rather than a keyword of planning.plan.
PROTOCOL_OPTIONS = ("segments", "segment_samples")


def sampler_name(text: str) -> str:
    """argparse type of ``--sampler``: a registered sampler. A type rather than ``choices``, so that the sampler
    registry, which imports torch, is read only when the option is given (to ``plan``, which needs torch)."""
    from diffsv.models.samplers import SAMPLERS

    try:
        SAMPLERS.check(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="decide what to embed; print the number of jobs")
    plan.add_argument("--exp", type=Path, required=True)
    plan.add_argument("--data", type=Path, required=True, help="the recipe's data directory (eval_sets.json)")
    plan.add_argument("--model", dest="model_name", choices=MODEL_NAMES, default="final")
    plan.add_argument("--nj", type=positive_int, default=1, help="at most this many embedding jobs")
    plan.add_argument("--segments", type=positive_int, default=SegmentConfig.segments)
    plan.add_argument("--segment-samples", type=positive_int, default=SegmentConfig.segment_samples)
    plan.add_argument("--seed", type=int, default=0, help="seeds the sampler's starting noise per utterance")
    plan.add_argument("--sampler", type=sampler_name, help="[the model's configured one]")
    plan.add_argument("--sampler-steps", dest="steps", type=positive_int, help="[the model's configured number]")
    plan.add_argument("--score-norm", choices=SCORE_NORMS.names(), default="none")
    plan.add_argument("--cohort-utts", type=positive_int, default=3000, help="training utterances in the cohort")
    plan.add_argument("--asnorm-top-n", type=positive_int, default=300)
    plan.add_argument("--batch-size", type=positive_int, default=8, help="segments per forward pass (a GPU: more)")
    plan.add_argument("--precision", choices=PRECISIONS, default="fp32", help="tf32, bf16: for GPUs")
    plan.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the embed jobs run (recorded)")
    embed = commands.add_parser("embed", help="one embedding job")
    embed.add_argument("--exp", type=Path, required=True)
    embed.add_argument("--job", type=positive_int, required=True)
    embed.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: the plan's (another is an error)"
    )
    embed.add_argument("--threads", type=positive_int, help="torch CPU threads (run.pl --num-threads)")
    finish = commands.add_parser("finish", help="merge, score and report")
    finish.add_argument("--exp", type=Path, required=True)
    finish.add_argument("--compare", type=Path, help="another experiment shown beside this one")
    finish.add_argument("--no-paper", action="store_true", help="leave out the paper's EERs")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    # Each command imports its step's module only: finish runs without torch, plan and embed without matplotlib.
    exp = Experiment(args.exp)
    if args.command == "plan":
        from diffsv.evaluation import planning

        segments = SegmentConfig(args.segments, args.segment_samples)
        # the remaining options are planning.plan's keyword arguments, by name
        settings = {k: v for k, v in vars(args).items() if k not in ("command", "exp", "data", *PROTOCOL_OPTIONS)}
        chosen = planning.plan(exp, args.data, segments, **settings)
        names = ", ".join(s.name for s in chosen.sets) or "nothing (every set is up to date)"
        print(f"evaluate: to embed: {names}", file=sys.stderr)
        print(chosen.jobs)
        return
    if args.command == "embed":
        from diffsv.evaluation import embedding_jobs

        lines = embedding_jobs.embed_job(exp, args.job, args.device, args.threads)
    else:
        from diffsv.evaluation import finishing

        lines = finishing.finish(exp, args.compare, not args.no_paper)
    for line in lines:
        print(f"evaluate: {line}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError) as exc:  # DataDirError, AudioError and CheckpointError are ValueErrors
        print(f"evaluate {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
