"""Whether a folder of wheels, installed beside a bare torch + torchaudio, has every requirement it names.

    python3 bench/wheel_closure.py .whl 3.12      # make gpu-wheels runs it; exit 1 names what is missing

Each wheel's ``Requires-Dist`` (its markers evaluated for CPython ``VERSION`` on x86-64 Linux, extras left
out) must be met by another wheel of the folder, by what a torch install brings (:data:`WITH_TORCH`), or be
one of :data:`LEFT_OUT`. stdlib only, apart from the ``packaging`` that pip vendors.
"""

from __future__ import annotations

import re
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement

#: Installed with torch (its own requirements, and pip/setuptools of a virtual environment).
WITH_TORCH = {"torch", "torchaudio", "typing-extensions", "filelock", "sympy", "mpmath", "networkx", "jinja2", "fsspec"}
WITH_TORCH |= {"setuptools", "pip"}
#: Required by a carried wheel, but never imported by the check; each would take megabytes of the 64 MiB a
#: device machine is carried: tensorboard's server (grpcio) and image summaries (pillow). Writing event
#: files of scalars, all the Trainer does, needs neither (the CPU rehearsal runs without them).
LEFT_OUT = {"grpcio": "tensorboard's server only", "pillow": "tensorboard's image summaries only"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing(folder: Path, python: str) -> list[str]:
    """``wheel requires name`` for each unmet requirement of the wheels in ``folder``."""
    environment = {"python_version": python, "python_full_version": f"{python}.0", "implementation_name": "cpython"}
    environment |= {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64", "extra": ""}
    wheels = sorted(folder.glob("*.whl"))
    have = {normalise(wheel.name.split("-")[0]) for wheel in wheels} | WITH_TORCH | set(LEFT_OUT)
    unmet = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            if normalise(requirement.name) not in have:
                unmet.append(f"{wheel.name} requires {requirement.name}")
    return unmet


def main() -> int:
    folder, python = Path(sys.argv[1]), sys.argv[2]
    if not any(folder.glob("*.whl")):
        print(f"wheel_closure: no wheels in {folder}", file=sys.stderr)
        return 1
    unmet = missing(folder, python)
    for line in unmet:
        print(f"wheel_closure: {folder}: {line}, which is not there: add it to bench/gpu_wheels.txt", file=sys.stderr)
    return 1 if unmet else 0


if __name__ == "__main__":
    sys.exit(main())
