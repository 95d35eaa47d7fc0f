"""The README and docs/ cannot drift from the code: every command their shell blocks show names a command
that exists, with options that command's ``--help`` lists, and every relative link leads somewhere.

Checked are the fenced shell blocks of the README's sections headed "Set-up ..." and "Usage ..." (what a
newcomer runs first) and of every page under docs/. A block is read as a reader who pastes it into a shell
at the repository's root runs it: ``cd`` carries over to the block's next lines, ``VAR=value`` prefixes are
set aside, and ``&&``, ``||``, ``;`` and ``|`` separate commands. The commands are not run (they need
corpora and trained models); each ``--help`` is asked once per test session.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
#: The README's sections whose shell blocks are checked, by the start of their heading.
CHECKED_README_HEADINGS = ("Set-up", "Usage")
SHELL_FENCES = {"sh", "bash", "shell"}
SEPARATORS = {"&&", "||", ";", "|"}
OPTION = re.compile(r"(?<![\w-])--[A-Za-z0-9][\w-]*")
FENCED_BLOCK = re.compile(r"^[ \t]*```([\w-]*)[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)  # in list items too
SUBCOMMANDS = re.compile(r"\{([\w,-]+)\}")


@dataclass(frozen=True)
class Asked:
    """How to ask one command for its ``--help``: its argv (``--help`` appended) and the directory."""

    argv: tuple[str, ...]
    cwd: str = "."

    def __str__(self) -> str:
        return " ".join(Path(part).name for part in self.argv)


@dataclass(frozen=True)
class Invocation:
    """One command a document shows, with where it was found."""

    where: str
    line: str
    kind: str  # run.sh, diffsv, python -m diffsv, bench, or the command's own name (make, git, ...)
    asked: Asked | None  # None: a command whose options this test does not check
    arguments: tuple[str, ...]

    def options(self) -> list[str]:
        return [match.group(0) for argument in self.arguments if (match := OPTION.match(argument))]


def sections(markdown: str) -> Iterator[tuple[str, str]]:
    """(heading, body) of each level-2 section; a body holds its subsections."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.M)
    yield from zip(parts[1::2], parts[2::2], strict=True)


def shell_blocks(markdown: str) -> list[str]:
    return [body for fence, body in FENCED_BLOCK.findall(markdown) if fence in SHELL_FENCES]


def logical_lines(block: str) -> list[str]:
    """The block's lines with backslash continuations joined."""
    return [line.strip() for line in re.sub(r"\\\n", " ", block).splitlines() if line.strip()]


def simple_commands(line: str) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for token in shlex.split(line, comments=True):
        if token in SEPARATORS:
            commands.append([])
        elif token.endswith(";"):
            commands[-1].append(token[:-1])
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


@functools.cache
def help_text(asked: Asked) -> str | None:
    """The command's ``--help``, or None when it does not answer (it does not exist)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    try:
        result = subprocess.run(
            [*asked.argv, "--help"], cwd=REPO / asked.cwd, env=env, capture_output=True, text=True, timeout=120
        )
    except OSError:  # no such directory, or not an executable
        return None
    return result.stdout + result.stderr if result.returncode == 0 else None


def with_subcommand(asked: Asked, arguments: list[str]) -> tuple[Asked, list[str]]:
    """A command with subcommands (``evaluate plan``, ``make_noisy_sets mix``) is checked against the
    subcommand's own ``--help``."""
    usage = (help_text(asked) or "").split("\n\n", 1)[0]
    choices = SUBCOMMANDS.search(usage)
    if choices and arguments and arguments[0] in choices.group(1).split(","):
        return Asked((*asked.argv, arguments[0]), asked.cwd), arguments[1:]
    return asked, arguments


