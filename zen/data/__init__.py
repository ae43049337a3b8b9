"""zen.data: datasets, the DataLoader, and the MNIST loader (numpy only).

Example:
    from zen.data import ArrayDataset, DataLoader, mnist, one_hot
    (x_train, y_train), _ = mnist.load_data()
    loader = DataLoader(ArrayDataset(x_train, y_train), batch_size=64, shuffle=True)
"""
from . import mnist
from .dataset import ArrayDataset, Dataset, Subset, collate, one_hot, random_split
from .folders import image_dataset_from_directory, text_dataset_from_directory
from .loader import DataLoader
from .pydataset import PyDataset
from .sequences import pad_sequences, timeseries_dataset_from_array
from .workers import WorkerInfo, get_worker_info

__all__ = ["Dataset", "ArrayDataset", "Subset", "DataLoader", "PyDataset", "random_split",
           "one_hot", "collate", "mnist", "pad_sequences", "timeseries_dataset_from_array",
           "text_dataset_from_directory", "image_dataset_from_directory",
           "get_worker_info", "WorkerInfo"]
