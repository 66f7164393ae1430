"""The movies app: the catalogue and what people do with it."""

from django.apps import AppConfig


class MoviesConfig(AppConfig):
    name = "movies"
    verbose_name = "Catalogue"
