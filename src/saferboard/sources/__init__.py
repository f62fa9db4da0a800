"""Reading what comes from outside into the store: police.uk and MPS files (policeuk, mps,
files, ingest in one transaction), the police.uk archive download (fetch), partner extracts
(partner), governance returns, action plans and saved models (governance), point events for
near repeat (events), a user's population file for area rates (populations), the case
register's spreadsheets (cases), and the cost-benefit and options-appraisal model files
(cba_model, appraisal_model), whose typed models measures use. Every CSV or XLSX table is
read by one reader (tables).

May import: core and store. Never measures, present or the entry points.
"""
