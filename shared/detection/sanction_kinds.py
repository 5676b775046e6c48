"""What a CEIS/CNEP record means for a federal contract: its kind, the imposing body's sphere, its reach.

A sanction bars *this* contract only by its type, legal basis and the sphere of whoever imposed it:

* declaração de inidoneidade — Lei 14.133/2021 art. 156 IV and §5º (every ente federativo), Lei
  8.666/1993 art. 87 IV, and the TCU's under Lei 8.443/1992 art. 46 (the federal administration):
  bars a federal contract;
* impedimento de licitar e contratar — Lei 14.133 art. 156 III and §4º ("no âmbito da Administração
  Pública direta e indireta do ente federativo que tiver aplicado a sanção"), Lei 10.520/2002 art.
  7º: a federal one bars every federal órgão; a state's or a municipality's does not bind the União;
* suspensão temporária — Lei 8.666 art. 87 III: the TCU reads it as binding the sanctioning órgão
  or entidade only (the STJ reads it more widely), so it bars the contract when the same órgão
  imposed it and is a record otherwise;
* judicial proibição de contratar com o poder público (Lei 8.429/1992 art. 12, Lei 9.504/1997
  art. 81 §3º) — the scope the decision defines (``abrangenciaDefinidaDecisaoJudicial``);
* CNEP multa and publicação extraordinária (Lei 12.846/2013 art. 6º), acordos de leniência,
  advertência — they do not bar contracting: a record, never "impede contratar".

Sources: https://www.planalto.gov.br/ccivil_03/_ato2019-2022/2021/lei/l14133.htm (art. 156),
https://www.planalto.gov.br/ccivil_03/leis/l8666cons.htm (art. 87),
https://www.planalto.gov.br/ccivil_03/leis/2002/l10520.htm (art. 7º),
https://www.planalto.gov.br/ccivil_03/_ato2011-2014/2013/lei/l12846.htm (art. 6º). The Portal's
CEIS/CNEP records carry ``tipoSancao.descricaoResumida``, ``fundamentacao[].descricao`` and
``orgaoSancionador{nome, siglaUf, poder, esfera}``; the sphere is read from ``esfera`` when sent,
else from the body's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from shared.detection.text import fold
from shared.domain import Sanction

Kind = Literal["inidoneidade", "impedimento", "suspensao", "proibicao_judicial", "registro"]
Sphere = Literal["federal", "estadual", "municipal", "desconhecida"]

_KIND_PT: dict[str, str] = {
    "inidoneidade": "declaração de inidoneidade",
    "impedimento": "impedimento de licitar e contratar",
    "suspensao": "suspensão temporária",
    "proibicao_judicial": "proibição judicial de contratar com o poder público",
    "registro": "sanção que não impede contratar",
}
_STATE_WORDS = ("governo do estado", "estado de", "estado do", "estado da", "secretaria de estado", "estadual",
                "tribunal de contas do estado", "distrito federal")
_CITY_WORDS = ("prefeitura", "municipal", "municipio", "camara de vereadores", "camara municipal")
_FEDERAL_WORDS = ("uniao", "federal", "ministerio", "controladoria geral", "agencia nacional", "comando da",
                  "instituto nacional", "departamento nacional", "fundacao nacional", "caixa economica")
_NATIONWIDE = ("todas as esferas", "territorio nacional", "nacional", "todo o pais")


@dataclass(frozen=True, slots=True)
class SanctionKind:
    kind: Kind
    sphere: Sphere
    basis: str  # the fundamentação as sent, or ""

    @property
    def label(self) -> str:
        return _KIND_PT[self.kind]


def _sphere(esfera: str, orgao: str, tipo: str, basis: str) -> Sphere:
    if esfera in ("federal", "estadual", "municipal"):
        return esfera  # type: ignore[return-value]
    if "legislacao estadual" in tipo or "legislacao estadual" in basis:
        return "estadual"
    if any(w in orgao for w in _CITY_WORDS):
        return "municipal"
    if any(w in orgao for w in _STATE_WORDS):
        return "estadual"
    if any(w in orgao for w in _FEDERAL_WORDS) or "tribunal de contas da uniao" in orgao:
        return "federal"
    return "desconhecida"


@lru_cache(maxsize=4096)
def _classify(tipo: str, basis: str, orgao: str, esfera: str) -> SanctionKind:
    text = f"{tipo} {basis}"
    if any(w in text for w in ("multa", "publicacao extraordinaria", "leniencia", "advertencia")):
        kind: Kind = "registro"
    elif "inidone" in text:
        kind = "inidoneidade"
    elif "suspens" in tipo or ("87" in basis and " iii" in f" {basis}" and "impediment" not in tipo):
        kind = "suspensao"
    elif "judicial" in text or "improbidade" in text or "eleitoral" in text:
        kind = "proibicao_judicial"
    elif "impediment" in text or "proibic" in text or "10520" in basis.replace(" ", "") or "156" in basis:
        kind = "impedimento"
    else:
        kind = "registro"
    return SanctionKind(kind, _sphere(esfera, orgao, tipo, basis), basis)


def classify(sanction: Sanction) -> SanctionKind:
    raw = sanction.raw or {}
    grounds = raw.get("fundamentacao")
    basis = ""
    if isinstance(grounds, list):
        basis = "; ".join(str(g.get("descricao") or g.get("codigo") or "") for g in grounds if isinstance(g, dict))
    elif isinstance(grounds, str):
        basis = grounds
    orgao = raw.get("orgaoSancionador")
    esfera = orgao.get("esfera") if isinstance(orgao, dict) else None
    return _classify(fold(sanction.tipo), fold(basis), fold(sanction.orgao_sancionador), fold(esfera or ""))


def nationwide(sanction: Sanction) -> bool:
    text = fold(sanction.abrangencia)
    return sanction.nacional or any(w in text for w in _NATIONWIDE)
