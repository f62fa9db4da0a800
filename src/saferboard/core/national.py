"""National reference areas for England and Wales: LSOA 2021 -> ward 2024 -> local authority
(LAD 2024) -> Community Safety Partnership -> police force area, the LSOA 2011 -> 2021 lookup,
LA populations 2001-2024, Census 2021 households and residents, ONS statistical nearest
neighbours and generalised boundaries in British National Grid.

Everything is read from the `national_*` files shipped in saferboard/data (built by
scripts/build_national_reference.py; sources, licences and sizes in data/PROVENANCE.md),
each file once per process (`functools.cache`). Results are frozen dataclasses or read-only
mappings, so the cached copies cannot be changed by a caller.

Two rules a user sees:

* **Population year.** `la_population(code, year)` gives the latest published mid-year
  estimate not after `year`, with the year used. The shared ONS data have mid-2001 to
  mid-2022 and mid-2024; mid-2023 therefore uses mid-2022, and years after 2024 use mid-2024.
  Not interpolation: mid-2022 and mid-2024 come from different releases (mid-2024 carries
  ONS's revised international migration), so a value between them would belong to neither
  series and could not be quoted; a published figure with its year can. This is also the rule
  saferboard already applies to the London denominators (`areas.denominator`).
* **Areas.** An LA name, an LA code (E06/E07/E08/E09/W06) or a CSP name resolves to an `Area`
  (`resolve_area`). Names are tried as LA names first: 280 of the 314 CSPs are exactly one
  LA of the same name, and for the two that share an LA's name but cover more ("Dorset" CSP
  also covers Christchurch; "North Devon" CSP also covers Torridge) the LA is what a user of
  that name most likely means; those CSPs are reached by their code (E22.../W14...). An LA split
  across CSPs (Bournemouth, Christchurch and Poole; Buckinghamshire; North Northamptonshire
  and four others) has each LSOA in exactly one CSP: the CSP of the former district it lies
  in (see scripts/build_national_reference.py).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from saferboard.core.errors import InputError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

RELEASES: Mapping[str, str] = MappingProxyType({
    "mye2020": "ONS mid-year estimates, mid-2020 release (pre-Census-2021 series, "
               "ukpopestimatesmid2020on2021geography.xls MYE4)",
    "mye2021": "ONS mid-year estimates, mid-2021 release (Census-2021-based, "
               "ukpopestimatesmid2021on2021geographyfinal.xls MYE4)",
    "mye2022": "ONS mid-year estimates, mid-2022 release (mye22final.xlsx MYE4)",
    "mye2024": "ONS mid-year estimates, mid-2024 release (mye24tablesew.xlsx MYE2)",
})


@dataclass(frozen=True)
class Lsoa:
    """A 2021 LSOA with its best-fit ward (2024), LA (2024), CSP (2024) and Census 2021
    usual residents (ONS table TS021)."""

    code: str
    name: str
    ward_code: str
    la_code: str
    csp_code: str
    residents_2021: int


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    la_code: str


@dataclass(frozen=True)
class LocalAuthority:
    """A lower-tier local authority (LAD May 2024) of England or Wales."""

    code: str
    name: str
    region_code: str  # an English region (E12...), or W92000004 for Wales
    region_name: str
    force_code: str  # police force area, PFA 2024 (E23...)
    force_name: str
    households_2021: int  # Census 2021 table H01, rounded to 100 by ONS
    csp_codes: tuple[str, ...]  # one, or several for an LA split across CSPs


@dataclass(frozen=True)
class Csp:
    """A Community Safety Partnership (December 2024) and the LAs it covers, wholly or in
    part (`lsoas` says how many of each LA's LSOAs are in it)."""

    code: str
    name: str
    la_codes: tuple[str, ...]
    lsoas: tuple[int, ...]


@dataclass(frozen=True)
class Lsoa11Link:
    """One row of the exact-fit ONS LSOA 2011 -> 2021 lookup. `change`: U unchanged,
    S the 2011 LSOA was split, M merged with others, X redrawn (complex)."""

    lsoa11_code: str
    lsoa21_code: str
    change: str


@dataclass(frozen=True)
class Population:
    la_code: str
    requested_year: int
    year: int  # the mid-year the value is for (see the module docstring for the rule)
    value: int
    release: str  # description of the ONS release


@dataclass(frozen=True)
class Neighbour:
    code: str
    name: str
    rank: int
    distance: float  # ONS statistical distance: relative, smaller = more similar


@dataclass(frozen=True)
class Area:
    """What `resolve_area` returns: an LA or a CSP, with the LAs and LSOAs it covers."""

    kind: str  # "la" | "csp"
    code: str
    name: str
    la_codes: tuple[str, ...]
    force_code: str
    force_name: str

    @property
    def lsoa_codes(self) -> tuple[str, ...]:
        return tuple(lsoa.code for lsoa in lsoas_in(self.code))


def _text(name: str) -> str:
    raw = (resources.files("saferboard") / "data" / name).read_bytes()
    return (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(name))))


