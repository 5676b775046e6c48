"""One module per resource; each exposes ``build_router(settings) -> APIRouter``."""
