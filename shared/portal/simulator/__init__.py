"""A local stand-in for the Portal da Transparência API, serving a generated, seeded data set."""
