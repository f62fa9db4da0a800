"""The small core every layer may import: rules about text, who may see what, and (as issue
13 moves them here) errors, dates, areas, categories and configuration. Imports nothing else
of saferboard except `saferboard.core.errors`."""
