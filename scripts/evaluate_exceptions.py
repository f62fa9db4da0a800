"""Does seasonal adjustment reduce false alarms in the monthly exception flags?

On the MPS borough series in ../shared/data (32 boroughs, the dashboard's MPS categories,
every month with a full 24-month baseline), count how often each method flags a month, and
how those flags spread over the calendar. A well-calibrated 3-sigma chart on a stable series
flags about 0.3% of months; flags piling up in the same calendar months every year are
seasonal peaks the board already expects (false alarms). Run from the project root:
python scripts/evaluate_exceptions.py  (results are recorded in docs/methods.md).
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.measures.exceptions import METHODS, flag_month, limits
from saferboard.measures.series import load_monthly
from saferboard.sources.ingest import ingest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    cats = categories.load()
    cfg = load_config()
    files = sorted((SHARED / "mps_borough_crime").glob("release_2025-*/*.csv"))
    with tempfile.TemporaryDirectory() as d:
        con = store.connect(Path(d) / "e.duckdb")
        ingest(con, files, cats)
        table = load_monthly(con, cats, "mps")
        con.close()
    boroughs = [a for a in cfg.peer_groups["London boroughs"] if table.has_area(a)]
    names = [c for c in cfg.dashboard.categories if c != "Anti-social behaviour"]
    cases = []
    for area in boroughs:
        for category in names:
            series = table.category_series(area, category, cats)
            history = list(zip(table.months, (int(v) for v in series), strict=True))
            cases += [(history[i - 24:i], history[i]) for i in range(24, len(history))]
    print(f"{len(cases):,} borough-months tested ({len(boroughs)} boroughs, "
          f"{len(names)} categories)")
    print("method        flagged  (high/low)    detects x1.3  x1.5  x0.7  x0.5  top month")
    for method in METHODS:
        flags: Counter[str] = Counter()
        by_cal: Counter[int] = Counter()
        detected: Counter[float] = Counter()
        for baseline, (month, count) in cases:
            e = flag_month(month, count, baseline, method=method)
            if e.flag in ("high", "low"):
                flags[e.flag] += 1
                by_cal[month.month] += 1
            # Detection: the same month with its count scaled, as if something had happened.
            for factor in (1.3, 1.5, 0.7, 0.5):
                scaled = flag_month(month, round(count * factor), baseline, method=method)
                if scaled.flag == ("high" if factor > 1 else "low"):
                    detected[factor] += 1
        total = flags["high"] + flags["low"]
        n = len(cases)
        top = by_cal.most_common(1)[0] if by_cal else (0, 0)
        print(f"{method:13s} {total / n:6.2%}  ({flags['high']:,}/{flags['low']:,})   "
              + "  ".join(f"{detected[f] / n:5.1%}" for f in (1.3, 1.5, 0.7, 0.5))
              + f"  {top[0]:02d} ({top[1] / total if total else 0:.0%})")
    # At an equal alarm rate: widen or narrow each method's limits until 2% of the real
    # months flag, then compare how often a scaled month is caught. Sensitivity per alarm.
    print("at an equal 2% alarm rate: detects x1.3   x0.7")
    for method in METHODS:
        z, z_up, z_down = [], [], []
        for baseline, (month, count) in cases:
            centre, _, upper = limits([m for m, _ in baseline],
                                      [float(v) for _, v in baseline], month, method)
            sigma = max((upper - centre) / 3, 1e-9)
            z.append(abs(count - centre) / sigma)
            z_up.append((count * 1.3 - centre) / sigma)
            z_down.append((centre - count * 0.7) / sigma)
        k = sorted(z)[int(0.98 * len(z))]
        up = sum(v > k for v in z_up) / len(z)
        down = sum(v > k for v in z_down) / len(z)
        print(f"{method:13s} width {k:4.2f} sigma           {up:5.1%}  {down:5.1%}")


if __name__ == "__main__":
    main()
