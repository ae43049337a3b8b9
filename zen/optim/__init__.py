"""Optimisers (state keyed by `Tensor.id`), learning-rate schedules and
gradient clipping.

Example:
    opt = zen.optim.Adam(lr=1e-3)
    loss.backward()
    opt.step(model.parameters())
    opt.zero_grad(model.parameters())
"""
from . import schedules
from .optimizer import Optimizer, clip_grad_norm
from .optimizers import (SGD, Adagrad, Adam, AdamW, Momentum, RMSProp, deserialize, get,
                         serialize)
from .optimizers import Adafactor, Adamax, Lion, Nadam
from .schedules import CosineDecay, ExponentialDecay, LearningRateSchedule, StepDecay
from .schedules import (CosineDecayRestarts, InverseTimeDecay, PiecewiseConstantDecay,
                        PolynomialDecay)

__all__ = ["Optimizer", "SGD", "Momentum", "RMSProp", "Adam", "AdamW", "Adagrad",
           "get", "serialize", "deserialize", "clip_grad_norm", "schedules",
           "LearningRateSchedule", "StepDecay", "ExponentialDecay", "CosineDecay",
           "Nadam", "Adamax", "Lion", "Adafactor", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecayRestarts"]
