"""Request and response models: what the OpenAPI schema at ``/openapi.json`` promises."""
