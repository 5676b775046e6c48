"""The shape of a simulated Portal data set: what the generator makes and the server serves.

Records are plain JSON-ready dicts with the real API's field names (ContratoDTO, the CEIS/CNEP
sanction records, ``/orgaos-siafi`` entries, licitações), so the server can send them as they are
and the client parses them exactly as it parses the real API. ``ground_truth`` says which
records carry which planted anomaly, so tests can measure detection against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class GroundTruth:
    """Planted anomalies, by indicator code.

    ``contracts[code]`` lists the Portal ids of contracts planted to trip that per-contract
    indicator; ``orgao_years[code]`` lists ``(codigoSIAFI, year)`` pairs planted for the
    órgão-level indicators (supplier_concentration, benford_deviation). ``lookalikes[code]`` lists
    ids of *lawful* contracts built to resemble that indicator's pattern (prorrogued continuous
    services, emergency dispensas, lots of one tender, old-law contracts published within art. 61,
    CNEP fines and state-level impedimentos, ...): the indicator must not flag them. ``clean``
    lists ids of contracts with no planted anomaly and no look-alike (the clean flag rate's
    denominator).
    """

    contracts: dict[str, list[int]] = field(default_factory=dict)
    orgao_years: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    clean: list[int] = field(default_factory=list)
    lookalikes: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "contracts": self.contracts,
            "orgao_years": {k: [list(p) for p in v] for k, v in self.orgao_years.items()},
            "clean": self.clean,
            "lookalikes": self.lookalikes,
        }


@dataclass
class SimDataset:
    seed: int
    orgaos: list[dict[str, Any]]  # /orgaos-siafi: {"codigo", "descricao"}
    contracts: list[dict[str, Any]]  # ContratoDTO dicts
    ceis: list[dict[str, Any]]
    cnep: list[dict[str, Any]]
    licitacoes: list[dict[str, Any]]
    ground_truth: GroundTruth = field(default_factory=GroundTruth)
    # /contratos/termo-aditivo: contract id -> [{numero, dataPublicacao, objetoAditivo}]
    termos: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
