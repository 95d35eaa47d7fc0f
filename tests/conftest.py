"""Shared test fixtures: paths of the repository, the read-only reference data, and the schedulers
(a real single-node Slurm cluster, a fake grid engine) that utils/slurm.pl and queue.pl submit to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from slurm_cluster import ClusterUnavailable, SlurmCluster, start

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"

# Property tests: every run (make test, .ci/run, a single file) replays a fixed, derandomised set of examples
# with no example database, so a test command never passes or fails by the luck of a draw. Fresh draws look
# for new failures as their own target: `make test-fresh-draws` (HYPOTHESIS_PROFILE=fresh, many examples).
_PROPERTY_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("replay", derandomize=True, database=None, max_examples=60, **_PROPERTY_SETTINGS)
settings.register_profile(
    "fresh", database=None, max_examples=int(os.environ.get("FRESH_EXAMPLES", "2000")), **_PROPERTY_SETTINGS
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "replay"))

# Under pytest-xdist each worker gets its share of the cores for torch's threads (set before any test module
# imports torch), so that parallel workers do not oversubscribe the machine.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _cores = len(os.sched_getaffinity(0))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked ``recipe_run`` first (a stable sort): with parallel workers the runs of minutes
    start at once rather than after the short modules."""
    items.sort(key=lambda item: item.get_closest_marker("recipe_run") is None)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference``; required in CI, skipped with a reason elsewhere."""
    if not (REFERENCE / "case_a.pt").exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference fixtures missing at {REFERENCE}")
        pytest.skip(f"reference fixtures not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A single-node Slurm cluster for the session, torn down by its daemons' pids; skipped with the
    reason when Slurm is not installed or does not come up."""
    try:
        cluster = start(tmp_path_factory.mktemp("slurm"))
    except ClusterUnavailable as err:
        pytest.skip(f"no Slurm cluster: {err}")
    yield cluster
    cluster.stop()


@pytest.fixture
def fake_sge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment under which queue.pl submits to tests/fake_sge's qsub (state in a fresh directory)."""
    state = tmp_path_factory.mktemp("fake_sge")
    fakes = Path(__file__).resolve().parent / "fake_sge"
    return dict(os.environ, PATH=f"{fakes}:{os.environ['PATH']}", FAKE_SGE_DIR=str(state))
