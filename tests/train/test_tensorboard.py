"""zen.callbacks.TensorBoard: the event files it writes, read back."""
import struct
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402

import zen  # noqa: E402
from zen.callbacks import Callback, TensorBoard  # noqa: E402
from zen.train.strategy import Strategy  # noqa: E402
from zen_train_helpers import blobs, compiled  # noqa: E402


def events(folder):
    """Every Event in the event files under `folder` (the TFRecord framing:
    length, its CRC, the data, its CRC)."""
    return [event for path in sorted(Path(folder).glob("events.out.tfevents.*"))
            for event in _events_of(path)]


def _events_of(path):
    data, offset, found = Path(path).read_bytes(), 0, []
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        found.append(event_pb2.Event.FromString(data[offset + 12:offset + 12 + length]))
        offset += 12 + length + 4
    return found


def scalars(folder):
    """{tag: {step: value}} of the scalar summaries under `folder`."""
    table = {}
    for event in events(folder):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                table.setdefault(value.tag, {})[event.step] = value.simple_value
    return table


def histograms(folder):
    """{tag: {step: HistogramProto}} under `folder`."""
    table = {}
    for event in events(folder):
        for value in event.summary.value:
            if value.HasField("histo"):
                table.setdefault(value.tag, {})[event.step] = value.histo
    return table


class BatchLogs(Callback):
    """Records a copy of every batch's logs."""

    def on_train_begin(self, logs=None):
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


def fit(callbacks, epochs=3, **kwargs):
    x, y = blobs(n=60)
    model = compiled(optimizer=zen.optim.SGD(0.05))
    history = model.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.25,
                        verbose=0, callbacks=callbacks, **kwargs)
    return model, history


def test_epoch_scalars_equal_history(tmp_path):
    _, history = fit([TensorBoard(tmp_path)])
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    train_keys = [k for k in history.history if not k.startswith("val_")]
    val_keys = [k for k in history.history if k.startswith("val_")]
    assert set(train) == {f"epoch_{k}" for k in train_keys} | {"epoch_learning_rate"}
    assert set(val) == {f"epoch_{k[4:]}" for k in val_keys} and val_keys
    for key, values in history.history.items():
        table = val[f"epoch_{key[4:]}"] if key.startswith("val_") else train[f"epoch_{key}"]
        assert sorted(table) == [0, 1, 2]
        np.testing.assert_allclose([table[e] for e in range(3)],
                                   np.float32(values), rtol=1e-6)
    assert train["epoch_learning_rate"] == {0: pytest.approx(0.05), 1: pytest.approx(0.05),
                                            2: pytest.approx(0.05)}
    assert not any(tag.startswith("batch_") for tag in train)
    assert histograms(tmp_path / "train") == {}


@pytest.mark.parametrize("update_freq, every", [(2, 2), ("batch", 1)])
def test_batch_scalars_every_n_batches(tmp_path, update_freq, every):
    recorder = BatchLogs()
    fit([recorder, TensorBoard(tmp_path, update_freq=update_freq)], epochs=2)
    train = scalars(tmp_path / "train")
    steps = list(range(every, len(recorder.logs) + 1, every))
    for key in recorder.logs[0]:
        table = train[f"batch_{key}"]
        assert sorted(table) == steps
        np.testing.assert_allclose([table[s] for s in steps],
                                   np.float32([recorder.logs[s - 1][key] for s in steps]),
                                   rtol=1e-6)
    assert "epoch_loss" in train


def test_histograms_every_histogram_freq_epochs(tmp_path):
    model, _ = fit([TensorBoard(tmp_path, histogram_freq=2)], epochs=3)
    found = histograms(tmp_path / "train")
    names = [name for name, _ in model.named_tensors()]
    assert set(found) == {name.replace(".", "/") + "/histogram" for name in names}
    for name, tensor in model.named_tensors():  # the last histogram is of the final weights
        histo = found[name.replace(".", "/") + "/histogram"]
        assert sorted(histo) == [0, 2]
        assert histo[2].num == tensor.value.size
        np.testing.assert_allclose(histo[2].sum, np.float64(tensor.value).sum(), rtol=1e-5,
                                   atol=1e-6)
        assert histo[2].min == pytest.approx(float(tensor.value.min()))
        assert histo[2].max == pytest.approx(float(tensor.value.max()))


class NotMain(Strategy):
    """A process of a job that is not the main one."""

    @property
    def is_main_process(self):
        return False


def test_nothing_is_written_on_another_process(tmp_path):
    assert TensorBoard.main_process_only is True
    fit([TensorBoard(tmp_path / "logs", histogram_freq=1)], distribute=NotMain())
    assert not (tmp_path / "logs").exists()


def test_one_instance_serves_several_fits(tmp_path):
    callback = TensorBoard(tmp_path)
    fit([callback], epochs=1)
    fit([callback], epochs=1)
    files = sorted((tmp_path / "train").glob("events.out.tfevents.*"))
    assert len(files) == 2  # the second fit, within the same second, keeps the first's
    assert [sum(1 for e in _events_of(path) for v in e.summary.value
                if v.tag == "epoch_loss") for path in files] == [1, 1]


def test_defaults_match_keras():
    callback = TensorBoard()
    assert (callback.log_dir, callback.histogram_freq, callback.write_graph,
            callback.update_freq) == ("logs", 0, True, "epoch")


@pytest.mark.parametrize("kwargs, message", [
    ({"histogram_freq": -1}, r"`histogram_freq` of TensorBoard, expected an integer >= 0. "
                             r"Received: histogram_freq=-1"),
    ({"histogram_freq": 1.5}, r"Received: histogram_freq=1.5"),
    ({"update_freq": "step"}, r"`update_freq` of TensorBoard, expected 'epoch', 'batch' or "
                              r"a positive integer. Received: update_freq='step'"),
    ({"update_freq": 0}, r"Received: update_freq=0"),
    ({"update_freq": True}, r"Received: update_freq=True"),
    ({"write_graph": "yes"}, r"`write_graph` of TensorBoard, expected True or False. "
                             r"Received: write_graph='yes'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TensorBoard(**kwargs)
