from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"

    def ready(self) -> None:
        from config import auth_backend  # noqa: F401 - drops a cached user when it is saved, in every process
        from recommender import signals  # noqa: F401 - connects the token cache hooks
