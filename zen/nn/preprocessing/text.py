"""TextVectorization (Keras 3's names, arguments, vocabulary and outputs).

A string is standardized (ASCII lowercasing, as `tf.strings.lower`; then
Keras's punctuation stripped), split on whitespace (or into characters),
extended with n-grams (all 1-grams, then all 2-grams, ... joined by " "),
and looked up by a StringLookup whose mask token is "" (index 0, the
padding of "int" outputs) and OOV token "[UNK]". Not differentiable.
"""
import re

import numpy as np

from ...validation import check_bool, check_int, check_one_of, invalid, is_int
from .. import serialization
from ..layer import Layer
from .categorical import as_array
from .lookup import OUTPUT_MODES, StringLookup

STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLITS = ("whitespace", "character")
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def check_ngrams(ngrams):
    """None, or the n-gram widths: an integer n gives (1, ..., n)."""
    if ngrams is None:
        return None
    if is_int(ngrams) and ngrams >= 1:
        return tuple(range(1, ngrams + 1))
    if isinstance(ngrams, (tuple, list)) and ngrams and all(is_int(n) and n >= 1
                                                            for n in ngrams):
        return tuple(int(n) for n in ngrams)
    raise invalid("ngrams", "None, a positive integer or a tuple of them", ngrams)


def with_ngrams(tokens: list, widths) -> list:
    """The n-grams of each width in turn (tf.strings.ngrams, separator " ")."""
    return [" ".join(tokens[i:i + n]) for n in widths for i in range(len(tokens) - n + 1)]


class TextVectorization(Layer):
    """Turn strings into sequences of token indices or into token
    encodings, as Keras's `TextVectorization`.

    Args:
        max_tokens: the most vocabulary indices `adapt` keeps (the padding
            and OOV ones included), or None (no limit).
        standardize: "lower_and_strip_punctuation" (default), "lower",
            "strip_punctuation", None, or a function given the batch of
            strings (a numpy array of str) that returns it standardized.
        split: "whitespace" (default), "character", None (each string is
            one token), or a function given the standardized batch that
            returns each string's list of tokens. A function is saved by
            name: register it (`zen.models.register_serializable`) or pass
            it in `custom_objects` when loading.
        ngrams: None (default), an integer n (all 1- to n-grams) or a tuple
            of widths.
        output_mode: "int" (default: index sequences, int64, padded with 0),
            "multi_hot", "count" or "tf_idf" (one vector per string, float32).
        output_sequence_length: pad or cut "int" sequences to this length
            (None: the longest in the batch).
        pad_to_max_tokens: encode over `max_tokens` indices (default False).
        vocabulary: a list of tokens, or None to `adapt`.
        idf_weights: one idf weight per vocabulary token ("tf_idf" only).
        sparse: must be False (Zen has no sparse outputs).
        ragged: must be False (Zen has no ragged outputs).
        encoding: the strings' encoding (only "utf-8").
        name: the layer's name.

    Shapes: strings (batch,) or (batch, 1) -> (batch, sequence length) for
    "int", (batch, vocabulary size) otherwise.

    Example:
        layer = TextVectorization(output_sequence_length=4)
        layer.adapt(np.array(["foo bar", "bar baz", "baz bada boom"]))
        layer(np.array([["foo qux bar"], ["qux baz"]]))    # [[4, 1, 3, 0], [1, 2, 0, 0]]
    """

    checks_input_shape = False

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode: str = "int",
                 output_sequence_length=None, pad_to_max_tokens: bool = False,
                 vocabulary=None, idf_weights=None, sparse: bool = False, ragged: bool = False,
                 encoding: str = "utf-8", name: str = None):
        super().__init__(name)
        self.standardize = _text_step(standardize, "standardize", STANDARDIZE)
        self.split = _text_step(split, "split", SPLITS)
        self.ngrams = ngrams
        self.ngram_widths = check_ngrams(ngrams)
        self.output_mode = check_one_of(output_mode, "output_mode",
                                        tuple(m for m in OUTPUT_MODES if m != "one_hot"))
        if output_sequence_length is not None:
            if self.output_mode != "int":
                raise invalid("output_sequence_length", "None unless output_mode is 'int'",
                              output_sequence_length)
            output_sequence_length = check_int(output_sequence_length,
                                               "output_sequence_length", 1)
        self.output_sequence_length = output_sequence_length
        if check_bool(ragged, "ragged"):
            raise invalid("ragged", "False (Zen has no ragged tensors)", ragged)
        self.ragged = False
        self.lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary,
                                         idf_weights=idf_weights,
                                         pad_to_max_tokens=pad_to_max_tokens, mask_token="",
                                         output_mode=output_mode, sparse=sparse,
                                         encoding=encoding)

    def tokenize(self, x) -> list:
        """The token list of every string of `x` ((batch,) or (batch, 1))."""
        strings = as_array(x)
        if strings.ndim > 2 or (strings.ndim == 2 and strings.shape[-1] != 1):
            raise ValueError(f"When using `TextVectorization` to tokenize strings, the "
                             f"input rank must be 1 or the last shape dimension must be 1. "
                             f"Received: inputs.shape={strings.shape}")
        strings = strings.reshape(-1)
        if callable(self.standardize):
            strings = _returned_strings(self.standardize(strings), len(strings))
        else:
            strings = [self._standardized(str(s)) for s in strings]
        if callable(self.split):
            token_lists = _returned_token_lists(self.split(np.asarray(strings, dtype=str)),
                                                len(strings))
        else:
            token_lists = [self._split(text) for text in strings]
        if not self.ngram_widths:
            return token_lists
        return [with_ngrams(tokens, self.ngram_widths) for tokens in token_lists]

    def _standardized(self, text: str) -> str:
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = PUNCTUATION.sub("", text)
        return text

    def _split(self, text: str) -> list:
        return text.split() if self.split == "whitespace" else \
            list(text) if self.split == "character" else [text]

    def adapt(self, data) -> None:
        """Learn the vocabulary (and "tf_idf" weights) from strings; each
        string is a document.

        Args:
            data: an array of strings, (n,) or (n, 1).
        """
        self.lookup_layer.adapt_documents(self.tokenize(data))

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order ("" and "[UNK]" first with output_mode "int").

        Args:
            include_special_tokens: lead with the padding and OOV tokens.
        """
        return self.lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The number of indices, the padding and OOV ones included."""
        return self.lookup_layer.vocabulary_size()

    def call(self, x):
        rows = self.tokenize(x)
        lengths = [len(r) for r in rows]
        flat = np.array([t for r in rows for t in r] or [""])[:sum(lengths)]
        if self.output_mode == "int":
            return self._padded(self.lookup_layer(flat), lengths)
        return self._row_lookup(flat, lengths)

    def _padded(self, indices, lengths) -> np.ndarray:
        """(batch, length) index sequences, cut or padded with 0 at the end."""
        width = self.output_sequence_length or max(lengths, default=0)
        out = np.zeros((len(lengths), width), dtype=np.int64)
        out[_filled(lengths, width)] = np.asarray(indices)[_kept(lengths, width)]
        return out

    def _row_lookup(self, flat, lengths) -> np.ndarray:
        """One encoded vector per string: the lookup's encoding of its tokens."""
        lookup = self.lookup_layer
        width = max(lengths, default=0)
        if width == 0:
            return lookup(np.full((len(lengths), 1), ""))
        padded = np.full((len(lengths), width), "", dtype=object)
        padded[_filled(lengths, width)] = flat
        return lookup(padded.astype(str))  # the padding "" is the mask: dropped

    def get_config(self):
        lookup = self.lookup_layer.get_config()
        owner = f"TextVectorization {self.name!r}"
        return {"max_tokens": lookup["max_tokens"],
                "standardize": _step_name(self.standardize, owner),
                "split": _step_name(self.split, owner), "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": lookup["pad_to_max_tokens"],
                "vocabulary": lookup["vocabulary"], "idf_weights": lookup["idf_weights"],
                "sparse": False, "ragged": False, "encoding": lookup["encoding"]}


