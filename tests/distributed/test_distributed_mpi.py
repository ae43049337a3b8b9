"""Data-parallel training for real: `mpiexec -n 2` runs dp_child.py, and the
results are compared with one process trained here at twice the batch.

With no dropout, 2 ranks at batch B reach the weights (and History) of one
process at batch 2B on the same data order; the ranks end identical; only
rank 0 prints and writes; an exception or a kill on one rank ends the job;
different models or data raise on every rank; a killed job resumes exactly
from rank 0's backup. Skipped only where mpi4py is not installed.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zen

if importlib.util.find_spec("mpi4py") is None:
    pytest.skip('mpi4py is not installed (pip install "zen[mpi]")', allow_module_level=True)

import dp_child  # noqa: E402  (tests/distributed is on the path of its tests)

CHILD = Path(__file__).with_name("dp_child.py")
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
EQUIVALENT = ["seq_sgd", "seq_adam", "seq_unbuilt", "seq_weighted", "fun_sgd", "fun_adam",
              "trainer_seeded", "sync_bn", "seq_metrics"]


def launch(out, scenario, timeout=60):
    """Run dp_child.py on 2 ranks; returns (exit status, stdout, stderr, seconds)."""
    assert MPIEXEC, "mpiexec not found: the mpich package provides it"
    start = time.monotonic()
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(CHILD), str(out), scenario],
                            env=ENV, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr, time.monotonic() - start


def weights(out, name, rank):
    with np.load(out / f"{name}_rank{rank}.npz") as arrays:
        return [arrays[key] for key in arrays.files]


def record(out, name, rank):
    return json.loads((out / f"{name}_rank{rank}.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One launch trains every case of dp_child.CASES on 2 ranks."""
    out = tmp_path_factory.mktemp("dp")
    status, stdout, stderr, _ = launch(out, "equivalence", timeout=120)
    assert status == 0, stderr
    return out, stdout


def test_the_collectives_of_the_api(run):
    out, _ = run
    for rank in (0, 1):
        api = json.loads((out / f"api_rank{rank}.json").read_text())
        assert api["mean"] == [0.5, 6.0] and api["dtype"] == "float32"
        assert (api["is_main"], api["size"]) == (rank == 0, 2)
        assert api["weights"] == [[[1.0, 1.0]] * 3, [-1.0, -1.0]]  # rank 1's, from root=1


