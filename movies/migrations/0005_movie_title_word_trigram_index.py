"""pg_trgm and a trigram index on the title itself, for the typo-tolerant title search on PostgreSQL.

The search's `title %> query` (word similarity) can use a GIN index on the plain column; the
index of 0003 (on UPPER(title)) keeps serving the substring matches. Nothing on other databases:
there the search computes the same measure in Python (movies.titles.word_similarity).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX_NAME = "movie_title_trgm_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON movies_movie USING gin (title gin_trgm_ops)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("movies", "0004_rating_drop_redundant_fk_indexes"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
