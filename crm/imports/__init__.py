"""Workbook import and export: the four CRM tables as XLSX sheets or CSV files.

- ``layout``: sheets, columns and keys, derived from the models;
- ``reader``: opening an upload safely and streaming its rows;
- ``cells``: a cell's Python value; ``engine``: matching and the services' rules, per row;
- ``runs``: an import as the doors run it (recorded in ImportRun); ``export``: the workbook out.
"""
