"""A starter partnership configuration for any local authority of England and Wales
(`saferboard init`): its name and codes, peer groups from the national reference data, the
dashboard categories its data supports and empty targets. Pure: text in, text out; the CLI
writes the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from saferboard.core import national
from saferboard.core.areas import local_authorities_of

# police.uk's street crime types as published (data.police.uk "Crime type"), in its order.
POLICEUK_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting",
    "Theft from the person", "Vehicle crime", "Violence and sexual offences", "Other crime",
)
MPS_CATEGORIES = (
    "Burglary", "Residential burglary", "Non-residential burglary", "Robbery",
    "Violence with injury", "Theft of motor vehicle", "Theft from motor vehicle",
    "Criminal damage and arson", "Anti-social behaviour", "Total notifiable offences",
)
NEAREST = "ONS nearest neighbours"
SAME_FORCE = "Same force"


@dataclass(frozen=True)
class Starter:
    area: str
    code: str
    toml: str


def _list(items: Sequence[str], indent: str = "    ") -> str:
    lines, line = [], indent
    for item in items:
        piece = json.dumps(item) + ", "
        if len(line) + len(piece) > 96 and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece
    lines.append(line.rstrip().rstrip(","))
    return "[\n" + "\n".join(lines) + "\n]"


def starter_config(area: str, *, categories: Sequence[str], source: str) -> Starter:
    """The TOML text for `area` (an LA name or code, or a whole-LA CSP). `categories` are the
    dashboard categories its data supports (`policeuk_categories` or MPS_CATEGORIES) and
    `source` says where they come from, for the comment."""
    (code,) = local_authorities_of(area)
    la = national.local_authority(code)
    las = national.local_authorities()
    csps = [national.csps()[c] for c in la.csp_codes]
    neighbours = national.nearest_neighbours(code)
    force = [las[c].name for c in national.same_force(code)]
    region = [las[c].name for c in national.region(code)]
    region_name = la.region_name if la.code.startswith("E") else "Wales"
    rank_group = NEAREST if neighbours else SAME_FORCE
    csp_text = "; ".join(f"{c.name} ({c.code})" for c in csps)
    split = ("" if len(csps) == 1 and len(csps[0].la_codes) == 1 else
             "\n# Figures are kept per local authority: this partnership's CSP(s) above do not"
             "\n# match the authority one to one, and its figures are the whole authority's.")
    parts = [
        f"# saferboard partnership configuration for {la.name}, written by `saferboard init`.",
        "# Edit it, then pass it with --config (or set $SAFERBOARD_CONFIG).",
        "",
        "[partnership]",
        f"name = {json.dumps(la.name + ' Community Safety Partnership')}",
        f"area = {json.dumps(la.name)}",
        f"# Local authority {la.code}; Community Safety Partnership {csp_text};",
        f"# police force area {la.force_name} ({la.force_code}); region {region_name}." + split,
        f"region = {json.dumps(region_name)}   # the peer group used as the region rank",
        "suppress_below = 5           # counts about people below this are suppressed",
        "",
        "[peer_groups]",
    ]
    if neighbours:
        parts += [
            "# ONS statistical nearest neighbours (ONS, 2025; England only), the 15 nearest,"
            " with the",
            "# area itself first. This is ONS's socio-economic model, not the Home Office's"
            " most similar",
            "# group for CSPs (which is not public); replace it with your MSG if you have"
            " it.",
            f"{json.dumps(NEAREST)} = "
            + _list([la.name, *(n.name for n in neighbours)]),
        ]
    else:
        parts.append("# No ONS nearest neighbours: ONS publishes them for England only.")
    parts += [
        f"# Every local authority of the {la.force_name} police force area.",
        f"{json.dumps(SAME_FORCE)} = " + _list(force),
        f"# Every local authority of {region_name}.",
        f"{json.dumps(region_name)} = " + _list(region),
        "",
        "[dashboard]",
        f"# The categories its data supports ({source}).",
        "categories = " + _list(categories),
        "# Per 1,000 households rather than residents (MPS residential burglary only; police.uk"
        "\n# does not split burglary).",
        "household_categories = "
        + ('["Residential burglary"]' if "Residential burglary" in categories else "[]"),
        'exception_method = "sd"   # or "xmr", "seasonal-sd"; see docs/methods.md',
        "alpha = 0.05",
        'hotspot_categories = ["Burglary", "Robbery", "Vehicle offences", '
        '"Violence and sexual offences"]',
        "",
        "[rag]",
        "change_threshold_pct = 0.0",
        "significant_changes_only = false",
        f"rank_group = {json.dumps(rank_group)}   # peer group whose rank is a RAG factor"
        ' ("" for none)',
        "rank_fraction = 0.3334",
        "red_share = 0.75",
        "",
        "# Strategy targets: none yet. A target applies to its own area only (the partnership's",
        "# unless `area` says otherwise). Uncomment and fill in from your strategy:",
        "# [[targets]]",
        '# name = "Reduce burglary by 10% by the end of 2027 (baseline: 2025)"',
        '# category = "Burglary"',
        "# baseline = 0                   # rolling 12-month volume at the start",
        "# change_pct = -10.0",
        '# start = "2026-01"',
        '# end = "2027-12"',
        "# tolerance_pct = 5.0",
        "",
    ]
    return Starter(la.name, la.code, "\n".join(parts))


def policeuk_categories(types_present: Sequence[str], category_of: dict[str, str | None]
                        ) -> tuple[str, ...]:
    """Dashboard categories from police.uk's crime types: each type present by its
    published name (the category it maps to: every type is a category of the same name
    except "Vehicle crime", which is "Vehicle offences"), in police.uk's order, then the
    total of every crime type but anti-social behaviour ("Total notifiable offences")."""
    present = set(types_present)
    out = []
    for t in POLICEUK_TYPES:
        category = category_of.get(t)
        if t in present and category and category not in out:
            out.append(category)
    return (*out, "Total notifiable offences")
