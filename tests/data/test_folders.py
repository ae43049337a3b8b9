"""text_dataset_from_directory on folders built in tmp_path."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.data import text_dataset_from_directory


@pytest.fixture
def texts(tmp_path):
    """Classes b (3 files), a (2 files), c (1 file); file text '<class><i>'."""
    for name, count in (("b", 3), ("a", 2), ("c", 1)):
        (tmp_path / name).mkdir()
        for i in range(count):
            (tmp_path / name / f"{i}.txt").write_text(f"{name}{i}", encoding="utf-8")
    (tmp_path / "a" / "skip.md").write_text("not a text file")
    (tmp_path / ".hidden").mkdir()
    return tmp_path


def everything(dataset):
    batches = list(dataset)
    return (np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches]))


def test_unshuffled_texts_come_in_class_then_file_order(texts):
    ds = text_dataset_from_directory(texts, batch_size=4, shuffle=False)
    assert ds.class_names == ["a", "b", "c"]
    assert len(ds) == 2
    batches = list(ds)
    assert [len(x) for x, _ in batches] == [4, 2]
    x, y = everything(ds)
    assert x.tolist() == ["a0", "a1", "b0", "b1", "b2", "c0"]
    assert x.dtype.kind == "U"
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1, 2])
    assert y.dtype == np.int32


def test_label_modes(texts):
    _, categorical = everything(text_dataset_from_directory(texts, label_mode="categorical",
                                                            shuffle=False))
    np.testing.assert_array_equal(categorical, np.eye(3)[[0, 0, 1, 1, 1, 2]])
    assert categorical.dtype == np.float32
    _, binary = everything(text_dataset_from_directory(texts, label_mode="binary",
                                                       class_names=["c", "a"], shuffle=False))
    np.testing.assert_array_equal(binary, [[0], [1], [1]])
    assert binary.dtype == np.float32
    alone = list(text_dataset_from_directory(texts, label_mode=None, shuffle=False))
    assert alone[0].tolist() == ["a0", "a1", "b0", "b1", "b2", "c0"]
    unlabelled = text_dataset_from_directory(texts / "b", labels=None, shuffle=False)
    assert unlabelled.class_names is None and next(iter(unlabelled)).tolist() == ["b0", "b1", "b2"]
    given = text_dataset_from_directory(texts / "b", labels=[1, 0, 1], shuffle=False)
    assert given.class_names == ["0", "1"]
    np.testing.assert_array_equal(everything(given)[1], [1, 0, 1])


def test_max_length_single_samples_and_nested_files(texts):
    (texts / "c" / "deeper").mkdir()
    (texts / "c" / "deeper" / "z.txt").write_text("zzzz")
    ds = text_dataset_from_directory(texts, batch_size=None, max_length=1, shuffle=False)
    samples = list(ds)
    assert len(ds) == len(samples) == 7
    assert [str(x) for x, _ in samples] == ["a", "a", "b", "b", "b", "c", "z"]
    assert [int(y) for _, y in samples] == [0, 0, 1, 1, 1, 2, 2]


def test_shuffle_once_with_the_seed_then_every_pass(texts):
    ds = text_dataset_from_directory(texts, batch_size=2, seed=3)
    passes = [everything(ds) for _ in range(4)]
    for x, y in passes:
        assert sorted(x.tolist()) == ["a0", "a1", "b0", "b1", "b2", "c0"]
        np.testing.assert_array_equal(y, [ord(text[0]) - ord("a") for text in x])
    assert len({tuple(x.tolist()) for x, _ in passes}) > 1
    again = text_dataset_from_directory(texts, batch_size=2, seed=3)
    assert everything(again)[0].tolist() == passes[0][0].tolist()


def test_training_and_validation_subsets_are_disjoint_and_cover(texts):
    common = dict(validation_split=0.34, seed=11, batch_size=2)
    train = text_dataset_from_directory(texts, subset="training", **common)
    val = text_dataset_from_directory(texts, subset="validation", **common)
    both = text_dataset_from_directory(texts, subset="both", **common)
    # int(0.34 * 6) = 2 validation files: the last 2 of the seeded shuffle
    assert (len(train.file_paths), len(val.file_paths)) == (4, 2)
    assert set(train.file_paths).isdisjoint(val.file_paths)
    assert sorted(train.file_paths + val.file_paths) == sorted(
        str(texts / c / f"{i}.txt") for c, n in (("a", 2), ("b", 3), ("c", 1)) for i in range(n))
    assert [d.file_paths for d in both] == [train.file_paths, val.file_paths]
    assert not both[1].shuffle and both[0].shuffle
    assert train.class_names == val.class_names == ["a", "b", "c"]
    unshuffled = text_dataset_from_directory(texts, validation_split=0.5, subset="validation",
                                             shuffle=False)
    assert everything(unshuffled)[0].tolist() == ["b1", "b2", "c0"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"label_mode": "sparse"}, ValueError, "`label_mode`.*Received: label_mode='sparse'"),
    ({"label_mode": "binary"}, ValueError, r"exactly 2 class_names. Received: class_names="),
    ({"labels": "folders"}, ValueError, "`labels`.*Received: labels='folders'"),
    ({"labels": [0, 1]}, ValueError, "len\\(labels\\) is 2 while we found 6 files"),
    ({"labels": None, "class_names": ["a"]}, ValueError, "`class_names` cannot be specified"),
    ({"labels": [0], "class_names": ["a"]}, ValueError, "only pass `class_names` if"),
    ({"class_names": ["a", "x"]}, ValueError, "did not match the names of the subdirectories"),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, ValueError,
     "`validation_split`.*Received: validation_split=1.5"),
    ({"validation_split": 0.2}, ValueError, "`validation_split` must be set, and inversely"),
    ({"subset": "training"}, ValueError, "`validation_split` must be set, and inversely"),
    ({"validation_split": 0.2, "subset": "test", "seed": 1}, ValueError,
     "`subset`.*Received: subset='test'"),
    ({"validation_split": 0.2, "subset": "training"}, ValueError, "must provide a `seed`"),
    ({"batch_size": 0}, ValueError, "`batch_size`.*Received: batch_size=0"),
    ({"max_length": -1}, ValueError, "`max_length`.*Received: max_length=-1"),
    ({"shuffle": 1}, ValueError, "`shuffle`.*Received: shuffle=1"),
])
def test_errors_name_the_argument(texts, kwargs, error, message):
    with pytest.raises(error, match=message):
        text_dataset_from_directory(texts, **kwargs)


def test_missing_or_empty_directories(tmp_path):
    with pytest.raises(ValueError, match="`directory`.*an existing directory"):
        text_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"No text files found in directory .*Allowed formats: "
                                         r"\.txt"):
        text_dataset_from_directory(tmp_path, shuffle=False)


def test_fit_and_evaluate_take_a_text_dataset(tmp_path):
    for name in ("neg", "pos"):
        (tmp_path / name).mkdir()
        for i in range(5):
            (tmp_path / name / f"{i}.txt").write_text(("+" if name == "pos" else "-") * (i + 1))
    train = text_dataset_from_directory(tmp_path, batch_size=4, seed=0, label_mode="binary")
    lengths = [len(text) for x, _ in train for text in x]
    assert sorted(lengths) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]

    class Counts(zen.data.PyDataset):
        """The texts as one feature, their number of '+'."""

        def __len__(self):
            return len(train)

        def __getitem__(self, index):
            x, y = train[index]
            return np.char.count(x, "+").astype(np.float32)[:, None], y

    zen.set_seed(0)
    net = zen.Sequential([zen.Input((1,)), nn.Dense(1, activation="sigmoid")])
    net.compile("sgd", "binary_crossentropy")
    assert len(net.fit(Counts(), epochs=2, verbose=0).history["loss"]) == 2
    assert np.isfinite(net.evaluate(Counts(), verbose=0))


# ----- images ---------------------------------------------------------------------------
Image = pytest.importorskip("PIL.Image")
from zen.data import image_dataset_from_directory  # noqa: E402


def bilinear_reference(pixels, height, width):
    """Half-pixel bilinear resize (tf.image.resize), one output pixel at a time, float64."""
    pixels = np.asarray(pixels, np.float64)
    in_h, in_w = pixels.shape[:2]
    out = np.zeros((height, width, pixels.shape[2]))
    for i in range(height):
        for j in range(width):
            y = max((i + 0.5) * in_h / height - 0.5, 0.0)
            x = max((j + 0.5) * in_w / width - 0.5, 0.0)
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1, x1 = min(y0 + 1, in_h - 1), min(x0 + 1, in_w - 1)
            dy, dx = y - y0, x - x0
            out[i, j] = ((1 - dy) * ((1 - dx) * pixels[y0, x0] + dx * pixels[y0, x1])
                         + dy * ((1 - dx) * pixels[y1, x0] + dx * pixels[y1, x1]))
    return out


@pytest.fixture
def images(tmp_path):
    """cats: 2 RGB images 3x5 and 6x4; dogs: one grayscale 4x4; pixel values known."""
    rng = np.random.default_rng(0)
    pixels = {"cats/0.png": rng.integers(0, 256, (3, 5, 3), dtype=np.uint8),
              "cats/1.PNG": rng.integers(0, 256, (6, 4, 3), dtype=np.uint8),
              "dogs/0.png": rng.integers(0, 256, (4, 4), dtype=np.uint8)}
    for name, values in pixels.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(values).save(tmp_path / name)
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    return tmp_path, pixels


def test_images_are_float32_resized_batches_with_labels(images):
    folder, pixels = images
    ds = image_dataset_from_directory(folder, image_size=(4, 6), shuffle=False, batch_size=2)
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 2
    (x, y), (x2, y2) = list(ds)
    assert x.shape == (2, 4, 6, 3) and x.dtype == np.float32 and x2.shape == (1, 4, 6, 3)
    np.testing.assert_array_equal(np.concatenate([y, y2]), [0, 0, 1])
    np.testing.assert_allclose(x[0], bilinear_reference(pixels["cats/0.png"], 4, 6), atol=1e-3)
    np.testing.assert_allclose(x[1], bilinear_reference(pixels["cats/1.PNG"], 4, 6),
                               atol=1e-3)
    gray_as_rgb = np.repeat(pixels["dogs/0.png"][:, :, None], 3, axis=2)
    np.testing.assert_allclose(x2[0], bilinear_reference(gray_as_rgb, 4, 6), atol=1e-3)
    assert 0 <= x.min() and x.max() <= 255


def test_color_modes_nearest_and_crop(images):
    folder, pixels = images
    gray = image_dataset_from_directory(folder / "dogs", labels=None, color_mode="grayscale",
                                        image_size=4, shuffle=False)
    np.testing.assert_array_equal(next(iter(gray))[0, :, :, 0], pixels["dogs/0.png"])
    rgba = image_dataset_from_directory(folder, color_mode="rgba", image_size=(3, 5),
                                        shuffle=False)
    first = next(iter(rgba))[0][0]
    np.testing.assert_array_equal(first[:, :, :3], pixels["cats/0.png"])
    np.testing.assert_array_equal(first[:, :, 3], 255)
    nearest = image_dataset_from_directory(folder / "dogs", labels=None, image_size=(2, 2),
                                           interpolation="nearest", color_mode="grayscale",
                                           shuffle=False)
    # half-pixel nearest from 4 to 2: source index floor((i + 0.5) * 2) = 1, 3
    np.testing.assert_array_equal(next(iter(nearest))[0, :, :, 0],
                                  pixels["dogs/0.png"][[1, 3]][:, [1, 3]])
    cropped = image_dataset_from_directory(folder / "cats", labels=None, image_size=(3, 3),
                                           crop_to_aspect_ratio=True, shuffle=False)
    # 3x5 -> the centred 3x3 window (columns 1..3), already the target size
    np.testing.assert_array_equal(next(iter(cropped))[0], pixels["cats/0.png"][:, 1:4])


def test_image_subsets_and_fit(images):
    folder, _ = images
    common = dict(image_size=(4, 4), validation_split=0.34, seed=2, label_mode="categorical")
    train, val = image_dataset_from_directory(folder, subset="both", **common)
    assert len(train.file_paths) == 2 and len(val.file_paths) == 1
    assert set(train.file_paths).isdisjoint(val.file_paths)
    zen.set_seed(0)
    net = zen.Sequential([zen.Input((4, 4, 3)), nn.Flatten(), nn.Dense(2, activation="softmax")])
    net.compile("sgd", "categorical_crossentropy")
    history = net.fit(train, validation_data=val, epochs=2, verbose=0).history
    assert len(history["loss"]) == len(history["val_loss"]) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"color_mode": "cmyk"}, "`color_mode`.*Received: color_mode='cmyk'"),
    ({"image_size": (4,)}, r"`image_size`.*Received: image_size=\(4,\)"),
    ({"image_size": (0, 4)}, r"`image_size`.*Received: image_size=\(0, 4\)"),
    ({"interpolation": "bicubic"}, "`interpolation`.*Received: interpolation='bicubic'"),
    ({"crop_to_aspect_ratio": "yes"}, "`crop_to_aspect_ratio`.*Received"),
])
def test_image_errors_name_the_argument(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        image_dataset_from_directory(images[0], **kwargs)
