"""Vigia's deployable processes: start-up, wiring and signals only; the logic lives in ``shared``."""
