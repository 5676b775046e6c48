"""The Portal da Transparência: typed client, shared rate limiter, and a faithful local simulator."""