@pytest.mark.parametrize("name", EQUIVALENT)
def test_two_ranks_at_batch_b_reach_one_process_at_batch_2b(run, name):
    out, _ = run
    model, history, _ = dp_child.train_case(name, 2 * dp_child.B)
    for got, expected in zip(weights(out, name, 0), model.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    got = record(out, name, 0)["history"]
    assert sorted(got) == sorted(history.history)
    for key, values in history.history.items():
        np.testing.assert_allclose(got[key], values, rtol=1e-5, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("name", list(dp_child.CASES))
def test_every_rank_ends_with_the_same_weights_and_history(run, name):
    out, _ = run
    for a, b in zip(weights(out, name, 0), weights(out, name, 1), strict=True):
        np.testing.assert_array_equal(a, b)
    assert record(out, name, 0)["history"] == record(out, name, 1)["history"]
    assert record(out, name, 0)["epoch"] == list(range(dp_child.EPOCHS))


def test_an_epochs_auc_precision_and_weighted_auc_are_the_jobs(run):
    """Keras's stateful metrics on 2 ranks: each epoch's AUC, PR AUC,
    precision, recall and weighted AUC (training and validation) equal one
    process's on the same samples (test_two_ranks_at_batch_b_...), which no
    mean of the ranks' own values gives: the states are summed."""
    out, _ = run
    history = record(out, "seq_metrics", 0)["history"]
    assert list(history) == [
        "loss", "auc", "pr_auc", "precision", "recall", "weighted_auc", "accuracy",
        "val_loss", "val_auc", "val_pr_auc", "val_precision", "val_recall", "val_weighted_auc",
        "val_accuracy"]
    own = [record(out, "seq_metrics", rank)["draws"] for rank in (0, 1)]
    for epoch in range(dp_child.EPOCHS):
        assert own[0][epoch] != own[1][epoch]
        assert abs(history["auc"][epoch] - (own[0][epoch] + own[1][epoch]) / 2) > 1e-6


def test_a_stop_asked_on_one_rank_stops_every_rank_after_the_same_batch(run):
    out, _ = run
    records = [record(out, "stop", rank) for rank in (0, 1)]
    assert [r["epoch"] for r in records] == [[0, 1], [0, 1]]
    assert [r["stats"]["batches"] for r in records] == [7 + 3, 6 + 3]  # rank 1: 1 empty step
    for a, b in zip(weights(out, "stop", 0), weights(out, "stop", 1), strict=True):
        np.testing.assert_array_equal(a, b)


def test_dropout_draws_from_a_different_stream_on_each_rank(run):
    out, _ = run
    draws = [record(out, "dropout", rank)["draws"] for rank in (0, 1)]
    assert len(draws[0]) == dp_child.EPOCHS and len(set(draws[0])) == dp_child.EPOCHS
    assert not set(draws[0]) & set(draws[1])


def test_buckets_start_during_backward(run):
    """Tiny buckets (one per weight): on rank 0, which has a sample in every
    step, every bucket of every step starts from a gradient hook."""
    out, _ = run
    stats = record(out, "fun_sgd", 0)["stats"]
    steps = dp_child.EPOCHS * 7  # 97 samples at a global batch of 16
    assert stats["steps"] == steps and stats["buckets"] == 6  # 3 Dense layers
    assert stats["started_in_backward"] == stats["buckets"] * steps
    assert stats["bytes"] == 4 * sum(w.size for w in weights(out, "fun_sgd", 0))


def test_only_rank_0_prints_and_writes_files(run):
    out, stdout = run
    # seq_sgd, and "stop" (stopped in epoch 2), train with verbose=2: a line per epoch
    assert stdout.count("Epoch 1/4 - loss") == 2 and stdout.count("Epoch 4/4 - loss") == 1
    files = out / "files"
    assert sorted(p.name for p in files.iterdir()) == [
        "backup_0", "checkpoint_0.zen", "curves_0.png", "log_0.csv", "model_0.zen",
        "weights_0.zen"]
    assert len((files / "log_0.csv").read_text().splitlines()) == 1 + dp_child.EPOCHS
    saved = zen.load_model(files / "model_0.zen")
    for a, b in zip(saved.get_weights(), weights(out, "seq_adam", 0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_exception_on_one_rank_aborts_the_job_with_its_traceback(tmp_path):
    status, _, stderr, seconds = launch(tmp_path, "raise")
    assert status != 0 and seconds < 30
    assert "rank 1 of 2 failed; aborting the job" in stderr
    assert "RuntimeError: rank 1 could not go on" in stderr


def test_a_rank_raising_before_fit_ends_the_job_without_init(tmp_path):
    status, _, stderr, seconds = launch(tmp_path, "raise_before_fit")
    assert status != 0 and seconds < 30
    assert "RuntimeError: rank 1 could not go on" in stderr


def test_a_rank_killed_with_sigkill_ends_the_job_within_seconds(tmp_path):
    status, _, _, seconds = launch(tmp_path, "kill")
    assert status != 0 and seconds < 15


@pytest.mark.parametrize("scenario, message", [
    ("model_mismatch", "weight '0.kernel': rank 0 has (6, 16) float32, rank 1 has (6, 17)"),
    ("data_mismatch", "training samples: rank 0 has 97, rank 1 has 89"),
    ("sync_bn_empty_step", "sync_batchnorm=True needs a sample on every process in every "
                           "step, but the last global batch of 1 samples"),
])
def test_what_cannot_train_together_raises_on_every_rank_before_training(tmp_path, scenario,
                                                                         message):
    status, stdout, stderr, _ = launch(tmp_path, scenario)
    assert status != 0
    assert stderr.count("zen.distributed.faults.SetupError: ") == 2
    assert message in stderr
    assert "Epoch" not in stdout


def test_a_killed_job_resumes_exactly_from_rank_0s_backup(run, tmp_path):
    (tmp_path / "fail").touch()  # rank 1 raises at the start of epoch 2
    status, _, stderr, _ = launch(tmp_path, "backup")
    assert status != 0 and "rank 1 could not go on" in stderr
    assert (tmp_path / "backup" / "backup.zen").exists()
    (tmp_path / "fail").unlink()
    status, stdout, stderr, _ = launch(tmp_path, "backup")
    assert status == 0, stderr
    assert "Epoch 1/4" not in stdout and "Epoch 3/4" in stdout  # epochs 1-2 were restored
    assert not (tmp_path / "backup").exists()
    out, _ = run  # the same training never interrupted
    for rank in (0, 1):
        for a, b in zip(weights(tmp_path, "backup", rank), weights(out, "seq_sgd", 0),
                        strict=True):
            np.testing.assert_array_equal(a, b)
        assert record(tmp_path, "backup", rank)["history"] == record(out, "seq_sgd", 0)["history"]


def test_the_mnist_example_trains_on_two_processes(tmp_path):
    try:
        zen.data.mnist.load_data()
    except (OSError, ValueError) as error:  # no copy of MNIST here and no network
        pytest.skip(f"MNIST is not available here ({error}); `make data` fetches it")
    example = Path(__file__).resolve().parents[2] / "examples" / "mnist_mlp.py"
    result = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(example), "--distributed",
                             "--epochs", "1", "--verbose", "2", "--out", str(tmp_path)],
                            env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test accuracy:") == 1  # rank 0 reports
    accuracy = float(result.stdout.split("test accuracy:")[1].split("%")[0])
    assert accuracy > 94
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "model.zen"]
