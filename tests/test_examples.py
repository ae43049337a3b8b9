"""The examples run as a user runs them."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zen

ROOT = Path(__file__).resolve().parents[1]


def run_example(name, *args, timeout=120):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args],
                            capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_autodiff_basics_prints_the_blog_numbers():
    lines = run_example("autodiff_basics.py").splitlines()
    assert lines[0] == "500.0 1000.0"
    assert lines[1].startswith("w = 3.000, b = 2.000")


def test_rnn_sincos_reaches_a_small_validation_error(tmp_path):
    out = run_example("rnn_sincos.py", "--epochs", "5", "--verbose", "0", "--out", str(tmp_path))
    mse = float(out.split("validation MSE:")[1].split()[0])
    assert mse < 1e-3
    assert (tmp_path / "prediction.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


PNG = b"\x89PNG\r\n\x1a\n"


def test_mnist_mlp_exports_onnx_after_training(tmp_path):
    """--export writes <out>/model.onnx, which onnxruntime runs as the saved model predicts."""
    onnxruntime = pytest.importorskip("onnxruntime")
    out = run_example("mnist_mlp.py", "--epochs", "1", "--verbose", "0", "--export",
                      "--out", str(tmp_path), timeout=300)
    assert f"exported {tmp_path / 'model.onnx'}" in out
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    x = np.random.default_rng(0).random((3, 784), np.float32)
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    expected = zen.load_model(tmp_path / "model.zen").predict(x, verbose=0)
    assert np.max(np.abs(got - expected)) < 1e-5


def bits_per_char(out):
    """{"unigram": bpc, "Transformer": bpc, "LSTM": bpc} from char_transformer's report."""
    report = out.split("validation bits per character:")[1].splitlines()[1:4]
    return {line.split()[0]: float(line.split()[1]) for line in report}


def test_char_transformer_beats_the_unigram_and_writes_python(tmp_path):
    out = run_example("char_transformer.py", "--quick", "--epochs", "20", "--verbose", "0",
                      "--out", str(tmp_path))
    bpc = bits_per_char(out)
    assert bpc["Transformer"] < bpc["unigram"] - 0.6
    assert bpc["LSTM"] < bpc["unigram"] - 0.2
    assert "\ndef " in out.split("Transformer sample")[1]
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    model = zen.load_model(tmp_path / "transformer.zen")
    assert model.predict(np.zeros((2, 64), np.int32)).shape == (2, 64, 97)


def test_char_transformer_trains_each_model_for_the_time_budget(tmp_path):
    out = run_example("char_transformer.py", "--quick", "--minutes", "0.02", "--verbose", "0",
                      "--out", str(tmp_path))
    seconds = [float(part.split(" s of training")[0].split()[-1])
               for part in out.split(" parameters, ")[1:]]
    assert len(seconds) == 2 and all(1 <= s <= 5 for s in seconds)


def test_char_transformer_repeats_under_a_seed(tmp_path):
    runs = [run_example("char_transformer.py", "--quick", "--epochs", "1", "--verbose", "0",
                        "--out", str(tmp_path)) for _ in range(2)]
    first, second = ([line for line in out.splitlines() if "s of training" not in line]
                     for out in runs)
    assert first == second
    assert bits_per_char(runs[0]) == bits_per_char(runs[1])


def test_which_module_beats_the_majority_class(tmp_path):
    out = run_example("which_module.py", "--train-size", "2000", "--epochs", "3",
                      "--verbose", "0", "--out", str(tmp_path))
    accuracy, baseline = (float(out.split(label)[1].split("%")[0])
                          for label in ("test accuracy: ", "baseline "))
    assert accuracy > baseline + 15
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    assert (tmp_path / "model.zen").exists()


def test_stdlib_text_beats_the_majority_class_and_reads_raw_strings(tmp_path):
    out = run_example("stdlib_text.py", "--train-size", "1200", "--epochs", "4",
                      "--length", "64", "--verbose", "0", "--out", str(tmp_path))
    masked, unmasked, baseline = (float(out.split(label)[1].split("%")[0])
                                  for label in ("test accuracy: masked ", "unmasked ",
                                                "baseline "))
    assert masked > baseline + 15 and 0 < unmasked < 100
    train_files = list((tmp_path / "data" / "train").rglob("*.txt"))
    test_modules = {path.name.rsplit(".", 2)[0]
                    for path in (tmp_path / "data" / "test").rglob("*.txt")}
    assert len(train_files) == 1200
    assert not test_modules & {path.name.rsplit(".", 2)[0] for path in train_files}
    model = zen.load_model(tmp_path / "model.zen")
    logits = model.predict(["async def main():\n    await asyncio.sleep(1)"], verbose=0)
    assert logits.shape == (1, 6) and np.isfinite(logits).all()
    predictions = [line for line in out.split("loaded back, it reads:")[1].splitlines()
                   if "%  <- " in line]
    assert len(predictions) == 3


def test_mnist_resnet_learns_on_a_slice_of_mnist(tmp_path):
    out = run_example("mnist_resnet.py", "--epochs", "2", "--train-size", "1024",
                      "--test-size", "1000", "--verbose", "2", "--out", str(tmp_path),
                      timeout=300)
    losses = [float(line.split(" - loss: ")[1].split()[0])
              for line in out.splitlines() if line.startswith("Epoch ")]
    assert len(losses) == 2 and losses[1] < 0.8 * losses[0]   # it learns
    assert "test accuracy:" in out
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    assert zen.load_model(tmp_path / "model.zen").count_params() > 60_000


def test_two_headed_reports_both_outputs(tmp_path):
    out = run_example("two_headed.py", "--epochs", "1", "--verbose", "0",
                      "--out", str(tmp_path), timeout=300)
    assert "digit_loss, sum_loss, digit_accuracy, sum_accuracy" in out
    digit = float(out.split("digit accuracy ")[1].split("%")[0])
    total = float(out.split("sum accuracy ")[1].split("%")[0])
    assert digit > 90 and total > 75
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
