"""The termos aditivos of a contract: the client method against the simulator, and "unknown" when it does not answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from shared.portal.client import PortalClient
from shared.portal.errors import InvalidRequest, PortalError
from shared.portal.simulator.admin import SimulatorAdmin
from shared.portal.simulator.data import SimDataset

pytestmark = pytest.mark.integration

Client = Callable[..., PortalClient]


def test_it_reads_the_termos_aditivos_of_a_contract(make_client: Client, sim_dataset: SimDataset,
                                                     admin: SimulatorAdmin) -> None:
    cid = next(iter(sim_dataset.termos))
    termos = make_client().termos_aditivos(cid)
    assert [t.objeto for t in termos] == [t["objetoAditivo"] for t in sim_dataset.termos[cid]]
    assert all(isinstance(t.data_publicacao, date) and t.numero for t in termos)
    without = next(r["id"] for r in sim_dataset.contracts if r["id"] not in sim_dataset.termos)
    assert make_client().termos_aditivos(without) == []
    assert admin.stats()["by_path"] == {"/contratos/termo-aditivo": 2}
    with pytest.raises(InvalidRequest):
        make_client().termos_aditivos(0)


def test_it_goes_through_the_same_faults_and_gives_up_with_a_portal_error(make_client: Client, sim_dataset: SimDataset,
                                                                         admin: SimulatorAdmin) -> None:
    admin.configure(script=["503"] * 10)
    with pytest.raises(PortalError):
        make_client().termos_aditivos(next(iter(sim_dataset.termos)))
