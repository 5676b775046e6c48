"""Helpers the tests share: real processes, polling for a condition, reading their JSON logs."""
