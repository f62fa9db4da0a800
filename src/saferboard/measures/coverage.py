"""Which dashboard categories an area's data in the store supports (for `saferboard init`)."""

from __future__ import annotations

import duckdb

from saferboard.core.areas import policing_force
from saferboard.core.categories import Categories
from saferboard.core.starter import MPS_CATEGORIES, POLICEUK_TYPES, policeuk_categories


def supported_categories(con: duckdb.DuckDBPyConnection | None, cats: Categories, area: str
                         ) -> tuple[tuple[str, ...], str]:
    """(categories, where they come from) for `area` (a store area name): the MPS board
    categories when the store has MPS borough tables for it (London); else each police.uk
    crime type present in its own force's street rows, plus the all-crime total; with no
    store or no rows yet, every police.uk crime type."""
    category_of = {t: cats.place("policeuk", t).category for t in POLICEUK_TYPES}
    if con is not None:
        (mps,) = con.execute("SELECT count(*) FROM mps_counts WHERE level = 'borough' AND "
                             "lower(area) = lower(?)", [area]).fetchall()[0]
        if mps:
            return MPS_CATEGORIES, "MPS borough tables in the store"
        force = policing_force().get(area.lower())
        types = [t for (t,) in con.execute(
            "SELECT DISTINCT s.crime_type FROM street s JOIN batches b USING (batch_id) "
            "WHERE lower(s.area) = lower(?) AND b.force = ?", [area, force]).fetchall()]
        if types:
            return (policeuk_categories(types, category_of),
                    f"police.uk crime types in the store's {force} street files, by their "
                    "published names ('Vehicle crime' is the category 'Vehicle offences'), "
                    "and the total of all but anti-social behaviour")
    return (policeuk_categories(POLICEUK_TYPES, category_of),
            "every police.uk crime type: no data for it in the store yet")
