"""The package's layering: what a user's ``import diffsv.inference`` loads, and which subpackages may import
which (a dataset never imports training; a bin entry point never imports another)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "diffsv"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def packages_loaded(*modules: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``modules``."""
    code = f"import sys, {', '.join(modules)}; print(*{{m.split('.')[0] for m in sys.modules}})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_inference_api_loads_neither_plotting_nor_scipy() -> None:
    assert packages_loaded("diffsv.inference") & {"matplotlib", "scipy"} == set()


@pytest.mark.parametrize(
    ("modules", "unneeded"),
    [
        (("diffsv.bin.make_noisy_sets",), {"torch", "torchaudio", "scipy", "matplotlib"}),
        (("diffsv.bin.convert_audio",), {"torch", "torchaudio", "scipy", "matplotlib"}),
        (("diffsv.bin.evaluate", "diffsv.evaluation.finishing"), {"torch", "torchaudio"}),
        (
            ("diffsv.bin.evaluate", "diffsv.evaluation.planning", "diffsv.evaluation.embedding_jobs"),
            {"matplotlib", "scipy"},
        ),
    ],
)
def test_each_recipe_job_loads_only_what_it_needs(modules: tuple[str, ...], unneeded: set[str]) -> None:
    """Recipe steps run as many short processes (a job array each), and torch alone takes seconds to import:
    stage 2's mixing jobs and stage 1's m4a conversion jobs need no torch; stage 5's finish scores and plots
    without torch, its plan and embed jobs run the model without plotting."""
    assert packages_loaded(*modules) & unneeded == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("data", "diffsv.training"),
        ("data", "diffsv.models"),
        ("data", "diffsv.bin"),
        ("models", "diffsv.training"),
        ("bin", "diffsv.bin"),
    ],
)
def test_no_import_runs_back_up(package: str, forbidden: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for module in imported_modules(path)
        if module == forbidden or module.startswith(f"{forbidden}.")
    ]
    assert offenders == []
