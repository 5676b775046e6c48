"""The page at ``/``: what Vigia found, in pt-BR, for people with a browser.

Server-rendered HTML from the same store queries the API answers with: the latest
investigations (filters by órgão, indicator and severity), one investigation with each finding's
explanation, legal basis and numbers and a link to the contract on the Portal's site, and the
órgão ranking with an inline SVG chart. No build step, no CDN, no script needed to read it: it
works offline and with JavaScript off. Reads follow the API's rule: public unless
``API_READ_KEY_REQUIRED``; then the page needs the ``X-API-Key`` header like the API (a browser
that cannot send one gets a 401 page saying so, never the data).
"""

from services.api.page.routes import build_router

__all__ = ["build_router"]
