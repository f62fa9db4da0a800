"""Crime counts, formatted once: `saferboard counts` prints `count_rows(result)` as its table,
CSV and JSON, so the three carry the same columns (the grouping keys in the order asked,
then `count`) and the same values."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import create_model

from saferboard.measures.counts import Counts
from saferboard.present.dashboard import Out


@cache
def count_row_model(by: tuple[str, ...]) -> type[Out]:
    """The row model of counts grouped by `by`: one field per key, in that order (a month is
    "YYYY-MM"; an area, category, ward... is None where the store has none, e.g. a raw label
    no category maps), then `count`. The keys are the caller's choice, so the model is built
    for them, once per grouping."""
    fields: dict[str, Any] = {k: (str | None, ...) for k in by}
    return create_model("CountRowOut", __base__=Out, **fields, count=(int, ...))


def count_columns(result: Counts) -> list[str]:
    """The columns of `count_rows(result)`, also when there are no rows (the CSV header)."""
    return list(count_row_model(result.by).model_fields)


def count_rows(result: Counts) -> list[dict[str, Any]]:
    """The rows the table, CSV and JSON print."""
    model = count_row_model(result.by)
    names = count_columns(result)
    return [model(**dict(zip(names, r, strict=True))).model_dump(mode="json")
            for r in result.rows]
