"""``vigia doctor``'s checks of the outside services: the Portal and Groq keys, and the error
reports, alerts and heartbeat of :mod:`shared.observability.probes`.

Each makes one direct call with the doctor's short timeout and no retries, never following a
redirect (the request carries a key), so a rejected key reads as such.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.commands.doctor.base import _Context, failed, passed, safe_url, skipped
from shared.checks import Check
from shared.config import GROQ_DEFAULT_MODEL, PORTAL_DEFAULT_URL, Settings


def _body_start(response: Any) -> str:
    return " ".join(response.text.split())[:160]


def _unanswered(name: str, url: str, response: Any, *, redirect: str, fixes: tuple[str, str, str]) -> Check | None:
    """The failure when a key's GET to ``url`` was redirected, refused or not answered 200; else None.

    ``fixes`` are what to do after a redirect, a refused key (401/403) and any other status.
    """
    on_redirect, on_refused, on_other = fixes
    if response.is_redirect:
        return failed(name, f"{url} answered HTTP {response.status_code} {redirect}", on_redirect)
    if response.status_code in (401, 403):
        return failed(name, f"{url} rejected the key (HTTP {response.status_code})", on_refused)
    if response.status_code != 200:
        return failed(name, f"{url} answered HTTP {response.status_code}: {_body_start(response)}", on_other)
    return None


def check_portal(ctx: _Context) -> Check:
    """The Portal accepts the key: page 1 of ``/orgaos-siafi``, the cheapest call it serves."""
    settings = ctx.settings
    base = settings.transparency_api_url.rstrip("/")
    if settings.transparency_api_key is None:
        if not settings.is_production:
            # Outside `vigia dev` no client sends the simulator's placeholder key to the real Portal.
            where = ("the local simulator of `vigia dev` (elsewhere, commands that read the Portal stop "
                     "until TRANSPARENCY_API_KEY or a simulator's TRANSPARENCY_API_URL is set)"
                     if base == PORTAL_DEFAULT_URL else base)
            return skipped("portal", f"no TRANSPARENCY_API_KEY: {settings.environment} runs against {where}")
        return failed("portal", "TRANSPARENCY_API_KEY is not set; production never uses the simulator",
                      "ask for a key at portaldatransparencia.gov.br/api-de-dados/cadastrar-email and set it")
    key = settings.transparency_api_key.get_secret_value()
    try:
        response = ctx.http().get(f"{base}/orgaos-siafi", params={"pagina": 1},
                                  headers={"chave-api-dados": key, "Accept": "application/json"})
    except Exception as error:
        return failed("portal", f"could not reach {base}: {error}",
                      "check TRANSPARENCY_API_URL and the machine's outbound network")
    refused = _unanswered(
        "portal", f"{base}/orgaos-siafi", response,
        redirect=f"redirecting to {safe_url(response.headers.get('location', '?'))}; not followed, so the key "
                 "went nowhere else",
        fixes=("set TRANSPARENCY_API_URL to the final address (https://api.portaldatransparencia.gov.br/api-de-dados)",
               "check TRANSPARENCY_API_KEY (the key e-mailed by the Portal, header chave-api-dados)",
               "try again in a minute; HTTP 429 means the key's rate limit is spent"),
    )
    if refused is not None:
        return refused
    try:
        count = len(response.json())
    except ValueError:
        return failed("portal", f"{base}/orgaos-siafi answered 200 without JSON: {_body_start(response)}",
                      "check TRANSPARENCY_API_URL points at .../api-de-dados")
    return passed("portal", f"{base} accepted the key ({count} órgãos on page 1)")


def check_groq(ctx: _Context) -> Check:
    """Groq accepts the key and still serves ``GROQ_MODEL`` (it retires models on notice)."""
    settings = ctx.settings
    if settings.groq_api_key is None:
        return skipped("groq", "no GROQ_API_KEY: summaries use the deterministic template")
    url = f"{settings.groq_api_url.rstrip('/')}/openai/v1/models"
    try:
        response = ctx.http().get(url, headers={"Authorization": f"Bearer {settings.groq_api_key.get_secret_value()}"})
    except Exception as error:
        return failed("groq", f"could not reach {url}: {error}", "check GROQ_API_URL and the network")
    refused = _unanswered(
        "groq", url, response, redirect="(a redirect, not followed)",
        fixes=("set GROQ_API_URL to the final address (https://api.groq.com)",
               "check GROQ_API_KEY (console.groq.com > API Keys), or unset it to use the template",
               "try again later"),
    )
    if refused is not None:
        return refused
    try:
        models = sorted(str(item.get("id")) for item in response.json().get("data", []))
    except (ValueError, AttributeError):
        return failed("groq", f"{url} answered 200 without a model list", "check GROQ_API_URL")
    if settings.groq_model not in models:
        # Groq drops a model from this list when it shuts it down (console.groq.com/docs/deprecations).
        if GROQ_DEFAULT_MODEL in models:
            fix = f"set GROQ_MODEL={GROQ_DEFAULT_MODEL} (the default) or unset it"
        else:
            fix = f"set GROQ_MODEL to one of: {', '.join(models[:6])}"
        return failed("groq", f"the key works, but Groq does not serve GROQ_MODEL={settings.groq_model} (retired or unknown; "
                      f"not among its {len(models)} models)", fix)
    return passed("groq", f"accepted the key; {settings.groq_model} is available")


def _probed(name: str, probe: Callable[[Settings, Any], Any], ctx: _Context) -> Check:
    result = probe(ctx.settings, ctx.http())
    verdict = {"pass": passed, "skip": skipped}
    if result.status in verdict:
        return verdict[result.status](name, result.reason)
    return failed(name, result.reason, result.fix)


def check_sentry(ctx: _Context) -> Check:
    from shared.observability import probes

    return _probed("sentry", probes.sentry, ctx)


def check_alerts(ctx: _Context) -> Check:
    from shared.observability import probes

    return _probed("alerts", probes.alert_webhook, ctx)


def check_heartbeat(ctx: _Context) -> Check:
    from shared.observability import probes

    return _probed("heartbeat", probes.heartbeat, ctx)
