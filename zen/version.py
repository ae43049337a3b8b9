"""The version of Zen (also written into every file Zen saves)."""
__version__ = "0.1.0"
