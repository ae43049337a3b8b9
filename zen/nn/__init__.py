"""zen.nn: layers, losses, initialisers and the Sequential model."""
from . import activations, initializers
from .activations import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layer import Layer
