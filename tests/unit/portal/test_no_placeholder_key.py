"""Without a key, a client is built for the simulator only: never for the real Portal's host."""

from __future__ import annotations

import pytest

from shared.config import Settings
from shared.portal.client import PortalClient, PortalNotConfigured


def test_it_refuses_to_send_the_placeholder_key_to_the_real_portal() -> None:
    settings = Settings(_env_file=None, environment="development")
    with pytest.raises(PortalNotConfigured, match="TRANSPARENCY_API_KEY"):
        PortalClient.from_settings(settings)


def test_it_builds_a_client_for_a_local_simulator_without_a_key() -> None:
    settings = Settings(_env_file=None, environment="development",
                        transparency_api_url="http://127.0.0.1:8090/api-de-dados")
    with PortalClient.from_settings(settings) as client:
        assert client.base_url == "http://127.0.0.1:8090/api-de-dados"