@cache
def lsoa_lookup() -> Mapping[str, Lsoa]:
    """Every 2021 LSOA of England and Wales (35,672) by code."""
    return MappingProxyType({
        r["lsoa21_code"]: Lsoa(r["lsoa21_code"], r["lsoa21_name"], r["ward24_code"],
                               r["lad24_code"], r["csp24_code"], int(r["residents_2021"]))
        for r in _rows("national_lsoa21.csv.gz")})


@cache
def wards() -> Mapping[str, Ward]:
    """Every ward (2024) that is the best fit of at least one 2021 LSOA, by code."""
    return MappingProxyType({
        r["ward24_code"]: Ward(r["ward24_code"], r["ward24_name"], r["lad24_code"])
        for r in _rows("national_wards24.csv.gz")})


@cache
def csps() -> Mapping[str, Csp]:
    """The 314 Community Safety Partnerships of England and Wales, by code."""
    by: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in _rows("national_csps.csv"):
        by[r["csp24_code"]].append(r)
    return MappingProxyType({
        code: Csp(code, rs[0]["csp24_name"], tuple(r["lad24_code"] for r in rs),
                  tuple(int(r["lsoas"]) for r in rs))
        for code, rs in by.items()})


@cache
def local_authorities() -> Mapping[str, LocalAuthority]:
    """The 318 local authorities (296 English, 22 Welsh) by LAD 2024 code."""
    csp_of: dict[str, list[str]] = defaultdict(list)
    for csp in csps().values():
        for la in csp.la_codes:
            csp_of[la].append(csp.code)
    return MappingProxyType({
        r["lad24_code"]: LocalAuthority(
            r["lad24_code"], r["lad24_name"], r["region_code"], r["region_name"],
            r["pfa24_code"], r["pfa24_name"], int(r["households_2021"]),
            tuple(sorted(csp_of[r["lad24_code"]])))
        for r in _rows("national_las.csv")})


def local_authority(code: str) -> LocalAuthority:
    """The LA with this LAD 2024 code; InputError naming the code otherwise."""
    la = local_authorities().get(code.strip().upper())
    if la is None:
        raise InputError(f"no local authority in England and Wales has code {code!r} "
                         "(LAD May 2024 codes: E06, E07, E08, E09 or W06 and six digits)")
    return la


@cache
def lsoa11_links() -> Mapping[str, tuple[Lsoa11Link, ...]]:
    """2011 LSOA code -> its rows of the ONS LSOA 2011 -> 2021 lookup."""
    out: dict[str, list[Lsoa11Link]] = defaultdict(list)
    for r in _rows("national_lsoa11_lsoa21.csv.gz"):
        out[r["lsoa11_code"]].append(Lsoa11Link(r["lsoa11_code"], r["lsoa21_code"], r["change"]))
    return MappingProxyType({k: tuple(v) for k, v in out.items()})


@cache
def lsoa11_codes() -> tuple[str, ...]:
    """The 2011 LSOA codes of the LSOA 2011 -> 2021 lookup, in its order: the keys of
    `lsoa11_links` without building its rows (0.04 s instead of 0.15 s), for callers that
    only ask which codes are 2011 ones (areas.lsoa_vintages)."""
    reader = csv.reader(io.StringIO(_text("national_lsoa11_lsoa21.csv.gz")))
    column = next(reader).index("lsoa11_code")
    return tuple(dict.fromkeys(row[column] for row in reader if row))


def lsoa21_shares(code: str) -> tuple[tuple[str, float], ...]:
    """The 2021 LSOA(s) a 2011- or 2021-coded row belongs to, with the share of it each gets.

    A 2021 code, or a 2011 LSOA that was unchanged or merged, gives one LSOA with share 1. A
    2011 LSOA that was split (or redrawn) gives each successor a share in proportion to its
    Census 2021 residents: ONS draws LSOAs on population, so residents are the best shipped
    guide to where the 2011 area's people (and crimes) went. Unknown codes give ().
    """
    code = code.strip().upper()
    if code in lsoa_lookup():
        return ((code, 1.0),)
    links = lsoa11_links().get(code, ())
    if len(links) == 1:
        return ((links[0].lsoa21_code, 1.0),)
    weights = {link.lsoa21_code: lsoa_lookup()[link.lsoa21_code].residents_2021
               for link in links}
    total = sum(weights.values())
    return tuple((c, w / total) for c, w in sorted(weights.items()))


