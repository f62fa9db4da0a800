"""A Community Safety Partnership of several whole local authorities as one area: the sum
of its LAs' monthly counts, so the dashboard (and anything else reading `MonthlyCounts`)
gives South Worcester the figures of Malvern Hills, Worcester and Wychavon together.

The rule (docs/methods.md, Areas): figures are kept per LA; a CSP of several whole LAs is
their sum - counts, every window, and the denominators (core.areas.denominator sums the
LAs' populations and households); a month counts as present only when every one of its LAs
has it, so a sum never silently lacks an authority's month. A CSP covering part of an LA is
refused with the LA to use (core.areas.local_authorities_of).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from saferboard.core.areas import local_authorities_of
from saferboard.core.errors import InputError
from saferboard.measures.series import MonthlyCounts


def with_partnership(sources: Mapping[str, MonthlyCounts], text: str
                     ) -> tuple[dict[str, MonthlyCounts], str]:
    """(sources, area name): `sources` with one more area, the CSP `text` names summed from
    its LAs, when `text` is a CSP of several whole LAs; otherwise `sources` and `text`
    unchanged. A source holding only some of the CSP's LAs is an InputError naming the
    missing ones (the sum would be short), one holding none is left as it is."""
    from saferboard.core import national

    try:
        area = national.resolve_area(text)
        codes = local_authorities_of(text)
    except InputError:
        return dict(sources), text  # one LA, a part-LA CSP or an unknown name: not ours
    if len(codes) < 2:
        return dict(sources), text
    names = [national.local_authority(c).name for c in codes]
    out = dict(sources)
    for key, table in sources.items():
        held = [n for n in names if table.has_area(n)]
        if not held:
            continue
        if len(held) < len(names):
            absent = [n for n in names if n not in held]
            raise InputError(f"{area.name} covers {', '.join(names)}; the {table.source} data "
                             f"has no rows for {', '.join(absent)}, so its sum would be short",
                             param="area")
        out[key] = _summed(table, area.name, names)
    return out, area.name


def _summed(table: MonthlyCounts, name: str, members: list[str]) -> MonthlyCounts:
    idx = [table.area_index(m) for m in members]
    covered = frozenset.intersection(*(table.covered.get(table.areas[i], frozenset())
                                       for i in idx))
    gaps = (np.concatenate([table.gap_counts,
                             table.gap_counts[idx].sum(axis=0, keepdims=True)])
            if table.gap_counts.size else table.gap_counts)
    return replace(
        table,
        areas=(*table.areas, name),
        counts=np.concatenate([table.counts, table.counts[idx].sum(axis=0, keepdims=True)]),
        covered={**table.covered, name: covered},
        present=np.concatenate([table.present,
                                np.any(table.present[idx], axis=0, keepdims=True)]),
        gap_counts=gaps,
    )
