"""Quoted table and column names from the models' _meta, for the few hand-written SQL statements.

Only these names are formatted into such SQL; every value goes in as a parameter.
"""

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
