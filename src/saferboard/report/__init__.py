"""The board pack: Jinja2 templates, Vega-Lite charts (SVG for the PDF), WeasyPrint."""
