"""promptmine pipelines: mining, paraphrasing, scoring, selection and reporting.

Nothing in this package imports a model library at module level; model adapters
live in `models/` and are loaded lazily by name.
"""

__version__ = "0.1.0"
