"""StringLookup and IntegerLookup (Keras 3's names, arguments, index layout
and vocabulary order).

Index layout (Keras's): with `mask_token` and output_mode "int", index 0 is
the mask; then `num_oov_indices` indices for out-of-vocabulary values; then
the vocabulary. `adapt` orders the vocabulary by count, most frequent first,
ties broken by the larger token first (Keras's `np.lexsort((tokens,
counts))[::-1]`). Each distinct input value is looked up once in a dict;
the indices then map back to the whole array at once. Not differentiable.
"""
import numpy as np

from ...validation import check_bool, check_int, check_one_of, invalid
from ..layer import Layer
from .categorical import as_array, encode
from .hashing import check_salt, fingerprint64, siphash

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def as_rows(data: np.ndarray) -> np.ndarray:
    """Data as documents (rows): a scalar or a 1-D array is one document."""
    return data.reshape(1, -1) if data.ndim <= 1 else data.reshape(len(data), -1)


class _IndexLookup(Layer, abstract=True):
    """What StringLookup and IntegerLookup share (see the module's docstring)."""

    checks_input_shape = False

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                 idf_weights, invert, output_mode, pad_to_max_tokens, sparse, salt, name):
        super().__init__(name)
        self.salt = check_salt(salt)
        if max_tokens is not None:
            max_tokens = check_int(max_tokens, "max_tokens", 2)
        self.max_tokens = max_tokens
        self.num_oov_indices = check_int(num_oov_indices, "num_oov_indices", 0)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert = check_bool(invert, "invert")
        self.output_mode = check_one_of(output_mode, "output_mode", OUTPUT_MODES)
        if self.invert and self.output_mode != "int":
            raise invalid("output_mode", "'int' when `invert` is True", output_mode)
        self.pad_to_max_tokens = check_bool(pad_to_max_tokens, "pad_to_max_tokens")
        if self.pad_to_max_tokens and max_tokens is None:
            raise invalid("max_tokens", "an integer when `pad_to_max_tokens` is True",
                          max_tokens)
        if check_bool(sparse, "sparse"):
            raise invalid("sparse", "False (Zen has no sparse tensors)", sparse)
        self.sparse = False
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise invalid("idf_weights", "None unless output_mode is 'tf_idf'", idf_weights)
        if vocabulary is not None and self.output_mode == "tf_idf" and idf_weights is None:
            raise invalid("idf_weights", "a list (one weight per vocabulary token) with a "
                          "`vocabulary` and output_mode 'tf_idf'", idf_weights)
        self.tokens, self.idf = None, None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ----- the vocabulary ------------------------------------------------------------
    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _special_tokens(self) -> list:
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def _as_token(self, value):
        """A vocabulary entry as a Python str or int (subclass hook)."""
        raise NotImplementedError(f"{type(self).__name__} must define _as_token")

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (and, for "tf_idf", one idf weight per token).
        The mask and OOV tokens may lead it, in their index order.

        Args:
            vocabulary: a list or array of tokens, without repeats.
            idf_weights: the inverse document frequencies, or None.
        """
        tokens = [self._as_token(v) for v in np.ravel(np.asarray(vocabulary, dtype=object))]
        if not tokens:
            raise invalid("vocabulary", "a non-empty list of tokens", vocabulary)
        start = self._token_start()
        if tokens[:start] == self._special_tokens():
            tokens = tokens[start:]
        repeated = sorted({t for t in tokens if tokens.count(t) > 1}, key=str)
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"Found reserved mask token {self.mask_token!r} at an unexpected "
                             f"location in `vocabulary`: lead it with {self._special_tokens()}"
                             f" or leave the mask and OOV tokens out")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {start + len(tokens)}; "
                             f"`max_tokens` is {self.max_tokens}.")
        if idf_weights is not None:
            self.idf = self._full_idf(np.asarray(idf_weights, dtype=np.float64).ravel(),
                                      len(tokens), idf_weights)
        self.tokens = tokens
        self._index = {token: start + i for i, token in enumerate(tokens)}

    def _full_idf(self, idf, count, given) -> np.ndarray:
        """One idf weight per index: given for every index, or for the tokens
        only (the special indices then get their mean, as Keras)."""
        start = self._token_start()
        if len(idf) == count:
            idf = np.concatenate([np.full(start, idf.mean()), idf])
        if len(idf) != start + count:
            raise invalid("idf_weights", f"{count} weights (one per token) or {start + count} "
                          f"(one per index)", given)
        return idf.astype(np.float32)

    def vocabulary_size(self) -> int:
        """The number of indices: the mask's, the OOV ones and the tokens'."""
        return self._token_start() + len(self.tokens or [])

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order.

        Args:
            include_special_tokens: lead with the mask and OOV tokens, so that
                a token's position is its index (default True).
        """
        tokens = list(self.tokens or [])
        return self._special_tokens() + tokens if include_special_tokens else tokens

    def adapt(self, data) -> None:
        """Learn the vocabulary from `data` (rows are documents): tokens by
        count, most frequent first (ties: the larger token first), at most
        `max_tokens` indices in all; for "tf_idf" also the idf weights
        log(1 + documents / (1 + documents containing the token)).

        Args:
            data: an array of tokens.
        """
        self.adapt_documents(list(as_rows(as_array(data))))

    def adapt_documents(self, documents: list) -> None:
        """`adapt` on documents of any lengths (what TextVectorization learns from).

        Args:
            documents: a list of token sequences.
        """
        rows = documents
        flat = np.array([token for row in rows for token in np.ravel(row)])
        tokens, counts = np.unique(flat, return_counts=True)
        keep = ~np.isin(tokens, [t for t in (self.mask_token, self.oov_token) if t is not None])
        tokens, counts = tokens[keep], counts[keep]
        order = np.lexsort((tokens, counts))[::-1]
        if self.max_tokens is not None:
            order = order[:self.max_tokens - self._token_start()]
        self.tokens, self.idf = None, None
        if not len(order):
            raise ValueError(f"{type(self).__name__}.adapt found no tokens in the data "
                             f"(besides the mask and OOV tokens)")
        self.set_vocabulary(tokens[order].tolist())
        if self.output_mode == "tf_idf":
            learned = tokens[order]
            documents = np.array([np.isin(learned, row) for row in rows]).sum(axis=0)
            self.idf = self._full_idf(np.log(1 + len(rows) / (1 + documents)), len(learned),
                                      None)

    # ----- lookups ---------------------------------------------------------------------
    def _oov_indices(self, values: np.ndarray) -> np.ndarray:
        """The OOV index of each value when there are several: its string's
        FarmHash Fingerprint64 (SipHash-2-4 with a `salt`) modulo their count."""
        def bucket(value):
            data = str(value).encode()
            return (siphash(self.salt, data) if self.salt else fingerprint64(data)) \
                % self.num_oov_indices
        return np.array([bucket(v) for v in values.ravel()],
                        dtype=np.int64).reshape(values.shape)

    def lookup(self, values: np.ndarray) -> np.ndarray:
        """The index of every value (int64)."""
        distinct, inverse = np.unique(values, return_inverse=True)
        found = np.array([self._index.get(self._as_token(v), -1) for v in distinct],
                         dtype=np.int64)
        if self.num_oov_indices == 1:
            found[found < 0] = self._oov_start()
        elif self.num_oov_indices > 1:
            missing = found < 0
            found[missing] = self._oov_indices(distinct[missing]) + self._oov_start()
        indices = found[inverse].reshape(values.shape)
        if self.mask_token is not None:
            masked = values == self.mask_token
            indices = np.where(masked, 0 if self.output_mode == "int" else np.iinfo(np.int64).max,
                               indices)
        if self.num_oov_indices == 0 and (indices < 0).any():
            raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, "
                             f"found OOV values {values[indices < 0][:10].tolist()}, consider "
                             f"setting `num_oov_indices=1`.")
        return indices

    def invert_lookup(self, indices: np.ndarray) -> np.ndarray:
        """The token of every index (the OOV token for unknown ones)."""
        vocabulary = np.array(self.get_vocabulary(), dtype=object)
        known = (indices >= self._token_start()) & (indices < len(vocabulary))
        out = np.where(known, vocabulary[np.where(known, indices, 0)], self.oov_token)
        if self.mask_token is not None:
            out = np.where(indices == 0, self.mask_token, out)
        return out.astype(self._output_dtype())

    def _output_dtype(self):
        raise NotImplementedError

    def call(self, x):
        if self.tokens is None:
            raise ValueError(f"{type(self).__name__} needs a `vocabulary` or a call to "
                             f"`adapt(data)` before it is used")
        values = as_array(x)
        if self.invert:
            return self.invert_lookup(values.astype(np.int64))
        indices = self.lookup(values)
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode != "tf_idf":
            return encode(indices, self.output_mode, depth)
        return encode(indices, "count", depth) * self._idf(depth)

    def _idf(self, depth) -> np.ndarray:
        """The idf of every index (0 for padding after the vocabulary)."""
        if self.idf is None:
            raise ValueError("When `output_mode` is 'tf_idf', `idf_weights` must be provided.")
        return np.pad(self.idf, (0, depth - len(self.idf)))

    def get_config(self):
        return {"max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "mask_token": self.mask_token, "oov_token": self.oov_token,
                "vocabulary": self.tokens,
                "idf_weights": None if self.idf is None else self.idf.tolist(),
                "invert": self.invert, "output_mode": self.output_mode,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": self.sparse,
                "salt": self.salt}


