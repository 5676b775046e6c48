"""The nine red-flag indicators of the handbook, one module each; the registry lists them in order."""
