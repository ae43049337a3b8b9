"""Zen: a small, complete deep-learning framework on numpy."""
from . import autodiff
from .autodiff import Tensor, no_grad
from .rng import set_seed
from .parallel import get_num_threads, set_num_threads
from . import nn, optim, data
from . import regularizers, constraints
from . import metrics, callbacks, train
from .train import History, Trainer, plot_history
from . import models
from .models import Input, Model, Sequential, load_model
from .version import __version__

__all__ = ["Tensor", "no_grad", "set_seed", "set_num_threads", "get_num_threads", "Trainer", "History", "plot_history",
           "Model", "Sequential", "Input", "load_model",
           "autodiff", "nn", "optim", "data", "callbacks", "metrics", "train", "models",
           "regularizers", "constraints"]
