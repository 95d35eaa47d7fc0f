"""Shared test fixtures: paths of the repository and the read-only reference data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference``; required in CI, skipped with a reason elsewhere."""
    if not (REFERENCE / "case_a.pt").exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference fixtures missing at {REFERENCE}")
        pytest.skip(f"reference fixtures not found at {REFERENCE}")
    return REFERENCE