def la_of_lsoa(code: str) -> str | None:
    """The LAD 2024 code of a 2021 or 2011 LSOA code (a 2011 LSOA whose successors lie in two
    LAs goes with the larger share), or None when the code is not an LSOA of England and
    Wales."""
    shares = lsoa21_shares(code)
    if not shares:
        return None
    best = max(shares, key=lambda s: (s[1], s[0]))[0]
    return lsoa_lookup()[best].la_code


@cache
def _la_lsoas() -> Mapping[str, tuple[Lsoa, ...]]:
    out: dict[str, list[Lsoa]] = defaultdict(list)
    for lsoa in lsoa_lookup().values():
        out[lsoa.la_code].append(lsoa)
        out[lsoa.csp_code].append(lsoa)
    return MappingProxyType({k: tuple(sorted(v, key=lambda x: x.code)) for k, v in out.items()})


def lsoas_in(code: str) -> tuple[Lsoa, ...]:
    """The 2021 LSOAs of an LA (LAD 2024 code) or a CSP (CSP 2024 code), sorted by code."""
    code = code.strip().upper()
    if code not in local_authorities() and code not in csps():
        raise InputError(f"{code!r} is neither an LA (E06/E07/E08/E09/W06) nor a CSP "
                         "(E22/W14) code of England and Wales")
    return _la_lsoas().get(code, ())


@cache
def _population() -> Mapping[str, Mapping[int, tuple[int, str]]]:
    out: dict[str, dict[int, tuple[int, str]]] = defaultdict(dict)
    for r in _rows("national_la_population.csv.gz"):
        out[r["lad24_code"]][int(r["year"])] = (int(r["population"]), r["release"])
    return MappingProxyType({k: MappingProxyType(v) for k, v in out.items()})


def la_population_detail(code: str, year: int) -> Population:
    """`la_population` with the release the figure comes from."""
    la = local_authority(code)
    series = _population()[la.code]
    earlier = [y for y in series if y <= year]
    if not earlier:
        raise InputError(f"no population estimate for {la.name} before mid-{min(series)} "
                         f"(asked for {year})")
    used = max(earlier)
    value, release = series[used]
    return Population(la.code, year, used, value, RELEASES[release])


def la_population(code: str, year: int) -> tuple[int, int]:
    """(population, year used) of an LA: the latest published mid-year estimate not after
    `year` (mid-2023 -> mid-2022; see the module docstring for why not interpolation)."""
    p = la_population_detail(code, year)
    return p.value, p.year


def population_years() -> tuple[int, ...]:
    """The mid-years with a published estimate in the shipped data."""
    return tuple(sorted({y for series in _population().values() for y in series}))


@cache
def _neighbours() -> Mapping[str, tuple[Neighbour, ...]]:
    names = {c: la.name for c, la in local_authorities().items()}
    out: dict[str, list[Neighbour]] = defaultdict(list)
    for r in _rows("national_nearest_neighbours.csv"):
        out[r["lad24_code"]].append(Neighbour(r["neighbour_code"], names[r["neighbour_code"]],
                                              int(r["rank"]), float(r["statistical_distance"])))
    return MappingProxyType({k: tuple(sorted(v, key=lambda n: n.rank))
                             for k, v in out.items()})


def nearest_neighbours(code: str) -> tuple[Neighbour, ...]:
    """The 15 ONS statistical nearest neighbours of an English LA, nearest first.

    ONS "Lower and upper tier local authority statistical nearest neighbours", England, 2025:
    a socio-economic similarity model, not the Home Office's most similar group for CSPs
    (which is not public) - label it as ONS's. Welsh LAs have none (England only): ().
    """
    return _neighbours().get(local_authority(code).code, ())


def same_force(code: str) -> tuple[str, ...]:
    """The LAD codes of every LA in the police force area of `code`, itself included."""
    force = local_authority(code).force_code
    return tuple(sorted(c for c, la in local_authorities().items() if la.force_code == force))


def region(code: str) -> tuple[str, ...]:
    """The LAD codes of every LA in the region of `code` (Wales for a Welsh LA), itself
    included."""
    reg = local_authority(code).region_code
    return tuple(sorted(c for c, la in local_authorities().items() if la.region_code == reg))


