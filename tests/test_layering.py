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


def test_the_inference_api_loads_neither_plotting_nor_scipy() -> None:
    code = (
        "import sys, diffsv.inference; print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'scipy'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("data", "diffsv.training"), ("data", "diffsv.bin"), ("models", "diffsv.training"), ("bin", "diffsv.bin")],
)
def test_no_import_runs_back_up(package: str, forbidden: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for module in imported_modules(path)
        if module == forbidden or module.startswith(f"{forbidden}.")
    ]
    assert offenders == []
