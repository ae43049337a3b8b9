"""zen.nn: layers, losses and initialisers.

Models live one level up, in zen.models: `zen.Sequential`, `zen.Model` and
`zen.load_model` (also `zen.models.Sequential`, ...). zen.nn does not name them.
"""
from . import activations, initializers
from .activations import ELU, GELU, LeakyReLU, PReLU, ReLU, Sigmoid, Softmax, Tanh
from .layer import Layer
from .operators import TensorOperation  # and operators on symbolic tensors: x + 1, x[:, 0]
from .core import Dense, Dropout, Embedding, Flatten, Lambda, Masking
from . import constraints, regularizers
from .conv import (AveragePooling2D, AvgPool2D, Conv2D, Conv2DTranspose, GlobalAveragePooling2D,
                   GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D, MaxPool2D, MaxPooling2D,
                   UpSampling2D, ZeroPadding2D)
from .normalization import BatchNorm, BatchNormalization, LayerNorm, LayerNormalization
from .merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .reshaping import Activation, Identity, Permute, RepeatVector, Reshape
from . import losses
from .recurrent import RNN
from .recurrent_layers import GRU, LSTM, SimpleRNN
from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .conv1d import (AveragePooling1D, AvgPool1D, Conv1D, GlobalAveragePooling1D,
                     GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D, MaxPool1D,
                     MaxPooling1D)
from .wrappers import Bidirectional, TimeDistributed
from .attention import MultiHeadAttention, PositionEmbedding
from .augmentation import (RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
                           RandomZoom)
from .preprocessing import (CategoryEncoding, CenterCrop, Discretization, Hashing,
                            IntegerLookup, Normalization, RandomCrop, Rescaling, Resizing,
                            StringLookup, TextVectorization)
