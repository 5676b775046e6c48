"""Turn the Portal's JSON records into Vigia's nouns, or say precisely why a record cannot be.

Field names are the API's own (ContratoDTO with its nested ``unidadeGestora``/``orgaoVinculado``/
``orgaoMaximo``/``fornecedor`` objects; the CEIS/CNEP sanction records; licitações). Dates accept
ISO and ``DD/MM/AAAA``; money becomes :class:`~decimal.Decimal` (never float); any field may be
null or missing. The record as received, unknown fields included, is kept in ``raw``. A record
that cannot be parsed raises :class:`~shared.portal.errors.MalformedRecord`; page readers turn
that into a :class:`RejectedRecord` and keep the rest of the page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain import Contract, Sanction, Source, canonical_bytes, hash_of_canonical
from shared.portal.errors import MalformedRecord
from shared.portal.wire import digits, parse_date

_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_BR_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})*(,\d+)?$|^-?\d+(,\d+)?$")


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record left out of a page: why, and the record exactly as it arrived."""

    reason: str
    raw: Any


@dataclass(frozen=True, slots=True)
class TermoAditivo:
    """One termo aditivo from ``/contratos/termo-aditivo`` (TermoAditivoDTO: numero, dataPublicacao,
    objetoAditivo). The Portal gives no value per termo, only what it changes, in words."""

    numero: str | None
    data_publicacao: date | None
    objeto: str | None


@dataclass(frozen=True, slots=True)
class Licitacao:
    """One tender from ``/licitacoes`` (opening date, modality, estimated value)."""

    id: int
    orgao_codigo: str | None
    numero: str | None = None
    objeto: str | None = None
    numero_processo: str | None = None
    modalidade: str | None = None
    situacao: str | None = None
    data_abertura: date | None = None
    data_publicacao: date | None = None
    valor: Decimal | None = None
    source: Source = Source.PORTAL
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def rejected(error: MalformedRecord) -> RejectedRecord:
    return RejectedRecord(reason=error.reason, raw=error.raw)


# -- field readers: each names the field in the reason it gives --------------------------------
def _obj(raw: dict[str, Any], name: str, *, record: object) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedRecord(f"{name} is a {type(value).__name__}, expected an object", record)
    return value


def _text(raw: dict[str, Any], name: str, *, record: object, prefix: str = "") -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if type(value) is str:  # nearly every field: skip the checks below
        return value.strip() or None
    if isinstance(value, bool) or isinstance(value, dict | list):
        raise MalformedRecord(f"{prefix}{name} is a {type(value).__name__}, expected text", record)
    text = str(value).strip()
    return text or None


def _date(raw: dict[str, Any], name: str, *, record: object) -> date | None:
    try:
        return parse_date(raw.get(name))
    except ValueError as error:
        raise MalformedRecord(f"{name}: {error}", record) from None