class StringLookup(_IndexLookup):
    """Map strings to integer indices from a vocabulary, as Keras's
    `StringLookup` (see zen.nn.preprocessing.lookup for the index layout).

    Args:
        max_tokens: the most indices (mask and OOV ones included) `adapt`
            keeps, or None (the default: no limit).
        num_oov_indices: how many indices out-of-vocabulary values share
            (default 1; 0: they are an error; more: FarmHash Fingerprint64
            of the string, modulo their count).
        mask_token: a token mapped to index 0 (output_mode "int"; dropped by
            the other modes), or None (the default: no mask index).
        oov_token: the token `invert` gives unknown indices (default "[UNK]").
        vocabulary: a list of tokens (it may lead with the mask and OOV
            tokens), or None to `adapt`.
        idf_weights: one idf weight per vocabulary token, or per index
            ("tf_idf" only).
        invert: map indices back to tokens (output_mode "int" only).
        output_mode: "int" (default: indices, int64), "one_hot",
            "multi_hot", "count" or "tf_idf" (counts times idf weights) over
            `vocabulary_size()` (or `max_tokens`) indices, float32.
        pad_to_max_tokens: encode over `max_tokens` indices (default False).
        sparse: must be False (Zen has no sparse outputs).
        encoding: the strings' encoding (only "utf-8").
        name: the layer's name.
        salt: None, or the SipHash key (an integer or a pair) that spreads
            out-of-vocabulary strings over the OOV indices instead of FarmHash.

    Example:
        lookup = StringLookup(vocabulary=["a", "b", "c"])
        lookup(np.array([["a", "c"], ["d", "b"]]))       # [[1, 3], [0, 2]]
    """

    def __init__(self, max_tokens=None, num_oov_indices: int = 1, mask_token=None,
                 oov_token="[UNK]", vocabulary=None, idf_weights=None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False,
                 sparse: bool = False, encoding: str = "utf-8", name: str = None,
                 salt=None):
        self.encoding = check_one_of(encoding, "encoding", ("utf-8",))
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, salt,
                         name)

    def _as_token(self, value):
        return value.decode() if isinstance(value, bytes) else str(value)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}

    def _output_dtype(self):
        return str


