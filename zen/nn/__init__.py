"""zen.nn: layers, losses, initialisers and the Sequential model."""
from . import activations, initializers
from .activations import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layer import Layer
from .core import Dense, Dropout, Embedding, Flatten
from .conv import AveragePooling2D, AvgPool2D, Conv2D, MaxPool2D, MaxPooling2D
from .normalization import BatchNorm, BatchNormalization, LayerNorm, LayerNormalization
from .sequential import Model, Sequential
from . import losses
from .recurrent import GRU, LSTM, RNN
from .saving import load_model
