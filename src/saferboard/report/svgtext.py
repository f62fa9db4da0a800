"""SVG text for WeasyPrint laid out a string at a time instead of a letter at a time.

WeasyPrint (70) lays out and draws each letter of an SVG <text> as a line of its own, so
that it can honour per-letter x, y, dx, dy and rotate lists, letter-spacing and textLength.
The pack's figures use none of these (vl-convert places each label with a transform), and
the 6,000 letters of a pack's 600 labels were about half of the time WeasyPrint spent
drawing its figures. `install` makes WeasyPrint lay out such a label once and draw it as
one run of glyphs; every other text element is drawn by WeasyPrint's own function. The
text is the same and still selectable; the only visible difference is that the letters of
a label are kerned, as HTML text is.

It replaces WeasyPrint's internal `weasyprint.svg.text`, so it installs only on the
WeasyPrint version it was written and tested against (`TESTED`); on any other the figures
are drawn as before (slower, the same content). Adapted from weasyprint/svg/text.py
(BSD-3-Clause, Kozea).
"""

from __future__ import annotations

import sys
from math import inf
from typing import Any

TESTED = "70.0"
# A label with any of these needs WeasyPrint's letter-by-letter layout (or its baselines).
_PER_LETTER = frozenset({"x", "y", "dx", "dy", "rotate", "letter-spacing", "textLength",
                         "lengthAdjust", "display-anchor", "dominant-baseline",
                         "alignment-baseline"})


def install() -> bool:
    """Make WeasyPrint draw simple SVG text a string at a time (idempotent). False, and
    nothing changed, on a WeasyPrint other than TESTED."""
    import weasyprint
    import weasyprint.svg as svg_module

    if weasyprint.__version__ != TESTED:
        return False
    original = svg_module.text
    if getattr(original, "saferboard_fast", False):
        return True
    text_module = sys.modules["weasyprint.svg.text"]  # the package's `text` is the function

    def text(svg: Any, node: Any, font_size: float) -> None:
        if list(node) or not node.text or _PER_LETTER.intersection(node.attrib):
            original(svg, node, font_size)
            return
        _draw(svg, node, font_size, text_module)

    text.saferboard_fast = True  # type: ignore[attr-defined]
    # draw_node recognises text elements by `TAGS[tag] == text` (text anchors, bounding
    # boxes), so the module's name and every table entry of the original change together.
    svg_module.text = text
    for tag, function in list(svg_module.TAGS.items()):
        if function is original:
            svg_module.TAGS[tag] = text
    return True


def _draw(svg: Any, node: Any, font_size: float, text_module: Any) -> None:
    """WeasyPrint's svg.text.text for a node with no per-letter attribute, with the whole
    string as one layout: the same style, cursor, bounding box and drawing calls."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.text.line_break import split_first_line

    style = text_module.Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [
        font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    if weight == "normal":
        style["font_weight"] = 400
    elif weight == "bold":
        style["font_weight"] = 700
    else:
        try:
            style["font_weight"] = int(weight)
        except ValueError:
            style["font_weight"] = 400
    style["font_size"] = font_size
    if node.get("direction") in ("ltr", "rtl"):
        style["direction"] = node.get("direction")

    layout, _, _, width, height, baseline = split_first_line(
        node.text, style, svg.context, inf, 0)
    x, y = svg.cursor_position
    svg.cursor_position = x + width, y
    x_position, y_position = x + svg.cursor_d_position[0], y + svg.cursor_d_position[1]
    node.text_bounding_box = extend_bounding_box(node.text_bounding_box, (
        (x_position, y_position - baseline),
        (x_position + width, y_position - baseline + height)))

    svg.stream.push_state()
    fill, stroke = svg.set_graphical_state(node, font_size)
    svg.stream.begin_text()
    layout.reactivate(style)
    svg.fill_stroke(fill, stroke, text=True)
    box = text_module.TextBox(layout, style)
    box.baseline = baseline
    emojis = draw_first_line(svg.stream, box, "none", "none",
                             Matrix(a=1, d=-1, e=x_position, f=y_position))
    svg.stream.end_text()
    svg.stream.pop_state()
    draw_emojis(svg.stream, style, x, y, emojis)