def _filled(lengths, width) -> np.ndarray:
    """(batch, width) booleans: the first min(length, width) places of each row."""
    return np.arange(width) < np.minimum(np.asarray(lengths, dtype=np.int64), width)[:, None]


def _kept(lengths, width) -> np.ndarray:
    """Over the tokens of all rows, one after another: whether a token is
    among its row's first `width` (the rest are cut)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    position = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return position < width


def _text_step(value, argument, choices):
    """`standardize` or `split` checked: None, a function, one of `choices`,
    or the saved name of a function (registered, or in custom_objects)."""
    if value is None or callable(value):
        return value
    if isinstance(value, str) and value not in choices:
        try:
            return serialization.function_named(value)
        except ValueError:
            pass  # neither: the error names the choices
    return check_one_of(value, argument, choices)


def _step_name(step, owner):
    return serialization.function_name(step, owner) if callable(step) else step


def _returned_strings(result, count):
    strings = np.asarray(getattr(result, "value", result))
    if strings.shape != (count,) or strings.dtype.kind not in "US":
        raise ValueError(f"A `standardize` function must return the batch of {count} "
                         f"strings it was given, standardized. Received: an array of shape "
                         f"{strings.shape} and dtype {strings.dtype}")
    return [s.decode() if isinstance(s, bytes) else str(s) for s in strings]


def _returned_token_lists(result, count):
    try:
        lists = [list(tokens) for tokens in result]
    except TypeError:
        lists = None
    if lists is None or len(lists) != count or not all(isinstance(t, (str, np.str_)) for tokens in lists
                                       for t in tokens):
        raise ValueError(f"A `split` function must return one list of string tokens for "
                         f"each of the {count} strings it was given. Received: "
                         f"{str(result)[:200]}")
    return [[str(t) for t in tokens] for tokens in lists]
