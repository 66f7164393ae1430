"""Importing MovieLens data sets: the service, one writer per database, and the download."""

from movies.importing.download import DATASETS, movielens_base_url, movielens_download
from movies.importing.service import ImportResult, movielens_import

__all__ = ["DATASETS", "ImportResult", "movielens_base_url", "movielens_download", "movielens_import"]
