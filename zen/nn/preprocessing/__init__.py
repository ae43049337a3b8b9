"""Keras 3's preprocessing layers: image (Resizing, CenterCrop, RandomCrop),
numerical (Rescaling, Normalization) and categorical (CategoryEncoding,
Discretization, Hashing, StringLookup, IntegerLookup) and text
(TextVectorization)."""
from .categorical import CategoryEncoding, Discretization
from .hashing import Hashing
from .image import CenterCrop, RandomCrop, Resizing
from .lookup import IntegerLookup, StringLookup
from .numerical import Normalization, Rescaling
from .text import TextVectorization

__all__ = ["CategoryEncoding", "CenterCrop", "Discretization", "Hashing", "IntegerLookup",
           "Normalization", "RandomCrop", "Rescaling", "Resizing", "StringLookup",
           "TextVectorization"]
