"""The kernel both floors stand on: records, errors, io, progress/logging and the cache.

Pipelines (`promptmine.*`) and adapters (`promptmine.models`) import it; it imports neither.
"""
