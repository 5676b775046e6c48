"""Celery tasks: two or three lines each that call a ``shared`` service and record the run."""
