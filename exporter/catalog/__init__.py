"""What an export is: its SQL file, its typed parameters, and a request bound to them.

- ``definitions``: the catalog of exports (``load_catalog``), parsed from ``sql/exports/*.sql``.
- ``placeholders``: ``:name`` placeholders in an export's SQL, turned into bind parameters.
- ``param_types``: the parameter types an export may declare, each with its parser and bounds.
- ``params``: a request's values checked and bound against an export's parameters.
- ``filters``: which columns a ``where.`` condition may use, with which operators.
- ``shaping``: select/where/order/limit checked against the columns, and the wrapped query.
"""

__all__ = ["definitions", "filters", "param_types", "params", "placeholders", "shaping"]
