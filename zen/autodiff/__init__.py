"""zen.autodiff: the Tensor, its ops and the reverse-mode pass."""
from .anomaly import detect_anomaly
from .activations import elu, selu, softplus, sparsemax, squareplus
from .attention import attention_weights, scaled_dot_product_attention, self_attention
from .conv import avg_pool2d, conv2d, conv2d_transpose, max_pool2d, upsample2d
from .conv1d import avg_pool1d, conv1d, max_pool1d
from .gated import gru_scan, lstm_scan
from .gradcheck import grad_check
from .nn_ops import (dropout, gelu, linear, log_softmax, logsumexp, softmax,
                     sparse_softmax_cross_entropy)
from .ops import (abs, add, clip, div, exp, leaky_relu, log, matmul, maximum, minimum, mul,
                  neg, power, reduce_max, reduce_mean, reduce_min, reduce_sum, relu, sigmoid,
                  sqrt, sub, tanh, unbroadcast, where)
from .recurrent import rnn_scan
from .resample import affine_transform
from .shapes import concat, flatten, getitem, pad, reshape, stack, transpose
from .tensor import Function, Tensor, is_grad_enabled, no_grad

__all__ = [
    "Tensor", "Function", "no_grad", "is_grad_enabled", "detect_anomaly", "grad_check",
    "unbroadcast", "add", "sub", "mul", "div", "neg", "power", "matmul", "exp", "log",
    "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "gelu", "clip", "maximum",
    "minimum", "where", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min",
    "softmax", "log_softmax", "logsumexp", "reshape", "flatten", "transpose", "concat",
    "stack", "pad", "getitem", "conv2d", "conv2d_transpose", "upsample2d", "max_pool2d",
    "avg_pool2d", "dropout", "rnn_scan", "lstm_scan", "gru_scan", "linear",
    "conv1d", "max_pool1d", "avg_pool1d",
    "sparse_softmax_cross_entropy",
    "scaled_dot_product_attention", "attention_weights", "self_attention",
    "affine_transform",
    "elu", "selu", "softplus", "squareplus", "sparsemax",
]