class IntegerLookup(_IndexLookup):
    """Map integers to integer indices from a vocabulary, as Keras's
    `IntegerLookup` (see zen.nn.preprocessing.lookup for the index layout).

    Args:
        max_tokens: the most indices (mask and OOV ones included) `adapt`
            keeps, or None (the default: no limit).
        num_oov_indices: how many indices out-of-vocabulary values share
            (default 1; 0: they are an error; more: as `oov_method` says).
        mask_token: a token mapped to index 0 (output_mode "int"; dropped by
            the other modes), or None (the default: no mask index).
        oov_token: the token `invert` gives unknown indices (default -1).
        vocabulary: a list of tokens (it may lead with the mask and OOV
            tokens), or None to `adapt`.
        vocabulary_dtype: "int64" (default) or "int32", the inputs' kind.
        idf_weights: one idf weight per vocabulary token, or per index
            ("tf_idf" only).
        invert: map indices back to tokens (output_mode "int" only).
        output_mode: "int" (default: indices, int64), "one_hot",
            "multi_hot", "count" or "tf_idf" (counts times idf weights) over
            `vocabulary_size()` (or `max_tokens`) indices, float32.
        sparse: must be False (Zen has no sparse outputs).
        pad_to_max_tokens: encode over `max_tokens` indices (default False).
        oov_method: "floormod" (default: the value modulo the number of OOV
            indices) or "farmhash" (its decimal string's FarmHash).
        salt: None, or the SipHash key (an integer or a pair) used instead
            of FarmHash by oov_method "farmhash".
        name: the layer's name.

    Example:
        lookup = IntegerLookup(vocabulary=[12, 36, 1138])
        lookup(np.array([[12, 1138], [42, 36]]))         # [[1, 3], [0, 2]]
    """

    def __init__(self, max_tokens=None, num_oov_indices: int = 1, mask_token=None,
                 oov_token=-1, vocabulary=None, vocabulary_dtype: str = "int64",
                 idf_weights=None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt=None, name: str = None):
        self.vocabulary_dtype = check_one_of(vocabulary_dtype, "vocabulary_dtype",
                                             ("int64", "int32"))
        self.oov_method = check_one_of(oov_method, "oov_method", ("floormod", "farmhash"))
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, salt,
                         name)

    def _as_token(self, value):
        return int(value)

    def _oov_indices(self, values):
        if self.oov_method == "farmhash":
            return super()._oov_indices(values)
        return np.mod(values.astype(np.int64), self.num_oov_indices)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype,
                "oov_method": self.oov_method}

    def _output_dtype(self):
        return np.int64