def _key(text: str) -> str:
    return " ".join(text.replace("&", " and ").casefold().split())


@cache
def _names() -> Mapping[str, Area]:
    """Lookup key -> Area for every LA name, LA code, CSP code and CSP name. LA names win
    over CSP names (module docstring)."""
    out: dict[str, Area] = {}
    for csp in csps().values():
        force = local_authority(csp.la_codes[0])
        area = Area("csp", csp.code, csp.name, csp.la_codes, force.force_code, force.force_name)
        out[_key(csp.name)] = area
        out[_key(csp.code)] = area
    for la in local_authorities().values():
        area = Area("la", la.code, la.name, (la.code,), la.force_code, la.force_name)
        out[_key(la.name)] = area
        out[_key(la.code)] = area
    return MappingProxyType(out)


def resolve_area(text: str) -> Area:
    """An LA name, LA code (E06/E07/E08/E09/W06), CSP name or CSP code (E22/W14) -> Area.

    Case, repeated spaces and '&' for 'and' do not matter. Anything else raises a one-line
    InputError with up to three "did you mean" suggestions among the national LA and CSP
    names.
    """
    found = _names().get(_key(text))
    if found is not None:
        return found
    names = sorted({a.name for a in _names().values()})
    by_key = {_key(n): n for n in names}
    close = difflib.get_close_matches(_key(text), list(by_key), n=3, cutoff=0.6)
    hint = (f"; did you mean {', '.join(repr(by_key[c]) for c in close)}?" if close else
            "; give a local authority name, its code (E06/E07/E08/E09/W06...) or a "
            "Community Safety Partnership name")
    raise InputError(f"no local authority or Community Safety Partnership in England and "
                     f"Wales is called {text.strip()!r}{hint}")


@cache
def _boundaries(name: str) -> Mapping[str, Any]:
    doc = json.loads(_text(name))
    return MappingProxyType({f["properties"]["code"]: f["geometry"] for f in doc["features"]})


def la_boundary(code: str) -> BaseGeometry:
    """The boundary of an LA as a shapely geometry in British National Grid (EPSG:27700).

    For the 33 London boroughs this is the finer shipped London file (ONS LAD 2022 gen20,
    simplified to 10 m), so London maps and hotspot grids are unchanged; elsewhere the union
    of the LA's super-generalised (BSC) 2021 LSOAs, simplified to 25 m (data/PROVENANCE.md).
    """
    from shapely.geometry import shape  # shapely is imported on first use only

    la = local_authority(code)
    if la.code.startswith("E09"):
        return shape(_boundaries("london_boroughs_bng.geojson")[la.code])
    return shape(_boundaries("national_la_bng.geojson.gz")[la.code])


# How the shipped LSOA file (written by scripts/build_national_reference.py) begins each
# feature; the only other strings in a feature are GeoJSON's own type names.
_FEATURE = re.compile(r'\{"type":"Feature","properties":\{"code":"([^"]+)"')
_DECODER = json.JSONDecoder()


@cache
def _feature_index(name: str) -> tuple[str, Mapping[str, int]]:
    """The text of a GeoJSON file and where each feature starts, by its code. Parsing the
    national LSOA file whole takes about a second for the few hundred LSOAs a map needs;
    finding the features takes a few milliseconds, and each is parsed when asked for."""
    text = _text(name)
    return text, MappingProxyType({m[1]: m.start() for m in _FEATURE.finditer(text)})


def _feature_geometry(name: str, code: str) -> Mapping[str, Any] | None:
    """The geometry of the feature of `code` in `name` (None when there is none)."""
    text, starts = _feature_index(name)
    if not starts:  # not written as the build script writes it: read it whole
        return _boundaries(name).get(code)
    start = starts.get(code)
    if start is None:
        return None
    feature, _ = _DECODER.raw_decode(text, start)
    if feature["properties"]["code"] != code:  # cannot happen: the index read this code
        raise InputError(f"{name}: the feature at character {start} is not {code!r}")
    geometry: Mapping[str, Any] = feature["geometry"]
    return geometry


def lsoa_boundary(code: str) -> BaseGeometry:
    """The boundary of a 2021 LSOA (BSC, coverage-simplified to 25 m, 1 m grid) as a shapely
    geometry in EPSG:27700."""
    from shapely.geometry import shape

    geometry = _feature_geometry("national_lsoa21_bng.geojson.gz", code.strip().upper())
    if geometry is None:
        raise InputError(f"no 2021 LSOA of England and Wales has code {code!r}")
    return shape(geometry)
