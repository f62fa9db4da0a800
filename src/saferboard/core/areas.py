"""Areas and denominators: local authority from LSOA names and ward codes, population and
households per London local authority (shipped, derived from ONS and Census files)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from saferboard.core.errors import InputError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


def _data(name: str) -> Path:
    return Path(str(resources.files("saferboard") / "data" / name))


@cache
def lsoa_areas() -> dict[str, str]:
    """LSOA code (2021, and 2011 for rows of the switch-over months) -> the name of its local
    authority (LAD May 2024), from the shipped ONS lookup (core.national).

    This is how the store gives a police.uk row its area (sources.policeuk joins it in at
    ingest): by code, so LSOAs named after former districts ('Aylesbury Vale 001A',
    'Bournemouth 001A') count for the authority that exists now. A 2011 LSOA whose successors
    lie in two authorities goes with the larger share (national.la_of_lsoa). London's names
    are the same either way, so London figures do not change.
    """
    from saferboard.core import national

    las = national.local_authorities()
    out = {code: las[lsoa.la_code].name for code, lsoa in national.lsoa_lookup().items()}
    for code in national.lsoa11_links():
        if code not in out:
            la = national.la_of_lsoa(code)
            if la is not None:
                out[code] = las[la].name
    return out


def local_authority_from_lsoa_name(lsoa_name: str | None) -> str | None:
    """'Barnet 001A' -> 'Barnet'; None when there is no LSOA (the row counts for the force
    only). The fallback when a row's LSOA code is not in the ONS lookup (`lsoa_areas`); the
    store applies the same rule in SQL (sources.policeuk.AREA_SQL)."""
    if not lsoa_name:
        return None
    head, _, code = lsoa_name.rpartition(" ")
    if len(code) == 4 and code[:3].isdigit() and code[3].isupper() and head:
        return head
    return None


@cache
def ward_lookup() -> dict[str, str]:
    """ONS ward code (December 2023) -> local authority name, England and Wales."""
    with open(_data("wards_lad23.csv"), newline="", encoding="utf-8") as f:
        return {r["ward_code"]: r["lad_name"] for r in csv.DictReader(f)}


@cache
def lsoa_vintages() -> dict[str, frozenset[int]]:
    """LSOA code of England and Wales -> the census vintages (2011, 2021) it exists in, from
    the national ONS lookups: the 2021 LSOAs and the 2011 codes of the LSOA 2011 -> 2021
    lookup. (For the 5,170 London codes this equals the former London-only file.)"""
    from saferboard.core import national

    # Three shared frozensets rather than a set per code: 60,000 sets made this 0.3 s.
    new, old, both = frozenset({2021}), frozenset({2011}), frozenset({2011, 2021})
    out = dict.fromkeys(national.lsoa_lookup(), new)
    for code in national.lsoa11_codes():
        out[code] = both if code in out else old
    return out


@cache
def policing_force() -> dict[str, str]:
    """Local authority (lower case) -> the police.uk force slug that polices it, where known.

    police.uk geocodes some crimes over force boundaries (City of London Police crimes in
    Westminster LSOAs, Met crimes in Hertfordshire ones): an area's police.uk figures are its
    own force's rows, never a neighbour's strays. London from the shipped london_forces.csv;
    every other LA of England and Wales from its police force area in the ONS lookup
    (national), by police.uk's slug for that force. So a force file's rows in another force's
    area (Sussex rows geocoded in Slough) count for the force, not for that area; `quality`
    reports them.
    """
    from saferboard.core import national

    out = {la.name.lower(): force_slug(la.force_name)
           for la in national.local_authorities().values()}
    with open(_data("london_forces.csv"), newline="", encoding="utf-8") as f:
        out.update({r["lad_name"].lower(): r["force"] for r in csv.DictReader(f)})
    return out


# ONS police force area names whose police.uk slug is not the name in lower case with '-'.
_SLUGS = {"Metropolitan Police": "metropolitan", "London, City of": "city-of-london",
          "Devon & Cornwall": "devon-and-cornwall"}


def force_slug(force_name: str) -> str:
    """The police.uk file-name slug of an ONS police force area name ('West Mercia' ->
    'west-mercia', 'Devon & Cornwall' -> 'devon-and-cornwall')."""
    return _SLUGS.get(force_name, "-".join(force_name.lower().replace("&", "and").split()))


@dataclass(frozen=True)
class Denominator:
    area: str
    measure: str  # 'population' | 'households'
    year: int  # the year the value is for (may be earlier than asked: latest available)
    value: int
    source: str


@cache
def _denominators() -> dict[tuple[str, str], dict[int, tuple[int, str]]]:
    out: dict[tuple[str, str], dict[int, tuple[int, str]]] = {}
    with open(_data("london_denominators.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (r["name"].lower(), r["measure"])
            out.setdefault(key, {})[int(r["year"])] = (int(r["value"]), r["source"])
    return out


def denominator_areas() -> list[str]:
    """The local authorities with shipped denominators (the 33 London authorities)."""
    return sorted(_canonical_names().values())


@cache
def _canonical_names() -> dict[str, str]:
    with open(_data("london_denominators.csv"), newline="", encoding="utf-8") as f:
        return {r["name"].lower(): r["name"] for r in csv.DictReader(f)}


def denominator(area: str, measure: str, year: int) -> Denominator:
    """Population or households of `area` for `year`: the value for that year, else the
    latest earlier year, else the earliest (the year used is returned with it).

    The 33 London authorities use the shipped London file (so London figures are unchanged);
    any other LA in England and Wales, by name or code, the national files (`national`): the
    ONS mid-year estimate by the same rule (mid-2001..mid-2022, mid-2024; mid-2023 -> 2022,
    after 2024 -> 2024) and Census 2021 households (the only year shipped nationally)."""
    if measure not in ("population", "households"):
        raise InputError(f"measure must be 'population' or 'households', got {measure!r}")
    series = _denominators().get((area.lower(), measure))
    if not series:
        return _national_denominator(area, measure, year)
    earlier = [y for y in series if y <= year]
    used = max(earlier) if earlier else min(series)
    value, source = series[used]
    return Denominator(_canonical_names()[area.lower()], measure, used, value, source)


def local_authorities_of(area: str) -> tuple[str, ...]:
    """The LAD 2024 codes whose whole figures make up `area` (an LA name or code, or a CSP
    name or code).

    Store counts and denominators are per local authority, so a CSP is the sum of the LAs it
    covers wholly; a CSP that covers only part of an LA (Bournemouth; Aylesbury Vale; Dorset,
    which includes Christchurch) cannot be counted from LA figures and is refused with the
    LA to use instead, never given the whole LA's figures.
    """
    from saferboard.core import national

    found = national.resolve_area(area)
    if found.kind == "la":
        return found.la_codes
    csp = national.csps()[found.code]
    las = national.local_authorities()
    partial = [las[code].name for code, n in zip(csp.la_codes, csp.lsoas, strict=True)
               if n != len(national.lsoas_in(code))]
    if partial:
        raise InputError(
            f"the Community Safety Partnership {csp.name!r} covers only part of "
            f"{', '.join(partial)}; figures are kept per local authority: give "
            f"{' or '.join(repr(p) for p in partial)} (the whole authority) instead",
            param="area")
    return csp.la_codes


def one_la(text: str, *, why: str = "") -> str:
    """The code of the one local authority `text` stands for (an LA name or code, or a CSP
    that is one whole LA). InputError naming the `area` parameter otherwise: the national
    "did you mean", a partial CSP, or a CSP of several LAs (named, with `why` one is
    needed)."""
    from saferboard.core import national

    try:
        codes = local_authorities_of(text)
    except InputError as e:
        raise InputError(e.detail, param="area") from None
    if len(codes) > 1:
        names = ", ".join(national.local_authority(c).name for c in codes)
        raise InputError(f"{national.resolve_area(text).name!r} covers {len(codes)} local "
                         f"authorities ({names}); {why}give one of them", param="area")
    return codes[0]


def resolve_area_name(text: str, known: Iterable[str]) -> str:
    """The store's name for the area a user typed: an area in `known` (the store's area
    names, any case), else an LA name or code or a CSP name or code of England and Wales
    (national.resolve_area) whose authority is in `known`.

    A name the national lookup does not know gets its "did you mean" among the national
    names; a real area with no rows in the store says so and names its police force, whose
    files hold its figures.
    """
    from saferboard.core import national

    by_lower = {k.lower(): k for k in known}
    found = by_lower.get(text.strip().lower())
    if found is not None:
        return found
    la = national.local_authority(one_la(text, why="figures are kept per authority: "))
    found = by_lower.get(la.name.lower())
    if found is not None:
        return found
    raise InputError(f"{la.name} ({la.code}) has no rows in the store; its figures come from "
                     f"the {la.force_name} police force's police.uk files: import them",
                     param="area")


# Peer groups any area has without configuration (`peer_group`); the nearest neighbours
# are ONS's model, never the Home Office's most similar group (which is not public).
BUILT_IN_GROUPS = ("ONS nearest neighbours", "same force", "region")


def peer_group(spec: str, area: str, configured: Mapping[str, Sequence[str]]
               ) -> tuple[str, tuple[str, ...]]:
    """(group label, member names) for a --peers value: a configured group name; a built-in
    group of `area` ("ONS nearest neighbours" - "nearest neighbours" also reads - the top 15
    of ONS's statistical nearest neighbours, England only; "same force": every LA of its
    police force area; "region": its English region, or Wales); or a comma-separated list of
    LA names or codes (`area` itself is added so that it is ranked among them). Members are
    LA names as the store keeps them; an unknown name is an error with "did you mean"."""
    from saferboard.core import national

    if spec in configured:
        return spec, tuple(configured[spec])
    key = " ".join(spec.casefold().split())
    if key in ("ons nearest neighbours", "nearest neighbours", "same force", "region"):
        # peers are LAs: a CSP of several is not one of them
        code = one_la(area, why="built-in peer groups are of one authority: ")
        las = national.local_authorities()
        if key == "same force":
            label = f"same force ({las[code].force_name})"
            codes: tuple[str, ...] = national.same_force(code)
        elif key == "region":
            label = f"region ({las[code].region_name})"
            codes = national.region(code)
        else:
            neighbours = national.nearest_neighbours(code)
            if not neighbours:
                raise InputError(f"{las[code].name} has no ONS nearest neighbours (they cover "
                                 "England only); use 'same force' or 'region'", param="peers")
            label = "ONS nearest neighbours"
            codes = (code, *(n.code for n in neighbours))
        return label, tuple(las[c].name for c in codes)
    try:  # an LA whose name holds a comma (Bournemouth, Christchurch and Poole) by its code
        names = [la_name(part) for part in spec.split(",") if part.strip()]
    except InputError as e:
        raise InputError(e.detail, param="peers") from None
    if len(names) < 1:
        raise InputError(f"no peers in {spec!r}: give a configured group, one of "
                         f"{', '.join(BUILT_IN_GROUPS)}, or a comma-separated list of "
                         "areas", param="peers")
    mine = la_name(area)
    members = tuple(dict.fromkeys([mine, *names]))
    return "peers: " + ", ".join(members), members


def same_area(a: str, b: str) -> bool:
    """Whether two area texts (names any case, or codes) are the same local authority."""
    if a.strip().lower() == b.strip().lower():
        return True
    try:
        return la_name(a) == la_name(b)
    except InputError:
        return False


@dataclass(frozen=True)
class WardOutline:
    """A ward (May 2024) of an LA for map outlines and labels: the union of the generalised
    boundaries of its 2021 LSOAs (ONS best-fit LSOA -> ward lookup), EPSG:27700."""

    code: str
    name: str
    geometry: BaseGeometry


@cache
def ward_outlines(area: str) -> tuple[WardOutline, ...]:
    """The wards of one LA (name or code), by name. Best-fit wards follow LSOA edges, so an
    outline can differ from the statutory ward boundary by part of an LSOA: good enough to
    say where a hotspot is, not for ward statistics."""
    from shapely import unary_union

    from saferboard.core import national

    code = one_la(area, why="wards are drawn per authority: ")
    by_ward: dict[str, list[BaseGeometry]] = {}
    for lsoa in national.lsoas_in(code):
        by_ward.setdefault(lsoa.ward_code, []).append(national.lsoa_boundary(lsoa.code))
    names = national.wards()
    return tuple(sorted((WardOutline(w, names[w].name, unary_union(parts))
                         for w, parts in by_ward.items()), key=lambda o: o.name))


def area_boundary(text: str) -> tuple[str, BaseGeometry]:
    """(LA name, boundary in EPSG:27700) for an LA name or code, or a CSP that is one whole
    LA, anywhere in England and Wales (national.la_boundary: London's finer shipped
    outlines for the 33 boroughs, generalised LSOA unions elsewhere)."""
    from saferboard.core import national

    code = one_la(text, why="maps are drawn per authority: ")
    return national.local_authority(code).name, national.la_boundary(code)


def _national_denominator(area: str, measure: str, year: int) -> Denominator:
    from saferboard.core import national

    codes = local_authorities_of(area)
    las = [national.local_authority(c) for c in codes]
    name = las[0].name if len(las) == 1 else national.resolve_area(area).name
    if measure == "households":
        return Denominator(name, measure, 2021, sum(la.households_2021 for la in las),
                           "Census 2021 first results, table H01 (rounded to 100)")
    pops = [national.la_population_detail(c, year) for c in codes]
    return Denominator(name, measure, pops[0].year, sum(p.value for p in pops),
                       f"{pops[0].release} (mid-{pops[0].year})")


@dataclass(frozen=True)
class SmallArea:
    """An LSOA or ward of a local authority, with its resident population where known."""

    code: str
    name: str
    population: float | None
    source: str


CENSUS_RESIDENTS = "Census 2021 usual residents (ONS TS021)"


def la_name(text: str) -> str:
    """The name of the one local authority `text` stands for: a London borough as shipped, or
    any LA (name or code) or whole-LA CSP of England and Wales (InputError otherwise, with
    "did you mean")."""
    from saferboard.core import national

    london = _canonical_names().get(text.strip().lower())
    if london is not None:
        return london
    return national.local_authority(one_la(text)).name


def is_london(area: str) -> bool:
    """Whether `area` is one of the 33 London authorities of the shipped London files."""
    return area.strip().lower() in _canonical_names()


@cache
def lsoa_wards() -> dict[str, str]:
    """2021 LSOA code -> its best-fit ward (May 2024) code (ONS lookup)."""
    from saferboard.core import national

    return {code: lsoa.ward_code for code, lsoa in national.lsoa_lookup().items()}


def national_wards_of(area: str) -> tuple[SmallArea, ...]:
    """The wards (May 2024) of any LA of England and Wales with Census 2021 usual residents
    summed over the 2021 LSOAs whose best fit they are (ONS lookup), sorted by code."""
    from saferboard.core import national

    residents: dict[str, int] = {}
    for code in local_authorities_of(area):
        for lsoa in national.lsoas_in(code):
            residents[lsoa.ward_code] = residents.get(lsoa.ward_code, 0) + lsoa.residents_2021
    names = national.wards()
    return tuple(SmallArea(w, names[w].name, float(n), CENSUS_RESIDENTS)
                 for w, n in sorted(residents.items()))


def store_area_names(text: str) -> tuple[str, ...]:
    """The stored LA names whose figures make up `text`: one LA (name or code, or a CSP of
    one LA), every LA of a CSP of several whole LAs (South Worcester: Malvern Hills,
    Worcester, Wychavon - their figures are summed), or `text` as given when the national
    lookup does not know it (an MPS pseudo-borough). A CSP covering part of an LA is an
    InputError naming the LA (`local_authorities_of`): never an empty or a whole-LA count."""
    from saferboard.core import national

    london = _canonical_names().get(text.strip().lower())
    if london is not None:
        return (london,)
    try:
        national.resolve_area(text)
    except InputError:
        return (text,)
    try:
        codes = local_authorities_of(text)
    except InputError as e:
        raise InputError(e.detail, param="area") from None
    return tuple(national.local_authority(c).name for c in codes)


def store_area_name(text: str) -> str:
    """`la_name` where the national lookup knows `text` (an LA code or CSP name counts as
    its authority's stored name); otherwise `text` as given (an MPS pseudo-borough). A CSP
    of several LAs, or of part of one, is an InputError (a filter by its name would match
    no row and read as zero crimes)."""
    names = store_area_names(text)
    if len(names) > 1:
        raise InputError(f"{text.strip()!r} covers {len(names)} local authorities "
                         f"({', '.join(names)}); give one of them", param="area")
    return names[0]


@cache
def lsoas_of(area: str) -> tuple[SmallArea, ...]:
    """The 2021 LSOAs of a local authority with residents: for a London borough ONS mid-2020
    estimates (see data/PROVENANCE.md for how 2021 LSOAs with new codes get theirs), for any
    other LA of England and Wales Census 2021 usual residents (national)."""
    if area.lower() not in _canonical_names():
        from saferboard.core import national

        codes = local_authorities_of(area)
        return tuple(SmallArea(lsoa.code, lsoa.name, float(lsoa.residents_2021),
                               CENSUS_RESIDENTS)
                     for code in codes for lsoa in national.lsoas_in(code))
    pops: dict[str, tuple[int, str]] = {}
    with open(_data("london_lsoa_population.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["vintage"] == "2021":
                pops[r["lsoa_code"]] = (int(r["population"]), r["method"])
    with open(_data("london_lsoas.csv"), newline="", encoding="utf-8") as f:
        return tuple(
            SmallArea(r["lsoa_code"], r["lsoa_name"], *pops[r["lsoa_code"]])
            for r in csv.DictReader(f)
            if r["vintage"] == "2021" and r["lad_name"].lower() == area.lower()
        )


def lsoa21_counts(counts_by_code: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Counts by LSOA code -> (counts by 2021 LSOA, counts of the 2011 codes moved).

    2011-coded rows (police.uk's months of the switch, 2022-2023) go to their 2021 LSOA
    through the ONS lookup (national.lsoa21_shares): all of them when the 2011 LSOA has one
    successor (unchanged or merged); for a split one, shared in proportion to the
    successors' Census 2021 residents and rounded by largest remainder, so counts stay whole
    crimes and the 2011 LSOA's total is kept exactly. Codes the lookup lacks stay as given.
    """
    from saferboard.core import national

    out: dict[str, int] = {}
    moved: dict[str, int] = {}
    for code, n in counts_by_code.items():
        shares = national.lsoa21_shares(code) if code not in national.lsoa_lookup() else ()
        if not shares:
            out[code] = out.get(code, 0) + n
            continue
        moved[code] = n
        raw = [(c, n * w) for c, w in shares]
        whole = {c: int(v) for c, v in raw}
        left = n - sum(whole.values())
        for c, _ in sorted(raw, key=lambda cv: (-(cv[1] - int(cv[1])), cv[0]))[:left]:
            whole[c] += 1
        for c, k in whole.items():
            out[c] = out.get(c, 0) + k
    return out, moved


@cache
def wards_of(area: str) -> tuple[SmallArea, ...]:
    """The December 2023 wards of a local authority (no population is shipped for wards)."""
    with open(_data("wards_lad23.csv"), newline="", encoding="utf-8") as f:
        return tuple(SmallArea(r["ward_code"], r["ward_name"], None, "")
                     for r in csv.DictReader(f) if r["lad_name"].lower() == area.lower())
