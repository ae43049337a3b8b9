"""zen.nn: layers, losses and initialisers.

Models live one level up, in zen.models; `zen.nn.Sequential`, `zen.nn.Model`
and `zen.nn.load_model` still work, forwarded there on first use (PEP 562).
"""
import importlib

from . import activations, initializers
from .activations import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layer import Layer
from .operators import TensorOperation  # and operators on symbolic tensors: x + 1, x[:, 0]
from .core import Dense, Dropout, Embedding, Flatten
from .conv import (AveragePooling2D, AvgPool2D, Conv2D, Conv2DTranspose, GlobalAveragePooling2D,
                   GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D, MaxPool2D, MaxPooling2D,
                   UpSampling2D, ZeroPadding2D)
from .normalization import BatchNorm, BatchNormalization, LayerNorm, LayerNormalization
from .merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .reshaping import Activation, Identity, Permute, RepeatVector, Reshape
from . import losses
from .recurrent import GRU, LSTM, RNN
from .conv1d import (AveragePooling1D, AvgPool1D, Conv1D, GlobalAveragePooling1D,
                     GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D, MaxPool1D,
                     MaxPooling1D)
from .wrappers import Bidirectional, TimeDistributed
from .attention import MultiHeadAttention, PositionEmbedding
from .augmentation import (RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
                           RandomZoom)


_FORWARDED = ("Sequential", "Model", "load_model")


def __getattr__(name):
    """`zen.nn.Sequential`, `zen.nn.Model`, `zen.nn.load_model`: zen.models's."""
    if name in _FORWARDED:
        return getattr(importlib.import_module("zen.models"), name)
    raise AttributeError(f"module 'zen.nn' has no attribute {name!r}")
