"""Importing customer data: one code path behind the UI upload, the REST API and the CLI.

A file is read in chunks (``reading``), its columns mapped to targets and
parsed vectorised (``parsing``, ``specs``), staged into a temporary table (COPY
on PostgreSQL) and merged with set-based SQL (``loading``), all in one
transaction (``runner``): either every row is applied, or none is.
"""
