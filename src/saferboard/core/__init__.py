"""The rules and reference data every layer shares: the exception root (errors), days,
months and the clock (dates), financial-year quarters (quarters), areas and denominators
(areas, national), the category tree (categories), the partnership configuration (config),
the outcome mapping (outcome_map), unit costs of crime (crime_costs), shipped reference
files and the one TOML reader (reference), keyed pseudonyms (pseudonym), case-register keys
and the ASB risk matrix (casekeys, riskmatrix), user text in and out (text) and who an output
is for (audience) and the starter configuration of `saferboard init` (starter).

May import: nothing of saferboard outside core (third-party libraries: numpy, shapely,
pyproj, cryptography). Every other layer may import core."""
