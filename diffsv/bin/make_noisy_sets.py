"""Recipe stage 2: noisy copies of the test set, in parallel jobs, then their data directories.

    # one job of N (run.pl JOB=1:N ...): mix the utterances listed in a split of wav.scp
    python -m diffsv.bin.make_noisy_sets mix --data data --utterances data/test/split4/wav.2.scp [options]
    # after all jobs: write data/test_<condition>_<snr> for every condition and SNR
    python -m diffsv.bin.make_noisy_sets data-dirs --data data [options]

Options: --audio-dir DIR [--snrs=0,5,10,15,20] [--conditions babble,music,...] [--seed N]
[--audio-format flac|wav]. The test set is ``<data>/test``; each noise of ``diffsv.protocol.TEST_NOISES``
comes from its data directory under ``<data>`` (``musan_speech_test`` for babble, ...), and a noise whose
directory stage 1 did not make (its corpus was not given) is left out, saying so. ``data-dirs`` lists the
sets it wrote in ``<data>/eval_sets.json``, replacing the ones an earlier run listed, so stage 5 scores
exactly these. SNRs are integers in dB, separated by commas or spaces (``--snrs="-5 0 5"``: a value
starting with "-" needs the ``=``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from diffsv.data.audio import AUDIO_FORMATS, AudioError
from diffsv.data.audio_info import SAMPLE_RATE
from diffsv.data.eval_sets import EvalSet, write_eval_sets
from diffsv.data.kaldi_dir import DataDirError, read_data_dir, read_wav_scp
from diffsv.data.noise_mixing import NoisePool
from diffsv.data.noisy_sets import NoiseCondition, mix_utterances, noisy_data_dirs
from diffsv.protocol import CLEAN_SET, SNRS, TEST_NOISES, noisy_set_name
from diffsv.utils.fileio import remove_stale_temporaries

#: The protocol's test noises by name; ``--<name>-data`` gives each one's data directory.
CONDITIONS = {noise.name: noise for noise in TEST_NOISES}


def snr_list(text: str) -> list[int]:
    """``"0,5,10"`` or ``"-5 0 5"``: distinct integer SNRs in dB, in the order given."""
    items = [item for item in re.split(r"[,\s]+", text.strip()) if item]
    try:
        snrs = [int(item) for item in items]
    except ValueError:
        raise argparse.ArgumentTypeError(f"SNRs must be integers (dB), got {text!r}") from None
    if not snrs or len(set(snrs)) != len(snrs):
        raise argparse.ArgumentTypeError(f"expected distinct SNRs, got {text!r}")
    return snrs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", type=Path, required=True, help="the recipe's data directory")
    common.add_argument("--audio-dir", type=Path, required=True, help="where the noisy audio files go")
    common.add_argument("--snrs", type=snr_list, default=",".join(map(str, SNRS)), help="SNRs in dB [%(default)s]")
    common.add_argument("--conditions", default=",".join(CONDITIONS), help="noises to add [%(default)s]")
    common.add_argument("--seed", type=int, default=3)
    common.add_argument("--audio-format", choices=sorted(AUDIO_FORMATS), default="flac")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    mix = commands.add_parser("mix", parents=[common], help="mix one job's utterances")
    mix.add_argument("--utterances", type=Path, help="wav.scp subset to mix (default: all of the test set)")
    commands.add_parser("data-dirs", parents=[common], help="write the noisy data directories")
    args = parser.parse_args(argv)
    args.conditions = args.conditions.split(",")
    unknown = sorted(set(args.conditions) - set(CONDITIONS))
    if unknown:
        parser.error(f"unknown conditions {unknown}; choose from {', '.join(CONDITIONS)}")
    return args


def available_noises(args: argparse.Namespace) -> list[str]:
    """The asked-for noises whose source data directory exists; the others are named and left out."""
    present = []
    for name in args.conditions:
        source = args.data / CONDITIONS[name].source
        if (source / "wav.scp").is_file():
            present.append(name)
        else:
            print(f"make_noisy_sets: no {source} (its corpus was not prepared): no {name}_<snr> test sets")
    return present


def mix(args: argparse.Namespace) -> None:
    test_dir = args.data / CLEAN_SET
    test = read_data_dir(test_dir)
    utts = list(read_wav_scp(args.utterances)) if args.utterances else list(test.utt2spk)
    unknown = [utt for utt in utts if utt not in test.utt2spk]
    if unknown:
        raise DataDirError(f"{args.utterances}: '{unknown[0]}' is not in {test_dir}/utt2spk")
    conditions = []
    for name in available_noises(args):
        directory = args.data / CONDITIONS[name].source
        pool = NoisePool(read_data_dir(directory), directory.name, SAMPLE_RATE)
        conditions.append(NoiseCondition(name, pool, CONDITIONS[name].files))
    remove_stale_temporaries(args.audio_dir)
    start = time.perf_counter()
    written, present = mix_utterances(
        test, utts, conditions, args.snrs, args.audio_dir, args.seed, SAMPLE_RATE, args.audio_format
    )
    seconds = time.perf_counter() - start
    rate = written / seconds if seconds > 0 else 0.0
    print(
        f"make_noisy_sets: {len(utts)} utterances x {len(conditions) * len(args.snrs)} conditions: "
        f"{written} written, {present} already present ({rate:.1f} utterance-conditions/s)"
    )


def data_dirs(args: argparse.Namespace) -> None:
    test_dir = args.data / CLEAN_SET
    test = read_data_dir(test_dir)
    dirs = noisy_data_dirs(test, available_noises(args), args.snrs, args.audio_dir, args.audio_format)
    sets = []
    for condition, data in dirs.items():
        directory = args.data / noisy_set_name(condition)
        data.write(directory)
        sets.append(EvalSet(condition, directory, test_dir / "trials"))  # the copies keep its trials
    write_eval_sets(args.data, "make_noisy_sets", sets)
    print(f"make_noisy_sets: wrote {len(dirs)} data directories test_<condition>_<snr> in {args.data}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        mix(args) if args.command == "mix" else data_dirs(args)
    except (DataDirError, AudioError, OSError, ValueError) as exc:
        print(f"make_noisy_sets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
