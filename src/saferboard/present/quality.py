"""The data-quality report, formatted once: `QualityOut` is an object of `saferboard quality
--format json` and of `/api/quality`; `QualityOut.cells` the flat row of the CLI's table and
CSV and of the quality CSV download."""

from __future__ import annotations

from typing import Any

from saferboard.measures.quality import SourceQuality, UnmappedLabel
from saferboard.present.dashboard import Out


def _month(d: Any) -> str | None:
    return None if d is None else f"{d:%Y-%m}"


class UnmappedLabelOut(Out):
    label: str
    rows: int  # police.uk: crimes; MPS: data cells (label x area x month)
    crimes: int
    placed_under: str | None  # the category its rows count under, or None
    first_month: str | None  # first and last month with a non-zero count
    last_month: str | None
    months: int

    @classmethod
    def of(cls, u: UnmappedLabel) -> UnmappedLabelOut:
        return cls(label=u.label, rows=u.rows, crimes=u.crimes, placed_under=u.placed_under,
                   first_month=_month(u.first_month), last_month=_month(u.last_month),
                   months=u.months)


class QualityOut(Out):
    """One source, force and kind of file (see measures.quality.SourceQuality)."""

    source: str
    force: str
    kind: str
    first_month: str
    last_month: str
    months_present: int
    months_missing: list[str]
    batches: int
    rows: int
    rows_without_coords: int
    rows_without_lsoa: int
    lsoa_vintage: dict[str, int]
    revised_months: int
    unmapped: dict[str, int]
    unmapped_labels: list[UnmappedLabelOut]
    outside_force: dict[str, int]
    rows_area_from_name: int

    @classmethod
    def of(cls, q: SourceQuality) -> QualityOut:
        return cls(source=q.source, force=q.force, kind=q.kind,
                   first_month=f"{q.first_month:%Y-%m}", last_month=f"{q.last_month:%Y-%m}",
                   months_present=q.months_present, months_missing=list(q.months_missing),
                   batches=q.batches, rows=q.rows, rows_without_coords=q.rows_without_coords,
                   rows_without_lsoa=q.rows_without_lsoa, lsoa_vintage=dict(q.lsoa_vintage),
                   revised_months=q.revised_months, unmapped=dict(q.unmapped),
                   unmapped_labels=[UnmappedLabelOut.of(u) for u in q.unmapped_labels],
                   outside_force=dict(q.outside_force),
                   rows_area_from_name=q.rows_area_from_name)

    def cells(self, *, outside_force_shown: int | None = None) -> dict[str, Any]:
        """One flat row (the same keys but `unmapped_labels`, which is listed in words
        apart): lists and counts joined as text. `outside_force_shown` cuts that list for a
        screen table ("and N more")."""
        d = self.model_dump(mode="json", exclude={"unmapped_labels"})
        d["months_missing"] = ", ".join(self.months_missing) or "none"
        d["lsoa_vintage"] = ", ".join(f"{k}: {v:,}" for k, v in self.lsoa_vintage.items())
        d["unmapped"] = ", ".join(f"{k} ({v:,})" for k, v in self.unmapped.items()) or "none"
        shown = list(self.outside_force.items())
        n = len(shown) if outside_force_shown is None else outside_force_shown
        d["outside_force"] = ", ".join(f"{k} ({v:,})" for k, v in shown[:n]) + (
            f" and {len(shown) - n} more" if len(shown) > n else "") or "none"
        return d
