"""Vega-Lite specs to SVG with vl-convert, in a child process, for the board pack.

vl-convert holds the interpreter lock while it works: about a second to start its
JavaScript runtime, then 0.1-0.3 s a chart, seconds a pack. A child process converts the
charts on another core while the pack's process computes the rest of the pack. The child
is `python -m saferboard.report.vega`: one JSON spec a line in; one JSON line out per spec,
in the same order ({"svg": ...} or {"error": ...}).

With a cache folder, the Converter keeps every SVG it made under a key of what made it (the
spec, vl-convert's version, this file's source) and sends the child only the specs it has
not converted before; a pack whose charts are all cached starts no child at all. The web's
packs for each audience, and a pack built again, draw the same charts from the same data.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from saferboard.report import cache as cache_folder


def to_svg(spec: dict[str, Any]) -> str:
    """The SVG of a Vega-Lite spec, without the XML declaration (it sits inside HTML),
    simplified (`simplify`)."""
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(spec)
    return simplify(svg[svg.index("<svg"):])


_SVG = "http://www.w3.org/2000/svg"
_SHAPES = {"path", "rect", "line", "circle", "ellipse", "polygon", "polyline"}
# Not drawn where they stand but used by reference (a clip path's shape has no paint).
_REFERENCED = {"defs", "clipPath", "mask", "pattern", "marker", "symbol", "linearGradient",
               "radialGradient"}
_NO_PAINT = {"none", "transparent"}
_TRANSLATE = re.compile(r"translate\(([-+.\de]+),([-+.\de]+)\)")  # as vl-convert writes it
_LINE_GEOMETRY = {"transform", "x1", "y1", "x2", "y2"}


def simplify(svg: str) -> str:
    """The same drawing as vl-convert's `svg` with about half its elements, because
    WeasyPrint's time drawing a pack's figures grows with their elements (each is a
    graphics state, a transform, attribute parsing, and an element < 1 opaque is a
    transparency group of its own):
    - elements that draw nothing go: display="none" or opacity="0" (axis labels Vega hid
      because they would overlap: a PDF would still hold them as invisible text), shapes with
      neither fill nor stroke (Vega's background and foreground paths), empty groups;
    - groups with no attributes that change drawing are replaced by their children;
    - an element painting only a fill (or only a stroke) at opacity < 1 gets fill-opacity
      (stroke-opacity) instead: the same colour without a transparency group;
    - runs of sibling lines styled alike (axis ticks and grids), opaque and not dashed, become
      one path of as many segments (data marks, which carry an aria-label, are left alone).
    """
    root = ET.fromstring(svg)
    for el in root.iter():  # plain names in, one xmlns out (ElementTree would write ns0:)
        el.tag = el.tag.removeprefix(f"{{{_SVG}}}")
    _simplify(root, "black", "none")
    root.set("xmlns", _SVG)
    return ET.tostring(root, encoding="unicode")


def _simplify(parent: ET.Element, fill: str, stroke: str) -> None:
    """Simplify the children of `parent`, whose fill and stroke (inherited) are given."""
    for el in list(parent):
        if el.tag in _REFERENCED:
            continue
        a = el.attrib
        own_fill, own_stroke = a.get("fill", fill), a.get("stroke", stroke)
        fills = own_fill not in _NO_PAINT and el.tag != "line"  # a line has no inside
        strokes = own_stroke not in _NO_PAINT
        if (a.get("display") == "none" or a.get("opacity") == "0"
                or (el.tag in _SHAPES and not (fills or strokes))
                or (el.tag == "g" and len(el) == 0)):
            parent.remove(el)
            continue
        if a.get("transform") == "translate(0,0)":
            del a["transform"]
        if a.get("opacity") == "1":
            del a["opacity"]
        if "opacity" in a and len(el) == 0 and fills != strokes:
            key = "fill-opacity" if fills else "stroke-opacity"
            a[key] = _number(float(a.pop("opacity")) * float(a.get(key, "1")))
        _simplify(el, own_fill, own_stroke)
        if el.tag == "g" and len(el) == 0:  # its children all went
            parent.remove(el)
    for i, el in reversed(list(enumerate(parent))):
        if el.tag == "g" and not set(el.attrib) - {"class", "pointer-events"}:
            parent.remove(el)
            for j, child in enumerate(el):
                parent.insert(i + j, child)
    _merge_lines(parent)


def _merge_lines(parent: ET.Element) -> None:
    children = list(parent)
    runs: list[tuple[int, int, dict[str, str]]] = []  # [first, last) and their style
    start = 0
    while start < len(children):
        style = _line_style(children[start])
        end = start + 1
        while style is not None and end < len(children) and \
                _line_style(children[end]) == style:
            end += 1
        if style is not None and end - start > 1:
            runs.append((start, end, style))
        start = end
    for start, end, style in reversed(runs):  # later runs first: indexes stay right
        segments = []
        for el in children[start:end]:
            dx, dy = _translation(el)
            x1, y1 = float(el.get("x1", "0")) + dx, float(el.get("y1", "0")) + dy
            x2, y2 = float(el.get("x2", "0")) + dx, float(el.get("y2", "0")) + dy
            segments.append(f"M{_number(x1)},{_number(y1)}L{_number(x2)},{_number(y2)}")
            parent.remove(el)
        parent.insert(start, ET.Element("path", {**style, "d": "".join(segments)}))


def _line_style(el: ET.Element) -> dict[str, str] | None:
    """The attributes of a line that may join others like it, or None if it may not."""
    if el.tag != "line":
        return None
    a = el.attrib
    if (any(k == "role" or k.startswith("aria-") for k in a)
            or {"opacity", "stroke-opacity", "stroke-dasharray"} & set(a)
            or ("transform" in a and not _TRANSLATE.fullmatch(a["transform"]))):
        return None
    return {k: v for k, v in a.items() if k not in _LINE_GEOMETRY}


def _translation(el: ET.Element) -> tuple[float, float]:
    match = _TRANSLATE.fullmatch(el.get("transform", "translate(0,0)"))
    assert match  # _line_style checked it
    return float(match[1]), float(match[2])


def _number(v: float) -> str:
    """`v` to 1/1000 of a pixel, without trailing zeros."""
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def vl_convert_version() -> str:
    """The installed vl-convert-python's version (the child imports the same one; it fixes
    both the SVGs and the Vega bundle pack.py caches)."""
    from importlib.metadata import version

    return version("vl-convert-python")


class Converter:
    """Converts the specs given to `submit` in a child process; `finish` returns their SVGs
    in order. Use as a context manager: leaving it stops the child.

    `cache`: a folder for the SVGs made (None: none kept). A spec's key is the sha256 of its
    canonical JSON (sorted keys, which is also the text the child converts, so a key names
    exactly what was converted), vl-convert's version, Python's (ElementTree writes
    `simplify`'s output) and the sha256 of this file, so a new vl-convert or a change to
    `to_svg` or `simplify` misses. A hit is not sent to the child, which starts only at the
    first miss; without a cache, or with an empty one (every spec will miss), it starts at
    once, so its JavaScript runtime is ready sooner. The cache is an optimisation only: any
    error reading or writing it costs the conversion, and a file that is not a whole SVG
    (truncated) is converted again and replaced.

    Trust: an SVG is put into the pack's HTML as it is (not escaped), so whoever can write
    into the cache folder can put markup, script included, into a pack: the charts folder is
    used only if it is private (report.cache, which also writes and prunes its files)."""

    def __init__(self, cache: Path | None = None) -> None:
        self._folder: Path | None = None
        self._tag = b""  # what, besides the spec, made an SVG: part of every key
        if cache is not None:
            source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
            python = "{}.{}".format(*sys.version_info)
            self._tag = (f"vl-convert-python {vl_convert_version()}\npython {python}\n"
                         f"vega.py {source}\n").encode()
            self._folder = cache_folder.private(
                cache / f"charts-{hashlib.sha256(self._tag).hexdigest()[:16]}")
        self._svgs: list[str | None] = []  # per spec submitted: its cached SVG, or None
        self._asked: list[tuple[int, str]] = []  # per spec sent to the child: index, key
        self._child: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        # Threads write the specs and drain the SVGs, so neither side ever waits on a full
        # pipe: a map's spec is hundreds of kilobytes, and the pack's process would stop
        # until the child had converted every chart before it.
        self._specs: queue.Queue[str | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        if self._folder is None or _empty(self._folder):
            self._start()

    def _start(self) -> None:
        # The child imports this same saferboard, wherever it was imported from.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            encoding="utf-8", env=env)
        self._writer = threading.Thread(target=self._write, args=(self._child.stdin,),
                                        daemon=True)
        self._reader = threading.Thread(target=self._read, args=(self._child.stdout,),
                                        daemon=True)
        self._writer.start()
        self._reader.start()

    def _write(self, stream: IO[str] | None) -> None:
        assert stream is not None
        try:
            while (line := self._specs.get()) is not None:
                stream.write(line)
                stream.flush()
            stream.close()
        except (BrokenPipeError, ValueError):  # the child stopped: finish() says so
            pass

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self._lines.extend(stream)

    def submit(self, spec: dict[str, Any]) -> None:
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        key = ""
        if self._folder is not None:
            key = hashlib.sha256(self._tag + text.encode()).hexdigest()
            svg = _read_svg(self._folder / f"{key}.svg")
            if svg is not None:
                self._svgs.append(svg)
                return
        self._asked.append((len(self._svgs), key))
        self._svgs.append(None)
        if self._child is None:
            self._start()
        self._specs.put(text + "\n")

    def finish(self) -> list[str]:
        """The SVGs of every spec submitted, in order (waits for the child to end)."""
        out = self._svgs
        if self._child is not None:
            assert self._writer is not None and self._reader is not None
            self._specs.put(None)
            self._writer.join()
            self._reader.join()
            if self._child.wait() != 0 or len(self._lines) != len(self._asked):
                raise RuntimeError(self._failed())
            for (i, _), line in zip(self._asked, self._lines, strict=True):
                result = json.loads(line)
                if "error" in result:
                    raise ValueError(f"chart {i + 1} of {len(out)}: vl-convert failed: "
                                     f"{result['error']}")
                out[i] = str(result["svg"])
        svgs = [svg for svg in out if svg is not None]
        assert len(svgs) == len(out)  # each was cached or has come from the child
        if self._folder is not None:
            for i, key in self._asked:
                cache_folder.write_whole(self._folder / f"{key}.svg", svgs[i])
            cache_folder.prune(self._folder, "charts-*")
        return svgs

    def _failed(self) -> str:
        assert self._child is not None
        return (f"the chart converter (python -m {__name__}) stopped after "
                f"{len(self._lines)} of {len(self._asked)} charts (exit code "
                f"{self._child.poll()}; its error is above)")

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._child is None:  # every spec was cached: nothing was started
            return
        assert self._writer is not None and self._reader is not None
        if self._child.poll() is None:
            self._child.kill()
            self._child.wait()
        self._specs.put(None)
        self._writer.join(timeout=10)
        self._reader.join(timeout=10)
        for stream in (self._child.stdin, self._child.stdout):
            if stream is not None and not stream.closed:
                with suppress(OSError):  # a pipe to a killed child
                    stream.close()


def _empty(folder: Path) -> bool:
    try:
        return not any(folder.iterdir())
    except OSError:  # as good as empty: nothing will be read from it
        return True


def _read_svg(path: Path) -> str | None:
    """The SVG cached at `path`, or None: missing, unreadable or not whole."""
    try:
        svg = path.read_bytes().decode("utf-8")  # bytes: no newline translation
    except (OSError, UnicodeDecodeError):
        return None
    if not (svg.startswith("<svg") and svg.endswith("</svg>")):  # cut short (a full disk)
        return None
    cache_folder.used(path)
    return svg


def main() -> None:
    to_svg({"mark": "point", "data": {"values": [{}]}})  # starts the runtime before input
    for line in sys.stdin:
        try:
            result = {"svg": to_svg(json.loads(line))}
        except Exception as e:  # handed to the parent, which raises it
            result = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
