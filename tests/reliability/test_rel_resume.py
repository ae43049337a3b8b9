"""Exact resume with BackupAndRestore, in real subprocesses: a training script
killed with SIGKILL between epochs, or stopped by Ctrl-C (SIGINT) inside an
epoch, then started again with the same command, ends with weights,
optimizer state and History bitwise equal to a run never interrupted."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from zen.train.backup import FILE_NAME, read_backup

SCRIPT = Path(__file__).with_name("rel_child.py")
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
PATIENCE = 120  # seconds: a loaded machine (kernels compiling beside the suite) is slow


def command(out, backup, api, *pause):
    return [sys.executable, str(SCRIPT), str(out), str(backup), "--api", api, *map(str, pause)]


def run(cmd):
    result = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def start_and_stop(cmd, marker, sig):
    """Start `cmd`, wait for it to write `marker` (it then sleeps), send `sig`;
    returns (return code, stderr)."""
    process = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + PATIENCE
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the child never paused: {process.communicate()[1]}")
        time.sleep(0.01)
    time.sleep(0.05)  # let it reach its sleep (the marker is written just before)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=PATIENCE)
    return process.returncode, stderr


def saved_run(out):
    """({name: array} of final.zen, its JSON config, the History) of a run."""
    with np.load(out / "final.zen", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    config = json.loads(arrays.pop("zen_config").tobytes())
    return arrays, config, json.loads((out / "history.json").read_text())


def assert_bitwise_equal(out_a, out_b):
    arrays_a, config_a, history_a = saved_run(out_a)
    arrays_b, config_b, history_b = saved_run(out_b)
    assert sorted(arrays_a) == sorted(arrays_b)
    assert any(name.startswith("optimizer/") for name in arrays_a)  # state is compared too
    for name in arrays_a:
        a, b = arrays_a[name], arrays_b[name]
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert config_a == config_b
    assert history_a == history_b and history_a["epoch"] == [0, 1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of each api: {api: output directory}."""
    root = tmp_path_factory.mktemp("reference")
    outputs = {}
    for api in ("fit", "trainer"):
        run(command(root / api, root / f"{api}-backup", api))
        assert not (root / f"{api}-backup").exists()  # a completed fit deletes its backup
        outputs[api] = root / api
    return outputs


@pytest.mark.parametrize("api", ["fit", "trainer"])
def test_sigkill_between_epochs_then_resume_is_bitwise_identical(tmp_path, reference, api):
    marker, backup = tmp_path / "paused", tmp_path / "backup"
    cmd = command(tmp_path / "out", backup, api, "--pause-at-epoch", 4, "--marker", marker)
    code, _ = start_and_stop(cmd, marker, signal.SIGKILL)
    assert code == -signal.SIGKILL
    saved = read_backup(backup / FILE_NAME)
    assert saved["epoch"] == 3 and saved["history"]["epoch"] == [0, 1, 2, 3]
    assert not list(backup.glob(".tmp-*"))
    run(cmd)  # the same command again
    assert_bitwise_equal(tmp_path / "out", reference[api])
    assert not backup.exists()


@pytest.mark.parametrize("api", ["fit", "trainer"])
def test_ctrl_c_inside_an_epoch_then_resume_is_bitwise_identical(tmp_path, reference, api):
    marker, backup = tmp_path / "paused", tmp_path / "backup"
    cmd = command(tmp_path / "out", backup, api, "--pause-at-batch", 4, 5, "--marker", marker)
    code, stderr = start_and_stop(cmd, marker, signal.SIGINT)
    assert code != 0 and "KeyboardInterrupt" in stderr
    assert read_backup(backup / FILE_NAME)["epoch"] == 3  # epoch 4's six batches are lost
    run(cmd)
    assert_bitwise_equal(tmp_path / "out", reference[api])
