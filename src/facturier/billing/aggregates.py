"""Sums of decimal columns that come back exact on every database.

PostgreSQL adds `numeric` values exactly. SQLite stores a decimal column as a binary float and
SUM() adds floats, so 0.10 + 0.20 − 0.30 + 0.01 comes back as 0.0100000000000001; Django rounds
a plain column read to its decimal places, but not a computed value (an aggregate, a CASE, a
subquery). `Exact` rounds the result to the places of its output field: a no-op on
PostgreSQL, the true sum on SQLite (float error stays far below half a cent for any total
an invoice or a ledger holds).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, Sum


def decimal_field(places: int = 2) -> DecimalField[Decimal, Decimal]:
    return DecimalField(max_digits=24, decimal_places=places)


MONEY = decimal_field(2)


class Exact(ExpressionWrapper):  # type: ignore[type-arg]
    """`expression`, read back rounded to `output_field.decimal_places`."""

    def get_db_converters(self, connection: Any) -> list[Callable[..., Any]]:
        places: int = getattr(self.output_field, "decimal_places", 2)
        step = Decimal(1).scaleb(-places)

        def exact(value: Any, expression: Any, connection: Any) -> Any:
            return None if value is None else Decimal(value).quantize(step)

        return [*super().get_db_converters(connection), exact]


def exact_sum(expression: Any, *, places: int = 2, **extra: Any) -> Exact:
    """Σ `expression` (a field name or an expression), exact to `places` decimals."""
    return Exact(Sum(expression, **extra), output_field=decimal_field(places))
