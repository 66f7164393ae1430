"""The recommender tests' base: the two-tastes world, and a fresh factors cache in a folder of each test's own."""

import pytest
from django.contrib.auth.models import User

from recommender.services import factors_cache
from tests.worlds import two_tastes_world


@pytest.fixture(autouse=True)
def _fresh_factors_cache(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    settings.RECOMMENDER_LISTS_URL = ""  # no Redis unless a test asks for it
    factors_cache.forget()
    yield
    factors_cache.forget()


@pytest.fixture
def two_tastes(db) -> list[User]:
    return two_tastes_world()
