"""Quoted table and column names from the models' _meta, for the few hand-written SQL statements.

Only these names are formatted into such SQL; every value goes in as a parameter.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def table(model: type[Model]) -> str:
    """The model's table, quoted for the default database."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], field: str) -> str:
    """The column of one of the model's fields, quoted for the default database."""
    name = getattr(model._meta.get_field(field), "column", None)  # a reverse relation has none
    assert isinstance(name, str), f"{model.__name__}.{field} has no column"
    return connection.ops.quote_name(name)


def among(column_sql: str, values: Sequence[int]) -> tuple[str, list]:
    """`column_sql` is one of `values`, as SQL and its parameters. On PostgreSQL the values go as one
    array: psycopg splits a statement with hundreds of placeholders anew on every call, which took
    longer than running it."""
    if connection.vendor == "postgresql":
        return f"{column_sql} = ANY(%s)", [list(values)]
    return f"{column_sql} IN ({', '.join(['%s'] * len(values))})", list(values)
