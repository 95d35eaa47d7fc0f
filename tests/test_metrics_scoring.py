"""Metrics, scoring and the evaluation report, checked against independent brute-force computations.

The brute-force metrics sweep every threshold and count misses and false alarms directly, in exact
rational arithmetic; the scoring references loop over trials, segments and cohort members explicitly.
The command-line tools run end to end on small kaldiio-written arks in a temporary directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import kaldiio
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from diffsv import protocol, results, scoring
from diffsv.bin import compute_metrics, make_results, score
from diffsv.data.kaldi_dir import DataDirError, Trial, TrialList, read_trials
from diffsv.metrics import (
    DCF_OPERATING_POINTS,
    METRIC_KEYS,
    cluster_bootstrap,
    det_curve,
    eer,
    eer_threshold,
    min_dcf,
    percentile_interval,
    verification_metrics,
)
from diffsv.scoring import ScoringError, embedding_table, read_scores, score_trials

REPO = Path(__file__).resolve().parents[1]

# ---- brute force ----------------------------------------------------------------------------------


def brute_points(scores: np.ndarray, labels: np.ndarray) -> list[tuple[Fraction, Fraction]]:
    """(P_fa, P_miss) accepting scores above each threshold in {-inf} + distinct scores, as fractions."""
    target = [s for s, y in zip(scores, labels, strict=True) if y]
    nontarget = [s for s, y in zip(scores, labels, strict=True) if not y]
    points = []
    for threshold in [-np.inf, *sorted(set(scores.tolist()))]:
        p_miss = Fraction(sum(s <= threshold for s in target), len(target))
        p_fa = Fraction(sum(s > threshold for s in nontarget), len(nontarget))
        points.append((p_fa, p_miss))
    return points


def brute_eer(scores: np.ndarray, labels: np.ndarray) -> Fraction:
    """Where the polyline through the operating points meets P_miss = P_fa, solved segment by segment."""
    points = brute_points(scores, labels)
    for (fa0, miss0), (fa1, miss1) in zip(points, points[1:], strict=False):
        d0, d1 = miss0 - fa0, miss1 - fa1
        if d0 == 0:
            return miss0
        if d0 < 0 < d1:
            t = -d0 / (d1 - d0)
            crossing = miss0 + t * (miss1 - miss0)
            assert crossing == fa0 + t * (fa1 - fa0)
            return crossing
        if d1 == 0:
            return miss1
    raise AssertionError("the DET curve never crosses the diagonal")


def brute_min_dcf(scores: np.ndarray, labels: np.ndarray, p: float, c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    costs = [c_miss * p * float(miss) + c_fa * (1 - p) * float(fa) for fa, miss in brute_points(scores, labels)]
    return min(costs) / min(c_miss * p, c_fa * (1 - p))


def random_set(seed: int, n: int, ties: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    labels[:2] = [True, False]
    scores = rng.standard_normal(n) + 1.2 * labels
    if ties == "coarse":
        scores = np.round(scores, 1)
    elif ties == "heavy":
        scores = np.floor(scores).clip(-1, 2)
    return scores, labels.astype(int)


# ---- metrics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ties", ["none", "coarse", "heavy"])
@pytest.mark.parametrize("seed", range(4))
def test_metrics_match_brute_force(seed: int, ties: str) -> None:
    scores, labels = random_set(seed, 150 + 40 * seed, ties)
    p_fa, p_miss = det_curve(scores, labels)
    expected = brute_points(scores, labels)
    np.testing.assert_allclose(p_fa, [float(fa) for fa, _ in expected], atol=1e-15)
    np.testing.assert_allclose(p_miss, [float(miss) for _, miss in expected], atol=1e-15)
    assert eer(scores, labels) == pytest.approx(float(brute_eer(scores, labels)), abs=1e-12)
    for point in DCF_OPERATING_POINTS:
        got = min_dcf(scores, labels, point.p_target, point.c_miss, point.c_fa)
        assert got == pytest.approx(brute_min_dcf(scores, labels, point.p_target, point.c_miss, point.c_fa), abs=1e-12)


def test_known_values() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    separated = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.6])
    assert eer(separated, labels) == 0.0
    assert min_dcf(separated, labels, 0.01) == 0.0
    assert eer(-separated, labels) == 1.0
    assert min_dcf(-separated, labels, 0.01) == 1.0
    assert eer(np.zeros(7), labels) == 0.5
    assert min_dcf(np.zeros(7), labels, 0.05) == 1.0


def test_hand_computed_example() -> None:
    # Ascending: 0.1n 0.3n 0.4t 0.6n 0.9t. Rejecting the three lowest gives (P_fa, P_miss) = (1/3, 1/2),
    # two lowest (1/3, 0): the crossing is at 1/3. Costs at p = 0.25: 0.75, 0.5, 0.25, 0.375, 0.125, 0.25.
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.3])
    labels = np.array([1, 1, 0, 0, 0])
    assert eer(scores, labels) == pytest.approx(1 / 3, abs=1e-15)
    assert min_dcf(scores, labels, 0.25) == pytest.approx(0.125 / 0.25, abs=1e-15)


def test_eer_threshold() -> None:
    # The hand-computed example's crossing lies 2/3 of the way from the point that accepts >= 0.4 to the one
    # that accepts >= 0.6.
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.3])
    labels = np.array([1, 1, 0, 0, 0])
    assert eer_threshold(scores, labels) == pytest.approx(0.4 + 0.2 * 2 / 3, abs=1e-12)
    # On a large set, deciding by the threshold makes both errors close to the EER.
    scores, labels = random_set(7, 4000, "none")
    threshold = eer_threshold(scores, labels)
    p_miss = np.mean(scores[labels == 1] < threshold)
    p_fa = np.mean(scores[labels == 0] >= threshold)
    assert p_miss == pytest.approx(eer(scores, labels), abs=2e-3)
    assert p_fa == pytest.approx(eer(scores, labels), abs=2e-3)


def test_tie_block_moves_together() -> None:
    # Blocks: {0: n}, {1: t t n n}, {2: t}. Points (P_fa, P_miss): (1, 0), (2/3, 0), (0, 2/3), (0, 1):
    # the crossing lies halfway along the tie block's diagonal segment, at 1/3, whatever the input order.
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([1.0, 1.0, 2.0, 0.0, 1.0, 1.0])
    p_fa, p_miss = det_curve(scores, labels)
    np.testing.assert_allclose(p_fa, [1, 2 / 3, 0, 0])
    np.testing.assert_allclose(p_miss, [0, 0, 2 / 3, 1])
    for order in ([0, 1, 2, 3, 4, 5], [3, 4, 5, 0, 1, 2], [5, 0, 4, 1, 3, 2]):
        assert eer(scores[order], labels[order]) == pytest.approx(1 / 3, abs=1e-15)


def test_verification_metrics_uses_the_reported_operating_points() -> None:
    scores, labels = random_set(7, 300, "coarse")
    result = verification_metrics(scores, labels)
    assert tuple(result) == METRIC_KEYS == ("eer", "min_dcf_0.01", "min_dcf_0.05", "min_dcf_reference")
    assert result["eer"] == eer(scores, labels)
    assert result["min_dcf_0.01"] == min_dcf(scores, labels, 0.01)
    assert result["min_dcf_0.05"] == min_dcf(scores, labels, 0.05)
    assert result["min_dcf_reference"] == min_dcf(scores, labels, 0.01, c_miss=10.0, c_fa=1.0)


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([], [], "empty"),
        ([0.1, 0.2], [1], "length mismatch"),
        ([0.1, np.nan, 0.3], [1, 0, 0], "NaN"),
        ([0.1, 0.2], [1, 1], "no non-target"),
        ([0.1, 0.2], [0, 0], "no target"),
        ([0.1, 0.2], [1, 2], "labels must be"),
        ([[0.1, 0.2]], [[1, 0]], "1-D"),
    ],
)
def test_degenerate_inputs_raise(scores: list, labels: list, message: str) -> None:
    for function in (eer, det_curve, verification_metrics, lambda s, y: min_dcf(s, y, 0.01)):
        with pytest.raises(ValueError, match=message):
            function(np.array(scores), np.array(labels))


@pytest.mark.parametrize(("p", "c_miss", "c_fa"), [(0.0, 1, 1), (1.0, 1, 1), (0.01, 0, 1), (0.01, 1, -1)])
def test_invalid_cost_parameters_raise(p: float, c_miss: float, c_fa: float) -> None:
    with pytest.raises(ValueError):
        min_dcf([0.1, 0.2], [1, 0], p, c_miss, c_fa)


score_sets = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(-6, 6), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
    )
)


@given(score_sets)
def test_invariant_to_monotonic_transforms(data: tuple[list[int], list[bool]]) -> None:
    scores, labels = np.array(data[0], dtype=float), np.array(data[1], dtype=int)
    transformed = 2.0 * scores**3 + 7.0  # strictly increasing and exact on these integers
    assert eer(transformed, labels) == eer(scores, labels)
    assert min_dcf(transformed, labels, 0.05) == min_dcf(scores, labels, 0.05)


@given(score_sets)
def test_symmetric_in_targets_and_nontargets(data: tuple[list[int], list[bool]]) -> None:
    scores, labels = np.array(data[0], dtype=float), np.array(data[1], dtype=int)
    # Negating the scores and swapping the classes swaps misses and false alarms.
    assert eer(-scores, 1 - labels) == pytest.approx(eer(scores, labels), abs=1e-12)
    swapped = min_dcf(-scores, 1 - labels, 0.95, c_miss=1.0, c_fa=10.0)
    assert swapped == pytest.approx(min_dcf(scores, labels, 0.05, c_miss=10.0, c_fa=1.0), abs=1e-12)


@given(score_sets, st.randoms(use_true_random=False))
def test_order_and_duplication_do_not_matter_and_values_are_bounded(data, random) -> None:
    scores, labels = np.array(data[0], dtype=float), np.array(data[1], dtype=int)
    order = list(range(len(scores)))
    random.shuffle(order)
    reference = verification_metrics(scores, labels)
    assert verification_metrics(scores[order], labels[order]) == pytest.approx(reference, abs=1e-12)
    assert verification_metrics(np.tile(scores, 2), np.tile(labels, 2)) == pytest.approx(reference, abs=1e-12)
    assert all(0.0 <= value <= 1.0 for value in reference.values())
    assert float(brute_eer(scores, labels)) == pytest.approx(reference["eer"], abs=1e-12)


# ---- scoring --------------------------------------------------------------------------------------


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


def explicit_score(a: np.ndarray, b: np.ndarray, mean: np.ndarray | None = None) -> float:
    """Mean over every segment pair of the cosine similarity, one pair at a time."""
    a, b = np.atleast_2d(a).astype(float), np.atleast_2d(b).astype(float)
    if mean is not None:
        a, b = a - mean, b - mean
    return float(np.mean([unit(x) @ unit(y) for x in a for y in b]))


def make_trials(pairs: list[tuple[str, str]]) -> TrialList:
    return TrialList(Path("trials"), [Trial(a, b, None) for a, b in pairs], list(range(1, len(pairs) + 1)))


def test_cluster_bootstrap_draws_whole_speakers_with_replacement() -> None:
    clusters = ["a", "a", "b", "c", "c", "c"]
    replicates = list(cluster_bootstrap(clusters, 200, seed=5))
    for index in replicates:
        counts = [np.bincount(index, minlength=6)[trials] for trials in ([0, 1], [2], [3, 4, 5])]
        assert all(len(set(c)) == 1 for c in counts)  # a speaker's trials come together ...
        assert sum(c[0] for c in counts) == 3  # ... and three speakers are drawn
    assert len({tuple(sorted(r)) for r in replicates}) > 5
    assert [list(r) for r in cluster_bootstrap(clusters, 3, seed=5)] == [list(r) for r in replicates[:3]]
    with pytest.raises(ValueError, match="at least 2 clusters"):
        next(cluster_bootstrap(["a", "a"], 1, seed=0))


def test_percentile_interval() -> None:
    assert percentile_interval(np.arange(101), 0.9) == pytest.approx((5.0, 95.0))
    with pytest.raises(ValueError, match="level"):
        percentile_interval([1.0], 1.0)


def test_single_segment_is_plain_cosine() -> None:
    rng = np.random.default_rng(0)
    vectors = {f"u{i}": rng.standard_normal(8) for i in range(5)}
    matrices = {name: v[None, :] for name, v in vectors.items()}
    trials = make_trials([("u0", "u1"), ("u2", "u3"), ("u4", "u0"), ("u1", "u1")])
    expected = [unit(vectors[a]) @ unit(vectors[b]) for a, b in zip(trials.enrol, trials.test, strict=True)]
    np.testing.assert_allclose(score_trials(trials, embedding_table(vectors, "v")), expected, atol=1e-12)
    np.testing.assert_allclose(score_trials(trials, embedding_table(matrices, "m")), expected, atol=1e-12)


def test_segment_averaging_equals_explicit_loop() -> None:
    rng = np.random.default_rng(1)
    embeddings = {f"u{i}": rng.standard_normal((4 if i % 3 else 3, 16)).astype(np.float32) for i in range(9)}
    embeddings["v"] = rng.standard_normal(16)
    mean = rng.standard_normal(16) * 0.3
    pairs = [(f"u{i}", f"u{j}") for i in range(9) for j in range(9) if i != j] + [("v", "u1"), ("u2", "v")]
    trials = make_trials(pairs)
    for m in (None, mean):
        got = score_trials(trials, embedding_table(embeddings, "e", m))
        expected = [explicit_score(embeddings[a], embeddings[b], m) for a, b in pairs]
        np.testing.assert_allclose(got, expected, atol=1e-12)


def explicit_asnorm(
    embeddings: dict, cohort: dict, pairs: list[tuple[str, str]], top_n: int, mean: np.ndarray | None
) -> list[float]:
    out = []
    for a, b in pairs:
        raw = explicit_score(embeddings[a], embeddings[b], mean)
        normalised = []
        for side in (a, b):
            cohort_scores = sorted((explicit_score(embeddings[side], c, mean) for c in cohort.values()), reverse=True)
            top = np.array(cohort_scores[:top_n])
            normalised.append((raw - top.mean()) / np.sqrt(np.mean((top - top.mean()) ** 2)))
        out.append(0.5 * sum(normalised))
    return out


@pytest.mark.parametrize("block", [None, 7])
def test_asnorm_equals_explicit_per_trial_computation(block: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if block is not None:  # force several cohort blocks
        monkeypatch.setattr(scoring, "_COHORT_BLOCK", block)
    rng = np.random.default_rng(2)
    embeddings = {f"u{i}": rng.standard_normal((4, 6)) for i in range(6)}
    cohort = {f"c{i}": rng.standard_normal((2, 6)) if i % 2 else rng.standard_normal(6) for i in range(25)}
    mean = rng.standard_normal(6) * 0.2
    pairs = [("u0", "u1"), ("u2", "u3"), ("u4", "u5"), ("u5", "u0"), ("u1", "u3")]
    table, cohort_table = embedding_table(embeddings, "e", mean), embedding_table(cohort, "c", mean)
    got = score_trials(make_trials(pairs), table, cohort_table, top_n=10)
    np.testing.assert_allclose(got, explicit_asnorm(embeddings, cohort, pairs, 10, mean), atol=1e-10)
    with pytest.raises(ScoringError, match="top-N"):
        score_trials(make_trials(pairs), table, cohort_table, top_n=26)


def test_unknown_utterance_names_trials_line() -> None:
    table = embedding_table({"a": np.ones(3), "b": np.arange(3.0)}, "x.scp")
    pairs = [Trial("a", "b", None), Trial("b", "zz", None), Trial("a", "zz", None)]
    trials = TrialList(Path("data/test/trials"), pairs, [1, 2, 4])
    with pytest.raises(ScoringError, match=r"data/test/trials:2: utterance 'zz' has no embedding in x\.scp"):
        score_trials(trials, table)


@pytest.mark.parametrize(
    ("embeddings", "message"),
    [
        ({"a": np.zeros(3)}, "zero-length"),
        ({"a": np.array([1.0, np.inf, 0])}, "non-finite"),
        ({"a": np.ones(3), "b": np.ones(4)}, "shape"),
        ({"a": np.ones((2, 2, 2))}, "shape"),
    ],
)
def test_unusable_embeddings_raise(embeddings: dict, message: str) -> None:
    with pytest.raises(ScoringError, match=message):
        embedding_table(embeddings, "e")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b target\nc d maybe\n", ":2: label must be"),
        ("a b target\nc d\n", ":2: expected"),
        ("a b\nc d target\n", ":2: expected 'utt1 utt2'"),
        ("a b target\na b nontarget\n", ":2: trial 'a b' repeats line 1"),
        ("a b target\n\nc d nontarget\n", ":2: empty line"),
        ("\n", ":1: empty line"),
        ("", "empty file"),
    ],
)
def test_bad_trials_files(tmp_path: Path, text: str, message: str) -> None:
    """The one trial reader (data directories, scoring, results) has one set of rules."""
    (tmp_path / "trials").write_text(text)
    with pytest.raises(DataDirError, match=message):
        read_trials(tmp_path / "trials", labelled=None)


def test_trials_labels_and_unlabelled_lists(tmp_path: Path) -> None:
    (tmp_path / "labelled").write_text("a b target\nc d nontarget\n")
    (tmp_path / "bare").write_text("a b\nc d\n")
    labelled = read_trials(tmp_path / "labelled")
    assert labelled.labels.tolist() == [1, 0] and labelled.lines == [1, 2]
    assert labelled.enrol == ["a", "c"] and labelled.test == ["b", "d"]
    assert read_trials(tmp_path / "labelled", labelled=None).labels.tolist() == [1, 0]
    bare = read_trials(tmp_path / "bare", labelled=None)
    assert bare.labels is None and [trial.target for trial in bare] == [None, None]
    with pytest.raises(DataDirError, match="bare:1: expected 'utt1 utt2 target|nontarget'"):
        read_trials(tmp_path / "bare")


@pytest.mark.parametrize(
    ("text", "message"), [("a b x\n", ":1: score 'x'"), ("a b nan\n", "NaN"), ("a b 1\na b 2\n", ":2: .* twice")]
)
def test_bad_score_files(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "s").write_text(text)
    with pytest.raises(ScoringError, match=message):
        read_scores(tmp_path / "s")


# ---- command-line tools ---------------------------------------------------------------------------


def write_ark(directory: Path, name: str, embeddings: dict[str, np.ndarray]) -> Path:
    scp = directory / f"{name}.scp"
    with kaldiio.WriteHelper(f"ark,scp:{directory / name}.ark,{scp}") as writer:
        for key, value in embeddings.items():
            writer(key, value)
    return scp


@pytest.fixture()
def corpus(tmp_path: Path) -> dict:
    """Six speakers x four utterances of (4, 12) segment embeddings, a trial list and a cohort."""
    rng = np.random.default_rng(3)
    speakers = rng.standard_normal((6, 12))
    utts = [f"spk{s}-utt{u}" for s in range(6) for u in range(4)]
    embeddings = {u: (speakers[int(u[3])] + 0.9 * rng.standard_normal((4, 12))).astype(np.float32) for u in utts}
    pairs = [(a, b) for i, a in enumerate(utts) for b in utts[i + 1 :]]
    lines = [f"{a} {b} {'target' if a[:4] == b[:4] else 'nontarget'}" for a, b in pairs]
    (tmp_path / "trials").write_text("\n".join(lines) + "\n")
    cohort = {f"c{i}": rng.standard_normal(12).astype(np.float32) for i in range(30)}
    np.save(tmp_path / "mean.npy", rng.standard_normal(12) * 0.1)
    return {
        "dir": tmp_path,
        "embeddings": embeddings,
        "scp": write_ark(tmp_path, "xvector", embeddings),
        "cohort_scp": write_ark(tmp_path, "cohort", cohort),
        "trials": tmp_path / "trials",
    }


def test_score_and_compute_metrics_end_to_end(corpus: dict, capsys: pytest.CaptureFixture) -> None:
    d = corpus["dir"]
    args = ["--trials", str(corpus["trials"]), "--embeddings", str(corpus["scp"]), "--output", str(d / "s/plain")]
    assert score.main(args) == 0
    lines = (d / "s/plain").read_text().splitlines()
    trials = read_trials(corpus["trials"])
    assert [line.split()[:2] for line in lines] == [list(p) for p in zip(trials.enrol, trials.test, strict=True)]
    expected = [
        explicit_score(corpus["embeddings"][a], corpus["embeddings"][b])
        for a, b in zip(trials.enrol, trials.test, strict=True)
    ]
    np.testing.assert_allclose([float(line.split()[2]) for line in lines], expected, atol=1e-7)

    normed = args[:-1] + [
        str(d / "s/asnorm"),
        "--mean",
        str(d / "mean.npy"),
        "--asnorm-cohort",
        str(corpus["cohort_scp"]),
        "--asnorm-top-n",
        "10",
    ]
    assert score.main(normed) == 0
    assert "AS-norm top 10 of 30 cohort" in capsys.readouterr().out

    twice = args + ["--trials", str(corpus["trials"]), "--embeddings", str(corpus["scp"]), "--output", str(d / "s/2")]
    assert score.main(twice) == 0  # several conditions in one process: the same scores for each
    assert (d / "s/2").read_text() == (d / "s/plain").read_text()
    with pytest.raises(SystemExit):
        score.main(args + ["--trials", str(corpus["trials"])])  # an --output short

    assert (
        compute_metrics.main(
            ["--trials", str(corpus["trials"]), "--scores", str(d / "s/plain"), "--json", str(d / "m.json")]
        )
        == 0
    )
    out = capsys.readouterr().out
    written = json.loads((d / "m.json").read_text())
    expected_metrics = verification_metrics(np.array(expected), trials.labels)
    assert written == pytest.approx(expected_metrics, abs=1e-6)
    assert f"EER = {100 * written['eer']:.3f} %" in out
    assert "minDCF reference (p_target=0.01, C_miss=10, C_fa=1)" in out


def test_score_error_exits_1_naming_the_line_and_leaves_no_output(corpus: dict) -> None:
    d = corpus["dir"]
    with open(corpus["trials"], "a") as handle:
        handle.write("spk0-utt0 ghost-utt nontarget\n")
    n_lines = len(corpus["trials"].read_text().splitlines())
    (d / "out").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "diffsv.bin.score",
            "--trials",
            str(corpus["trials"]),
            "--embeddings",
            str(corpus["scp"]),
            "--output",
            str(d / "out/test.score"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"trials:{n_lines}: utterance 'ghost-utt'" in result.stderr
    assert "Traceback" not in result.stderr
    assert list((d / "out").iterdir()) == []


def test_compute_metrics_names_a_missing_trial(corpus: dict, capsys: pytest.CaptureFixture) -> None:
    d = corpus["dir"]
    first, *rest = corpus["trials"].read_text().splitlines()
    (d / "partial.score").write_text("".join(f"{' '.join(line.split()[:2])} 0.5\n" for line in rest))
    code = compute_metrics.main(
        ["--trials", str(corpus["trials"]), "--scores", str(d / "partial.score"), "--json", str(d / "m.json")]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"no score for trial '{' '.join(first.split()[:2])}'" in err and "trials:1" in err
    assert not (d / "m.json").exists()


# ---- report ---------------------------------------------------------------------------------------


def test_paper_table_gives_the_published_averages() -> None:
    # shared/reference/paper_results.md: Diff-SV avg 3.90 (clean + 15 in-domain noisy), Nonspeech100 avg 4.64.
    paper = results.PAPER_DIFFSV_EER_PERCENT
    assert set(paper) == set(protocol.CONDITIONS) - set(protocol.VOICES) - set(protocol.VOX1_EXTENDED)
    assert round(np.mean([paper[c] for c in protocol.HEADLINE]), 2) == 3.90
    assert round(np.mean([paper[f"nonspeech_{snr}"] for snr in protocol.SNRS]), 2) == 4.64


def write_condition_scores(directory: Path, trials: Path, conditions: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    labelled = read_trials(trials)
    directory.mkdir(parents=True)
    for k, condition in enumerate(conditions):
        scores = labelled.labels * (2.0 - 0.2 * k) + rng.standard_normal(len(labelled))
        scoring.write_scores(directory / f"{condition}.score", labelled, scores)


def test_make_results_writes_report_json_and_figures(corpus: dict) -> None:
    d = corpus["dir"]
    conditions = ["clean", "babble_0", "babble_5", "music_20", "nonspeech_10", "voices_dev"]
    write_condition_scores(d / "exp/scores", corpus["trials"], conditions, seed=4)
    write_condition_scores(d / "base/scores", corpus["trials"], ["clean", "babble_0", "voices_dev"], seed=5)
    voices = f"voices_dev={corpus['trials']}"
    args = ["--exp", str(d / "exp"), "--trials", str(corpus["trials"]), "--trials-for", voices]
    assert make_results.main(args + ["--compare", str(d / "base")]) == 0

    written = json.loads((d / "exp/results.json").read_text())
    assert list(written) == conditions
    for values in written.values():
        assert tuple(values) == (*METRIC_KEYS, "eer_threshold")
        assert all(0.0 <= values[key] <= 1.0 for key in METRIC_KEYS)
    assert written["babble_0"]["eer"] > written["clean"]["eer"]

    report = (d / "exp/RESULTS.md").read_text()
    assert "| babble | Diff-SV (paper) | 8.74 | 4.51 | 3.33 | 2.82 | 2.61 |" in report
    assert f"| {100 * written['clean']['eer']:.2f} |" in report
    assert "# Results: exp" in report and "change vs base |" in report and "## Other conditions" in report
    assert "present in every experiment shown only" in report
    assert "| noise | Diff-SV (paper) | 6.01 | 4.52 | 3.49 | 2.93 | 2.64 | - |" in report

    assert make_results.main(args + ["--no-paper"]) == 0
    report = (d / "exp/RESULTS.md").read_text()
    assert "(paper)" not in report and "| clean | exp |" in report

    figures = sorted(p.name for p in (d / "exp/figures").iterdir())
    groups = ["babble", "clean", "music", "nonspeech", "voices"]
    assert figures == sorted([f"det_{g}.png" for g in groups] + [f"scores_{g}.png" for g in groups])
    for name in figures:
        assert (d / "exp/figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](figures/{name})" in report


def test_conditions_the_protocol_does_not_name_are_reported_never_dropped(corpus: dict) -> None:
    d = corpus["dir"]
    conditions = ["mydata", "reverb_5", "babble_0", "clean", "babble_-5"]
    write_condition_scores(d / "other/scores", corpus["trials"], conditions, seed=9)
    assert make_results.main(["--exp", str(d / "other"), "--trials", str(corpus["trials"]), "--no-paper"]) == 0
    written = json.loads((d / "other/results.json").read_text())
    assert list(written) == ["clean", "babble_-5", "babble_0", "reverb_5", "mydata"]
    report = (d / "other/RESULTS.md").read_text()
    assert "| condition | system | -5 dB | 0 dB | 5 dB | 10 dB | 15 dB | 20 dB | avg |" in report
    eer = {c: 100 * written[c]["eer"] for c in written}
    babble_avg = (eer["babble_-5"] + eer["babble_0"]) / 2
    babble = f"| babble | other | {eer['babble_-5']:.2f} | {eer['babble_0']:.2f} | - | - | - | - | {babble_avg:.2f} |"
    assert babble in report and f"| reverb | other | - | - | {eer['reverb_5']:.2f} | - | - | - |" in report
    headline = (eer["clean"] + eer["babble_-5"] + eer["babble_0"]) / 3  # an unknown noise is not in-domain
    assert f"| avg (clean+babble+music+noise) | other |  |  |  |  |  |  | {headline:.2f} |" in report
    assert "## Other conditions" in report and f"| mydata | other | {eer['mydata']:.2f} |" in report
    assert {"det_reverb.png", "det_mydata.png", "det_babble.png"} <= {p.name for p in (d / "other/figures").iterdir()}


def test_experiments_of_the_same_name_are_told_apart(corpus: dict) -> None:
    d = corpus["dir"]
    for root, seed in (("run1", 7), ("run2", 8)):
        write_condition_scores(d / root / "exp" / "diffsv" / "scores", corpus["trials"], ["clean"], seed=seed)
    ours, other = d / "run1" / "exp" / "diffsv", d / "run2" / "exp" / "diffsv"
    args = ["--exp", str(ours), "--trials", str(corpus["trials"]), "--compare", str(other), "--no-paper"]
    assert make_results.main(args) == 0
    report = (ours / "RESULTS.md").read_text()
    assert "# Results: run1/exp/diffsv" in report and "| clean | run1/exp/diffsv |" in report
    assert "|  | run2/exp/diffsv |" in report and "change vs run2/exp/diffsv |" in report
    assert results.system_labels(Path("exp/diffsv"), Path("exp/baseline")) == ("diffsv", "baseline")
    assert results.system_labels(Path("exp/diffsv"), Path("exp/diffsv")) == ("diffsv", "diffsv (compared)")


def test_make_results_errors(corpus: dict, capsys: pytest.CaptureFixture) -> None:
    d = corpus["dir"]
    write_condition_scores(d / "exp/scores", corpus["trials"], ["clean", "voices_eval"], seed=6)
    assert make_results.main(["--exp", str(d / "exp"), "--trials", str(corpus["trials"])]) == 1
    assert "--trials-for voices_eval=PATH" in capsys.readouterr().err
    assert make_results.main(["--exp", str(d / "exp"), "--trials-for", f"voices_eval={corpus['trials']}"]) == 1
    assert "no trial list for 'clean'; give --trials" in capsys.readouterr().err
    assert make_results.main(["--exp", str(d / "nothing"), "--trials", str(corpus["trials"])]) == 1
    assert not (d / "exp/results.json").exists() and not (d / "exp/RESULTS.md").exists()
