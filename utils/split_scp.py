#!/usr/bin/env python3
"""Split a Kaldi list file (scp, utt2spk, ...) into parts for parallel jobs; behind utils/split_scp.pl.

    split_scp.pl [--utt2spk=FILE] in.scp out1.scp out2.scp ...

Lines go, in order, into contiguous parts whose sizes differ by at most one (the first parts get
the extra lines, as in Kaldi). With ``--utt2spk`` every speaker's lines go into a single part, the
speakers in order of first appearance, and parts are balanced by line count; a speaker's lines are
gathered even when they are not adjacent in the input. Lines are copied byte for byte.

Nothing is written unless every part would be non-empty, and each part is written to a temporary
file in its directory and renamed, so a reader never sees a half-written list. Exit status 1 on error.
"""

from __future__ import annotations

import bisect
import os
import sys
import tempfile
from collections.abc import Sequence

PROG = "split_scp.pl"


class SplitError(Exception):
    """A problem with the inputs, reported as one line on stderr."""


def read_lines(path: str) -> list[bytes]:
    """The file's lines, each newline-terminated; blank lines are errors since they name no key."""
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
    except OSError as err:
        raise SplitError(f"cannot read {path}: {err.strerror}") from None
    if lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise SplitError(f"{path}:{number}: empty line")
    return [line + b"\n" for line in lines]


def split_even(num_items: int, num_parts: int) -> list[int]:
    """Sizes of ``num_parts`` contiguous parts of ``num_items``, the first ones one larger if needed."""
    quotient, remainder = divmod(num_items, num_parts)
    return [quotient + 1] * remainder + [quotient] * (num_parts - remainder)


def split_weighted(weights: Sequence[int], num_parts: int) -> list[int]:
    """How many consecutive groups go to each part so that the parts' summed weights are balanced.

    Each boundary is put where the running total comes closest to its share of the total, within the
    range that leaves at least one group for every part, so no part is empty when there are enough groups.
    """
    cumulative = [0]
    for weight in weights:
        cumulative.append(cumulative[-1] + weight)
    boundaries = [0]
    for part in range(1, num_parts):
        target = cumulative[-1] * part / num_parts
        lowest, highest = boundaries[-1] + 1, len(weights) - (num_parts - part)
        above = bisect.bisect_left(cumulative, target, lowest, highest + 1)
        candidates = [index for index in (above - 1, above) if lowest <= index <= highest]
        boundaries.append(min(candidates, key=lambda index: abs(cumulative[index] - target)))
    boundaries.append(len(weights))
    return [boundaries[part + 1] - boundaries[part] for part in range(num_parts)]


def group_by_speaker(lines: Sequence[bytes], utt2spk_path: str, scp_path: str) -> list[list[bytes]]:
    """The lines grouped per speaker, speakers in order of first appearance, lines in input order."""
    utt2spk: dict[bytes, bytes] = {}
    for number, line in enumerate(read_lines(utt2spk_path), 1):
        fields = line.split()
        if len(fields) != 2:
            raise SplitError(f"{utt2spk_path}:{number}: expected 'utt spk', got {_show(line)}")
        utt2spk[fields[0]] = fields[1]
    groups: dict[bytes, list[bytes]] = {}
    for line in lines:
        utt = line.split(None, 1)[0]
        if utt not in utt2spk:
            raise SplitError(f"utterance {_show(utt)} of {scp_path} is not in {utt2spk_path}")
        groups.setdefault(utt2spk[utt], []).append(line)
    return list(groups.values())


def split_scp(in_path: str, out_paths: Sequence[str], utt2spk_path: str | None = None) -> None:
    """Split ``in_path`` into ``out_paths`` (see the module docstring); raises ``SplitError``."""
    lines = read_lines(in_path)
    if not lines:
        raise SplitError(f"input {in_path} is empty")
    if utt2spk_path is None:
        groups = [[line] for line in lines]
        unit = "lines"
    else:
        groups = group_by_speaker(lines, utt2spk_path, in_path)
        unit = "speakers"
    if len(groups) < len(out_paths):
        raise SplitError(
            f"output {out_paths[len(groups)]} would be empty: {in_path} has {len(groups)} {unit} "
            f"for {len(out_paths)} outputs"
        )
    if utt2spk_path is None:
        counts = split_even(len(groups), len(out_paths))
    else:
        counts = split_weighted([len(group) for group in groups], len(out_paths))
    start = 0
    for part, path in enumerate(out_paths):
        end = start + counts[part]
        write_atomically(path, b"".join(line for group in groups[start:end] for line in group))
        start = end


def write_atomically(path: str, data: bytes) -> None:
    """Write via a temporary file in the same directory and a rename, so readers see all or nothing."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask (readable only by setting it), so outputs get the usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _show(text: bytes) -> str:
    return repr(text.decode("utf-8", "replace").strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    utt2spk_path = None
    if args and args[0].startswith("--utt2spk"):
        option, has_value, utt2spk_path = args.pop(0).partition("=")
        if option != "--utt2spk" or not has_value or not utt2spk_path:
            print(f"{PROG}: expected --utt2spk=FILE", file=sys.stderr)
            return 1
    if len(args) < 2:
        print(f"usage: {PROG} [--utt2spk=FILE] in.scp out1.scp [out2.scp ...]", file=sys.stderr)
        return 1
    try:
        split_scp(args[0], args[1:], utt2spk_path)
    except SplitError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROG}: cannot write {err.filename}: {err.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
