"""Vega-Lite specs to SVG with vl-convert, in a child process, for the board pack.

vl-convert holds the interpreter lock while it works: about a second to start its
JavaScript runtime, then 0.1-0.3 s a chart, seconds a pack. A child process converts the
charts on another core while the pack's process computes the rest of the pack. The child
is `python -m saferboard.report.vega`: one JSON spec a line in; one JSON line out per spec,
in the same order ({"svg": ...} or {"error": ...}).
"""

from __future__ import annotations

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


class Converter:
    """Converts the specs given to `submit` in a child process; `finish` returns their SVGs
    in order. Use as a context manager: leaving it stops the child."""

    def __init__(self) -> None:
        # The child imports this same saferboard, wherever it was imported from.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            encoding="utf-8", env=env)
        self._lines: list[str] = []
        # Threads write the specs and drain the SVGs, so neither side ever waits on a full
        # pipe: a map's spec is hundreds of kilobytes, and the pack's process would stop
        # until the child had converted every chart before it.
        self._specs: queue.Queue[str | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write, args=(self._child.stdin,),
                                        daemon=True)
        self._reader = threading.Thread(target=self._read, args=(self._child.stdout,),
                                        daemon=True)
        self._writer.start()
        self._reader.start()
        self._sent = 0

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
        self._specs.put(json.dumps(spec) + "\n")
        self._sent += 1

    def finish(self) -> list[str]:
        """The SVGs of every spec submitted, in order (waits for the child to end)."""
        self._specs.put(None)
        self._writer.join()
        self._reader.join()
        if self._child.wait() != 0 or len(self._lines) != self._sent:
            raise RuntimeError(self._failed())
        out = []
        for i, line in enumerate(self._lines):
            result = json.loads(line)
            if "error" in result:
                raise ValueError(f"chart {i + 1} of {self._sent}: vl-convert failed: "
                                 f"{result['error']}")
            out.append(str(result["svg"]))
        return out

    def _failed(self) -> str:
        return (f"the chart converter (python -m {__name__}) stopped after "
                f"{len(self._lines)} of {self._sent} charts (exit code "
                f"{self._child.poll()}; its error is above)")

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
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
