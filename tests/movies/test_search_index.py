"""The title search index of migration 0003 (PostgreSQL only)."""

import pytest
from django.db import connection

from movies import selectors

pytestmark = pytest.mark.django_db


def test_the_trigram_index_serves_title_searches_on_postgresql(postgres, movies):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'movie_title_upper_trgm_idx'")
        (indexdef,) = cursor.fetchone()
        assert "gin_trgm_ops" in indexdef
        # A five-row table is scanned whatever the indexes; forbid that to see the index can serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = selectors.movie_search(query="toy story", sort="title").explain()
    assert "movie_title_upper_trgm_idx" in plan
