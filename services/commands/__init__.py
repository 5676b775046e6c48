"""Subcommands of ``vigia`` (see :mod:`services.cli`)."""
