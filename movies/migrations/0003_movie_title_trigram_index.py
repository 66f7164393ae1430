"""A trigram index for title search on PostgreSQL; nothing on other databases.

`title__icontains` compiles to `UPPER(title::text) LIKE UPPER(%s)` on PostgreSQL,
so the GIN index is built on exactly that expression and the planner uses it for
searches with three or more characters. SQLite scans the 62k titles in a few ms.
"""

from django.db import migrations

INDEX_NAME = "movie_title_upper_trgm_idx"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension since PostgreSQL 13: the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON movies_movie USING gin ((UPPER(title::text)) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other objects may have come to depend on it.
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("movies", "0002_dismissal"),
    ]

    operations = [
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
