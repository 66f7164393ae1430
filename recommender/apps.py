"""The recommender app: model versions, the services the site calls, tasks and admin."""

from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
