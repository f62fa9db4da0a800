"""The board pack and the files built from results: Jinja2 templates and WeasyPrint (pack),
Vega-Lite charts (charts, drawn to SVG by vega), Leaflet maps without tiles (maps), XLSX
workbooks (xlsx, workbook), the sections' row builders (cohort, people, places, governance)
and the private cache folder of compiled templates, the Vega bundle and SVGs (cache).

May import: present, measures, core and the sources model types (for the shipped unit costs);
never the store or a source file reader (it lays out what measures return). The web and the
CLI import it.
"""