def classify(command: list[str], cwd: str) -> tuple[str, Asked | None, list[str]]:
    """(kind, how to ask for its help, its arguments) of one simple command run in ``cwd``."""
    head, arguments = command[0], command[1:]
    python = Path(head).name.startswith("python")
    if Path(head).name == "run.sh":
        script = posixpath.normpath(posixpath.join(cwd, head))
        return "run.sh", Asked(("./run.sh",), posixpath.dirname(script)), arguments
    if head == "diffsv" and arguments:
        return "diffsv", Asked((sys.executable, "-m", "diffsv.cli", arguments[0])), arguments[1:]
    if python and len(arguments) > 1 and arguments[0] == "-m" and arguments[1].startswith("diffsv."):
        asked, rest = with_subcommand(Asked((sys.executable, "-m", arguments[1])), arguments[2:])
        return "python -m diffsv", asked, rest
    if python and arguments and arguments[0].startswith("bench/") and arguments[0].endswith(".py"):
        script = posixpath.normpath(posixpath.join(cwd, arguments[0]))
        return "bench", Asked((sys.executable, script)), arguments[1:]
    return Path(head).name, None, arguments


def invocations(markdown: str, where: str) -> Iterator[Invocation]:
    """Every simple command of the markdown's shell blocks, each block run from the repository's root."""
    for block in shell_blocks(markdown):
        cwd = "."
        for line in logical_lines(block):
            for command in simple_commands(line):
                while command and re.match(r"^[A-Za-z_]\w*=", command[0]):
                    command = command[1:]
                if command[:1] == ["cd"]:
                    cwd = posixpath.normpath(posixpath.join(cwd, command[1]))
                    yield Invocation(where, line, "cd", None, (cwd,))
                elif command:
                    kind, asked, arguments = classify(command, cwd)
                    yield Invocation(where, line, kind, asked, tuple(arguments))


def readme_invocations() -> list[Invocation]:
    found = []
    for heading, body in sections(README.read_text(encoding="utf-8")):
        if heading.startswith(CHECKED_README_HEADINGS):
            found.extend(invocations(body, f"README.md, '{heading}'"))
    return found


def spelled(option: str, kind: str) -> str:
    """run.sh, like Kaldi's parse_options.sh, takes ``--stop_stage`` for ``--stop-stage``."""
    return option.replace("_", "-") if kind == "run.sh" else option


def problems(found: list[Invocation]) -> list[str]:
    """What a reader would trip on: a synopsis instead of a command, a make target the Makefile lacks, a
    command that does not answer ``--help``, or an option its ``--help`` does not list."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w.-]+)\s*:(?!=)", makefile, flags=re.M))
    found_problems = []
    for invocation in found:
        where = f"{invocation.where}: {invocation.line}\n   "
        if "[--" in invocation.line:
            found_problems.append(f"{where} a synopsis ([--option]), not a command one can run as written")
        if invocation.kind == "cd" and not (REPO / invocation.arguments[0]).is_dir():
            found_problems.append(f"{where} no directory {invocation.arguments[0]} in the repository")
        if invocation.kind == "make":
            names = [name for name in invocation.arguments if not name.startswith("-") and "=" not in name]
            found_problems += [f"{where} no make target '{name}'" for name in names if name not in targets]
        if invocation.asked is None:
            continue
        text = help_text(invocation.asked)
        if text is None:
            found_problems.append(f"{where} '{invocation.asked} --help' fails in {invocation.asked.cwd}")
            continue
        known = {spelled(option, invocation.kind) for option in OPTION.findall(text)} | {"--help"}
        found_problems += [
            f"{where} {option} is not an option of '{invocation.asked}' (see its --help)"
            for option in invocation.options()
            if spelled(option, invocation.kind) not in known
        ]
    return found_problems


def test_the_readme_setup_and_usage_commands_exist_as_written() -> None:
    found = readme_invocations()
    headings = [heading for heading, _ in sections(README.read_text(encoding="utf-8"))]
    for start in CHECKED_README_HEADINGS:
        assert any(heading.startswith(start) for heading in headings), f"README.md has no section '{start} ...'"
    # Not vacuous: the README shows each kind of command this test checks.
    assert {"make", "run.sh", "diffsv", "python -m diffsv"} <= {invocation.kind for invocation in found}
    assert not (found_problems := problems(found)), "\n".join(found_problems)


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_the_commands_of_each_docs_page_exist_as_written(page: Path) -> None:
    found_problems = problems(list(invocations(page.read_text(encoding="utf-8"), f"docs/{page.name}")))
    assert not found_problems, "\n".join(found_problems)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCED_BLOCK.sub("", page.read_text(encoding="utf-8"))
    return {slug(heading) for heading in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    text = FENCED_BLOCK.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert not broken, "\n".join(broken)
