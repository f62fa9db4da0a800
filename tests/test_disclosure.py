"""Small-count suppression: small values hidden, published values true, and no hidden value
recoverable from the published cells and totals, checked by an independent method (the null
space of the table's equations: a hidden value is recoverable exactly when every table with
the same published values has the same value there)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space

from saferboard.measures.disclosure import Suppressed, note, pct, suppress, suppress_list


def items(counts: list[list[int]], rows: bool, cols: bool) -> tuple[list[int], np.ndarray]:
    """Every publishable value (cells row-major, row totals, column totals, grand total) and
    the table's equations, built independently of the module: one row per line."""
    r, c = len(counts), len(counts[0])
    values = [v for row in counts for v in row]
    names = [("cell", i, j) for i in range(r) for j in range(c)]
    if rows:
        values += [sum(row) for row in counts]
        names += [("row", i, -1) for i in range(r)]
    if cols:
        values += [sum(counts[i][j] for i in range(r)) for j in range(c)]
        names += [("col", -1, j) for j in range(c)]
    if rows and cols:
        values.append(sum(values[:r * c]))
        names.append(("grand", -1, -1))
    pos = {n: k for k, n in enumerate(names)}
    eqs = []
    for i in range(r if rows else 0):
        e = np.zeros(len(names))
        for j in range(c):
            e[pos[("cell", i, j)]] = 1
        e[pos[("row", i, -1)]] = -1
        eqs.append(e)
    for j in range(c if cols else 0):
        e = np.zeros(len(names))
        for i in range(r):
            e[pos[("cell", i, j)]] = 1
        e[pos[("col", -1, j)]] = -1
        eqs.append(e)
    if rows and cols:
        e = np.zeros(len(names))
        for i in range(r):
            e[pos[("row", i, -1)]] = 1
        e[pos[("grand", -1, -1)]] = -1
        eqs.append(e)
    return values, np.array(eqs).reshape(len(eqs), len(names))


def published(s: Suppressed, rows: bool, cols: bool) -> list[int | None]:
    out: list[int | None] = [v for row in s.cells for v in row]
    if rows:
        out += list(s.row_totals or ())
    if cols:
        out += list(s.col_totals or ())
    if rows and cols:
        out.append(s.grand_total)
    return out


def recoverable(eqs: np.ndarray, hidden: list[int]) -> list[int]:
    """Hidden items fixed by the equations: zero in every null-space vector of the
    equations restricted to the hidden items."""
    if not hidden or eqs.shape[0] == 0:  # no equations: nothing links a hidden value
        return []
    ns = null_space(eqs[:, hidden])
    if ns.size == 0:
        return list(hidden)
    return [h for k, h in enumerate(hidden) if np.all(np.abs(ns[k]) < 1e-9)]


def test_the_textbook_case_needs_a_four_cell_cycle() -> None:
    # 3 and 2 are small; the only way to protect both with two more cells is the 2x2 cycle
    # through rows 0 and 2 and columns 0 and 1, i.e. hiding 10 and 40.
    s = suppress([[3, 10, 20], [12, 15, 30], [40, 2, 9]])
    assert s.cells == ((None, None, 20), (12, 15, 30), (None, None, 9))
    assert s.row_totals == (33, 57, 51) and s.col_totals == (55, 27, 59)
    assert s.grand_total == 141
    assert (s.primary, s.secondary) == (2, 2)


def test_a_list_hides_the_next_smallest_with_the_small_one() -> None:
    s = suppress_list([3, 40, 50, 7])
    assert [c[0] for c in s.cells] == [None, 40, 50, None]
    assert s.col_totals == (100,)
    assert (s.primary, s.secondary) == (1, 1)


def test_small_totals_are_suppressed_too() -> None:
    s = suppress([[1, 2], [30, 40]])
    assert s.row_totals is not None and s.row_totals[0] is None  # 3 people
    assert s.cells[0] == (None, None)
    _, eqs = items([[1, 2], [30, 40]], True, True)
    hidden = [k for k, v in enumerate(published(s, True, True)) if v is None]
    assert recoverable(eqs, hidden) == []


def test_zero_is_published_unless_asked() -> None:
    assert suppress_list([0, 50, 60]).cells[0][0] == 0
    assert suppress_list([0, 50, 60], total=True).primary == 0
    s = suppress([[0, 50, 60]], row_totals=True, col_totals=False, suppress_zeros=True)
    assert s.cells[0][0] is None and s.primary == 1 and s.secondary == 1


def test_nothing_to_hide() -> None:
    s = suppress([[10, 20], [30, 40]])
    assert s.cells == ((10, 20), (30, 40)) and s.suppressed == 0
    assert "nothing needed suppressing" in note([s])


def test_note_counts_what_was_hidden() -> None:
    s = suppress([[3, 10, 20], [12, 15, 30], [40, 2, 9]])
    text = note([s, suppress_list([1, 30, 40])], "victims")
    assert "below 5" in text and "3 value(s) below 5" in text and "3 more" in text


def test_pct_refuses_hidden_parts() -> None:
    assert pct(None, 10) is None and pct(3, None) is None and pct(1, 0) is None
    assert pct(26, 100) == 26.0


@pytest.mark.parametrize("bad", [0, -1])
def test_threshold_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match="threshold"):
        suppress([[1]], threshold=bad)


def test_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress([[1, -2]])


tables = st.integers(1, 5).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 60)),
                                min_size=c, max_size=c), min_size=r, max_size=r)))


@settings(max_examples=150, deadline=None)
@given(tables, st.integers(1, 10), st.booleans(), st.booleans())
def test_no_suppressed_value_can_be_worked_out(counts: list[list[int]], threshold: int,
                                               rows: bool, cols: bool) -> None:
    s = suppress(counts, threshold=threshold, row_totals=rows, col_totals=cols)
    values, eqs = items(counts, rows, cols)
    shown = published(s, rows, cols)
    assert len(shown) == len(values)
    # Published values are the true ones; every small one is hidden.
    for v, p in zip(values, shown, strict=True):
        assert p is None or p == v
        if 1 <= v < threshold:
            assert p is None
    hidden = [k for k, p in enumerate(shown) if p is None]
    assert s.suppressed == len(hidden)
    # No line (a row or column with its total) has exactly one hidden value ...
    for e in eqs:
        assert sum(1 for k in hidden if e[k] != 0) != 1
    # ... and no combination of lines recovers one either.
    assert recoverable(eqs, hidden) == []