def parse_money(value: object) -> Decimal | None:
    """A number as the API sends it (JSON number, or text in either ``1234.56`` or ``1.234,56``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite amount")
        return Decimal(repr(value))  # the shortest text that round-trips: 0.1 -> Decimal("0.1")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        text = value.strip().removeprefix("R$").strip()
        if not text:
            return None
        if _PLAIN_NUMBER.match(text):
            return Decimal(text)
        if _BR_NUMBER.match(text):
            return Decimal(text.replace(".", "").replace(",", "."))
        raise ValueError(f"{value!r} is not a number")
    raise ValueError(f"{type(value).__name__} {value!r} is not a number")


def _money(raw: dict[str, Any], name: str, *, record: object) -> Decimal | None:
    try:
        return parse_money(raw.get(name))
    except (ValueError, InvalidOperation) as error:
        raise MalformedRecord(f"{name}: {error}", record) from None


# Ids are stored in bigint columns; a larger one would fail its whole batch at the database.
BIGINT_MAX = 2**63 - 1


def _lone_surrogate(value: object, path: str) -> str | None:
    """The path of the first text holding a lone UTF-16 surrogate (JSON may carry "\\ud800";
    PostgreSQL and UTF-8 cannot store it, so one such record would fail its whole batch)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "the record"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key, path) or _lone_surrogate(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _checked_record(raw: object, what: str) -> tuple[int, bytes]:
    """The record's id and its canonical UTF-8 JSON (what the content hash is taken of). Encoding
    it is also the check that every text, keys included, can be stored: one pass of the C encoder;
    only a record that fails it is walked in Python, to name the field."""
    if not isinstance(raw, dict):
        raise MalformedRecord(f"{what} is a {type(raw).__name__}, expected an object", raw)
    try:
        encoded = canonical_bytes(raw)
    except UnicodeEncodeError:
        bad_text = _lone_surrogate(raw, "") or "the record"
        raise MalformedRecord(
            f"{ascii(bad_text)[1:-1]} holds a lone UTF-16 surrogate, which is not text that can be stored", raw
        ) from None
    value = _id_value(raw, what)
    if not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
        raise MalformedRecord(f"id {value} is beyond 2^63 - 1, the largest id that can be stored", raw)
    return value, encoded


def _id_value(raw: dict[str, Any], what: str) -> int:
    value = raw.get("id")
    if value is None:
        raise MalformedRecord(f"{what} has no id; a record is never guessed without one", raw)
    if isinstance(value, bool):
        raise MalformedRecord(f"id {value!r} is not an integer", raw)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise MalformedRecord(f"id {value!r} is not an integer", raw)


# -- records -------------------------------------------------------------------------------------
def parse_contract(raw: object, *, source: Source) -> Contract:
    """A ContratoDTO as a :class:`Contract`; raises MalformedRecord with the reason and the record."""
    contract_id, encoded = _checked_record(raw, "contract")
    assert isinstance(raw, dict)
    ug = _obj(raw, "unidadeGestora", record=raw)
    orgao = _obj(ug, "orgaoVinculado", record=raw)
    maximo = _obj(ug, "orgaoMaximo", record=raw)
    fornecedor = _obj(raw, "fornecedor", record=raw)
    _obj(raw, "compra", record=raw)
    _obj(raw, "unidadeGestoraCompras", record=raw)
    documento = digits(
        _text(fornecedor, "cnpjFormatado", record=raw, prefix="fornecedor.")
        or _text(fornecedor, "cpfFormatado", record=raw, prefix="fornecedor.")
    )
    return Contract(
        id=contract_id,
        source=source,
        numero=_text(raw, "numero", record=raw),
        objeto=_text(raw, "objeto", record=raw),
        numero_processo=_text(raw, "numeroProcesso", record=raw),
        fundamento_legal=_text(raw, "fundamentoLegal", record=raw),
        situacao=_text(raw, "situacaoContrato", record=raw),
        modalidade_compra=_text(raw, "modalidadeCompra", record=raw),
        orgao_codigo=_text(orgao, "codigoSIAFI", record=raw, prefix="unidadeGestora.orgaoVinculado."),
        orgao_nome=_text(orgao, "nome", record=raw, prefix="unidadeGestora.orgaoVinculado."),
        orgao_maximo_codigo=_text(maximo, "codigo", record=raw, prefix="unidadeGestora.orgaoMaximo."),
        ug_codigo=_text(ug, "codigo", record=raw, prefix="unidadeGestora."),
        ug_nome=_text(ug, "nome", record=raw, prefix="unidadeGestora."),
        fornecedor_documento=documento or None,
        fornecedor_nome=_text(fornecedor, "nome", record=raw, prefix="fornecedor.")
        or _text(fornecedor, "razaoSocialReceita", record=raw, prefix="fornecedor."),
        data_assinatura=_date(raw, "dataAssinatura", record=raw),
        data_publicacao_dou=_date(raw, "dataPublicacaoDOU", record=raw),
        data_inicio_vigencia=_date(raw, "dataInicioVigencia", record=raw), data_fim_vigencia=_date(raw, "dataFimVigencia", record=raw),
        valor_inicial=_money(raw, "valorInicialCompra", record=raw), valor_final=_money(raw, "valorFinalCompra", record=raw),
        raw=raw,
        content_hash=hash_of_canonical(encoded),
    )


_NATIONWIDE = ("nacional", "todas as esferas")


def parse_sanction(raw: object, lista: str, *, source: Source = Source.PORTAL) -> Sanction:
    """A CEIS or CNEP record as a :class:`Sanction`; ``lista`` is ``"ceis"`` or ``"cnep"``."""
    name = lista.upper()
    if name not in {"CEIS", "CNEP"}:
        raise ValueError(f"lista must be 'ceis' or 'cnep', not {lista!r}")
    sanction_id, _ = _checked_record(raw, f"{name} record")
    assert isinstance(raw, dict)
    sancionado = _obj(raw, "sancionado", record=raw)
    pessoa = _obj(raw, "pessoa", record=raw)
    tipo = _obj(raw, "tipoSancao", record=raw)
    orgao = _obj(raw, "orgaoSancionador", record=raw)
    documento = ""
    for holder, key in ((sancionado, "codigoFormatado"), (pessoa, "cnpjFormatado"), (pessoa, "cpfFormatado")):
        candidate = digits(_text(holder, key, record=raw))
        if len(candidate) in (11, 14):
            documento = candidate
            break
    if not documento:
        raise MalformedRecord(
            "no full CPF/CNPJ in sancionado.codigoFormatado, pessoa.cnpjFormatado or pessoa.cpfFormatado "
            "(masked or missing), so the sanction cannot be matched to a supplier",
            raw,
        )
    abrangencia = _text(raw, "abrangenciaDefinidaDecisaoJudicial", record=raw)
    return Sanction(
        id=str(sanction_id),
        lista=name,
        documento=documento,
        nome=_text(sancionado, "nome", record=raw, prefix="sancionado.")
        or _text(pessoa, "nome", record=raw, prefix="pessoa."),
        tipo=_text(tipo, "descricaoResumida", record=raw, prefix="tipoSancao."),
        data_inicio=_date(raw, "dataInicioSancao", record=raw),
        data_fim=_date(raw, "dataFimSancao", record=raw),
        orgao_sancionador=_text(orgao, "nome", record=raw, prefix="orgaoSancionador."),
        orgao_sancionador_uf=_text(orgao, "siglaUf", record=raw, prefix="orgaoSancionador."),
        abrangencia=abrangencia,
        nacional=bool(abrangencia and any(word in abrangencia.lower() for word in _NATIONWIDE)),
        source=source,
        raw=raw,
    )


def parse_termo_aditivo(raw: object) -> TermoAditivo:
    if not isinstance(raw, dict):
        raise MalformedRecord(f"a termo aditivo must be a JSON object, not {type(raw).__name__}", raw)
    return TermoAditivo(
        numero=_text(raw, "numero", record=raw),
        data_publicacao=_date(raw, "dataPublicacao", record=raw),
        objeto=_text(raw, "objetoAditivo", record=raw),
    )


def parse_licitacao(raw: object, *, source: Source = Source.PORTAL) -> Licitacao:
    licitacao_id, _ = _checked_record(raw, "licitação")
    assert isinstance(raw, dict)
    detalhe = _obj(raw, "licitacao", record=raw)
    ug = _obj(raw, "unidadeGestora", record=raw)
    orgao = _obj(ug, "orgaoVinculado", record=raw)
    modalidade: Any = raw.get("modalidadeLicitacao")
    if isinstance(modalidade, dict):  # some versions nest it as {"descricao": ...}
        modalidade = modalidade.get("descricao")
    situacao: Any = raw.get("situacaoCompra")
    if isinstance(situacao, dict):
        situacao = situacao.get("descricao")
    return Licitacao(
        id=licitacao_id,
        orgao_codigo=_text(orgao, "codigoSIAFI", record=raw) or _text(raw, "codigoOrgao", record=raw),
        numero=_text(detalhe, "numero", record=raw, prefix="licitacao."),
        objeto=_text(detalhe, "objeto", record=raw, prefix="licitacao."),
        numero_processo=_text(detalhe, "numeroProcesso", record=raw, prefix="licitacao."),
        modalidade=str(modalidade) if modalidade is not None else None,
        situacao=str(situacao) if situacao is not None else None,
        data_abertura=_date(raw, "dataAbertura", record=raw),
        data_publicacao=_date(raw, "dataPublicacao", record=raw),
        valor=_money(raw, "valor", record=raw),
        source=source,
        raw=raw,
    )


def parse_orgao(raw: object) -> dict[str, str | None]:
    """An ``/orgaos-siafi`` entry as ``{"codigo", "descricao"}``; the code is kept as text."""
    if not isinstance(raw, dict):
        raise MalformedRecord(f"órgão entry is a {type(raw).__name__}, expected an object", raw)
    codigo = _text(raw, "codigo", record=raw)
    if not codigo:
        raise MalformedRecord("órgão entry has no codigo", raw)
    return {"codigo": codigo, "descricao": _text(raw, "descricao", record=raw)}
