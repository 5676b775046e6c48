"""The seeded generator of the simulated Portal data set, with planted red flags and their answers.

:func:`generate_dataset` builds órgãos, unidades gestoras, suppliers and several years of contracts
(log-normal values per object class, pregões, dispensas, inexigibilidades, amendments), CEIS/CNEP
sanctions and licitações, all as JSON-ready dicts with the real API's field names. It then plants
each of the nine handbook anomalies and records which ids (or ``(órgão, year)`` pairs) carry them
in :class:`GroundTruth`, and plants *lawful look-alikes* of each kind (prorrogued continuous
services, emergency dispensas and dispensas above the by-value limit, lots of one tender, old-law
contracts published within Lei 8.666 art. 61, CNEP fines and state or municipal impedimentos,
road works beside cleaning, high-value contracts whose modality is "Não se aplica") recorded in
``ground_truth.lookalikes``. Clean contracts are generated so that they do not form the planted
patterns by accident (no two dispensas of one supplier at one UG within 120 days, the art. 75 §1º
annual sum of by-value dispensas per UG and object class kept under the limit, no near-copies),
which is what makes ``ground_truth.clean`` an honest denominator. Same seed and scale, same data,
same ids. :func:`big_orgao_contracts` streams many plain contracts of one órgão for benchmarks.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from shared.portal.simulator.data import GroundTruth, SimDataset

YEARS = range(2021, 2027)
LAST_DAY = date(2026, 11, 20)
LAW_NEW, LAW_OLD = "Lei nº 14.133/2021", "Lei nº 8.666/1993"
# Direct-award limits (art. 75 I, art. 75 II) by year; Lei 8.666 art. 24 I/II. The detectors keep
# their own copy as data; the generator only needs them to place values below or near a limit.
LIMITS_NEW = {2021: (100_000.00, 50_000.00), 2022: (108_040.82, 54_020.41), 2023: (114_416.65, 57_208.33),
              2024: (119_812.02, 59_906.02), 2025: (125_451.15, 62_725.59), 2026: (130_984.20, 65_492.11)}
LIMITS_OLD = (33_000.00, 17_600.00)

# class: (objeto templates, median R$, sigma of log value, art. 75 inciso I (works) or II, weight)
CLASSES: dict[str, tuple[tuple[str, ...], float, float, bool, int]] = {
    "limpeza": (("Prestação de serviços continuados de limpeza e conservação", "Serviços de limpeza, conservação e higienização"), 600_000, 0.6, False, 8),
    "vigilancia": (("Prestação de serviços de vigilância patrimonial armada e desarmada", "Serviços de vigilância patrimonial"), 900_000, 0.6, False, 6),
    "informatica": (("Aquisição de equipamentos de informática (microcomputadores e notebooks)", "Aquisição de notebooks e equipamentos de informática"), 250_000, 0.8, False, 7),
    "software": (("Contratação de licenças de uso de software", "Renovação de licenças de software e suporte técnico"), 300_000, 0.8, False, 4),
    "expediente": (("Aquisição de material de expediente", "Fornecimento de material de expediente e papelaria"), 25_000, 0.7, False, 10),
    "combustivel": (("Fornecimento de combustível (gasolina e óleo diesel) para a frota", "Fornecimento de combustíveis para veículos oficiais"), 120_000, 0.7, False, 6),
    "veiculos_manutencao": (("Serviços de manutenção preventiva e corretiva de veículos da frota", "Manutenção mecânica de veículos oficiais"), 60_000, 0.6, True, 7),
    "obras": (("Execução de obra de construção do bloco de salas", "Obra de construção de edificação anexa"), 2_500_000, 0.7, True, 3),
    "reforma": (("Reforma e adequação do edifício sede", "Reforma das instalações elétricas e hidráulicas do prédio"), 400_000, 0.8, True, 4),
    "manutencao_predial": (("Serviços de manutenção predial preventiva e corretiva", "Manutenção predial com fornecimento de materiais"), 300_000, 0.7, True, 5),
    "medicamentos": (("Aquisição de medicamentos", "Fornecimento de medicamentos e insumos farmacêuticos"), 150_000, 0.9, False, 5),
    "alimentacao": (("Fornecimento de refeições e gêneros alimentícios", "Serviços de alimentação coletiva (refeições)"), 200_000, 0.8, False, 5),
    "locacao_veiculos": (("Locação de veículos com motorista", "Locação de veículos para transporte de servidores"), 350_000, 0.7, False, 4),
    "capacitacao": (("Contratação de curso de capacitação de servidores", "Treinamento e capacitação de servidores em gestão"), 15_000, 0.8, False, 6),
    "passagens": (("Agenciamento de viagens e passagens aéreas nacionais e internacionais", "Fornecimento de passagens aéreas"), 200_000, 0.8, False, 3),
    "mobiliario": (("Aquisição de mobiliário (mesas, cadeiras e armários)", "Aquisição de mobiliário de escritório"), 80_000, 0.8, False, 5),
    "telecom": (("Serviços de telefonia móvel e acesso à internet", "Serviços de telecomunicações e internet"), 150_000, 0.7, False, 4),
}
_CLASS_NAMES = sorted(CLASSES)
_CLASS_WEIGHTS = [CLASSES[c][4] for c in _CLASS_NAMES]
_SUFFIXES = ("", "", " para atender às necessidades da unidade", " conforme termo de referência", " do campus", " da sede regional")
_MINISTRIES = [("26000", "MEC", "Ministério da Educação"), ("36000", "MS", "Ministério da Saúde"),
               ("52000", "MD", "Ministério da Defesa"), ("30000", "MJSP", "Ministério da Justiça e Segurança Pública"),
               ("25000", "MF", "Ministério da Fazenda"), ("22000", "MAPA", "Ministério da Agricultura e Pecuária"),
               ("24000", "MCTI", "Ministério da Ciência, Tecnologia e Inovação"), ("44000", "MMA", "Ministério do Meio Ambiente")]
_ENTITY_KINDS = ["Universidade Federal", "Instituto Federal", "Superintendência Regional", "Hospital Universitário", "Fundação", "Agência Regional"]
_PLACES = ["do Norte", "do Sul", "do Cerrado", "do Litoral", "do Vale", "da Serra", "do Planalto", "do Sertão", "da Fronteira", "do Agreste", "da Mata", "do Pantanal"]
_NAME_A = ["Alfa", "Beta", "Horizonte", "Atlântica", "Nova Era", "Progresso", "Central", "União", "Vitória", "Aurora", "Pioneira", "Cristal", "Boa Vista", "Estrela", "Primavera", "Real"]
_NAME_B = ["Comércio", "Serviços", "Construtora", "Distribuidora", "Tecnologia", "Engenharia", "Soluções", "Alimentos", "Locadora", "Farmacêutica"]
_NAME_C = ["Ltda", "S.A.", "Eireli", "ME", "EPP"]


def _dv(digits: list[int], weights: list[int]) -> int:
    rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def _cnpj(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(8)] + [0, 0, 0, 1]
    d.append(_dv(d, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]))
    d.append(_dv(d, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]))
    s = "".join(map(str, d))
    return f"{s[:2]}.{s[2:5]}.{s[5:8]}/{s[8:12]}-{s[12:]}"


def _cpf(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(9)]
    d.append(_dv(d, list(range(10, 1, -1))))
    d.append(_dv(d, list(range(11, 1, -1))))
    s = "".join(map(str, d))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _copy_ug(ug: dict[str, Any]) -> dict[str, Any]:
    return {**ug, "orgaoVinculado": dict(ug["orgaoVinculado"]), "orgaoMaximo": dict(ug["orgaoMaximo"])}


def _add_weekdays(start: date, n: int) -> date:
    # Weekdays only; holidays can only make the business-day count smaller, and clean delays stay
    # far under the limits while planted ones stay far above, so the answer never depends on them.
    d = start
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _fmt(d: date | None, rng: random.Random) -> str | None:
    if d is None:
        return None
    # A few records use the DD/MM/AAAA form the Portal has also been seen to send.
    return d.strftime("%d/%m/%Y") if rng.random() < 0.02 else d.isoformat()


class _Builder:
    """Holds the random stream, the id counter and the indexes that keep clean data clean."""

    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.next_id = 70_000_000 + (seed % 1000) * 100_000
        self.contracts: dict[int, dict[str, Any]] = {}
        self.meta: dict[int, tuple[str, str, int]] = {}  # id -> (orgao, class, year)
        self.by_pair: dict[tuple[str, str], list[tuple[date, str, float, bool]]] = defaultdict(list)
        self.truth = GroundTruth()
        self.planted: set[int] = set()
        self.cnpjs: set[str] = set()
        self.sanction_ids: list[str] = []
        self.termos: dict[int, list[dict[str, Any]]] = {}
        self.dispensa_sums: dict[tuple[str, str, int], float] = defaultdict(float)  # art. 75 §1º sums
        self.streaming = False  # big_orgao_contracts: no indexes, records handed out one by one
        self.big_years: list[int] = list(YEARS)  # the big órgãos' busy years

    # --- entities -------------------------------------------------------------------------
    def supplier(self, pf: bool = False) -> dict[str, Any]:
        rng = self.rng
        doc = _cpf(rng) if pf else _cnpj(rng)
        while doc in self.cnpjs:
            doc = _cpf(rng) if pf else _cnpj(rng)
        self.cnpjs.add(doc)
        if pf:
            name = f"{rng.choice(['Maria', 'José', 'Ana', 'Carlos', 'Paula', 'João'])} {rng.choice(['Silva', 'Souza', 'Oliveira', 'Santos', 'Lima'])}"
        else:
            name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {rng.choice(_NAME_C)}".upper()
        return {"id": int(digits(doc)[:9]), "cpfFormatado": doc if pf else "", "cnpjFormatado": "" if pf else doc,
                "nome": name, "razaoSocialReceita": name, "nomeFantasiaReceita": "" if pf else name.split(" ")[0],
                "numeroInscricaoSocial": "", "tipo": "PESSOA FÍSICA" if pf else "PESSOA JURÍDICA"}

    def orgaos(self, n: int, *, code: str | None = None, pool: int | None = None) -> list[dict[str, Any]]:
        rng, out = self.rng, []
        for i in range(n):
            max_cod, max_sigla, max_nome = _MINISTRIES[i % len(_MINISTRIES)]
            kind, place = _ENTITY_KINDS[i % len(_ENTITY_KINDS)], _PLACES[(i * 5) % len(_PLACES)]
            codigo = code or f"{max_cod[:2]}{201 + i:03d}"
            nome = f"{kind} {place}" + (f" {i // len(_PLACES) + 1}" if i >= len(_PLACES) else "")
            vinc = {"codigoSIAFI": codigo, "cnpj": _cnpj(rng), "sigla": "".join(w[0] for w in nome.split() if w[0].isupper()), "nome": nome}
            maximo = {"codigo": max_cod, "sigla": max_sigla, "nome": max_nome}
            ugs = [{"codigo": f"{150_000 + i * 10 + k}", "nome": f"{nome} - {'Sede' if k == 0 else f'Unidade {k}'}",
                    "descricaoPoder": "Executivo", "orgaoVinculado": vinc, "orgaoMaximo": maximo}
                   for k in range(2 + i % 3)]
            size = pool or max(25, int(110 * math.sqrt(self.scale)))
            pool_list = [self.supplier(pf=rng.random() < 0.08) for _ in range(size)]
            out.append({"codigo": codigo, "nome": nome, "ugs": ugs, "pool": pool_list, "big": i < 2})
        return out

    # --- contracts ------------------------------------------------------------------------
    def conflicts(self, ug: str, doc: str, when: date, cls: str, value: float, dispensa: bool) -> bool:
        """Would this contract form a split or duplicate pattern with one already made?"""
        for d, c, v, disp in self.by_pair[(ug, doc)]:
            gap = abs((d - when).days)
            if dispensa and disp and gap <= 120:
                return True
            if c == cls and gap <= 45 and abs(v - value) <= 0.08 * max(v, value):
                return True
        return False

    def make(self, org: dict[str, Any], ug: dict[str, Any], sup: dict[str, Any], cls: str, signed: date, value: float, *,
             kind: str = "pregao", ratio: float = 0.0, pub_days: int | None = 3, objeto: str | None = None,
             inciso: str | None = None, old_law: bool | None = None, vigencia_days: int | None = None,
             processo: str | None = None, modal_fund: tuple[str, str | None] | None = None,
             published: date | None = None, termos: list[str] | None = None) -> int:
        rng = self.rng
        cid, self.next_id = self.next_id, self.next_id + rng.randint(1, 40)
        year = signed.year
        # Lei 14.133 applies from 2021-04-01; Lei 8.666 could still be chosen until 2023-12-30.
        if old_law is None:
            old_law = kind in ("dispensa", "pregao") and (signed < date(2021, 4, 1) or (year < 2024 and rng.random() < 0.35))
        works = CLASSES[cls][3]
        if kind == "dispensa":
            inc = inciso or ("I" if works else "II")
            modal = "Dispensa de Licitação"
            fund = f"{LAW_OLD}, art. 24, inciso {inc}" if old_law else f"{LAW_NEW}, art. 75, inciso {inc}"
        elif kind == "inexigibilidade":
            modal, fund = "Inexigibilidade de Licitação", f"{LAW_NEW}, art. 74, inciso {inciso or 'III'}"
        elif works and value > 1_000_000:
            modal, fund = "Concorrência", f"{LAW_OLD}, art. 22, inciso I" if old_law else f"{LAW_NEW}, art. 28, inciso II"
        else:
            modal = rng.choice(["Pregão", "Pregão - Registro de Preço"])
            fund = "Lei nº 10.520/2002" if old_law else f"{LAW_NEW}, art. 28, inciso I"
        if modal_fund is not None:
            modal, fund = modal_fund  # type: ignore[assignment]
        text = objeto or rng.choice(CLASSES[cls][0]) + rng.choice(_SUFFIXES)
        start = signed + timedelta(days=rng.randint(0, 10))
        value = round(value, 2)
        num = f"{rng.randint(1, 999):05d}/{year}"
        proc = processo or f"{ug['codigo'][:5]}.{rng.randint(1, 999_999):06d}/{year}-{rng.randint(10, 99)}"
        term = vigencia_days if vigencia_days is not None else rng.randint(180, 1460)
        if published is None and pub_days is not None:
            published = _add_weekdays(signed, pub_days)
        self.contracts[cid] = {
            "id": cid, "numero": num, "objeto": text, "numeroProcesso": proc, "fundamentoLegal": fund,
            "situacaoContrato": "Ativo" if start.year >= 2025 else rng.choice(["Ativo", "Encerrado"]),
            "modalidadeCompra": modal,
            "compra": {"numero": f"{rng.randint(1, 999):05d}/{year}", "objeto": text, "numeroProcesso": proc,
                       "contatoResponsavel": "Setor de Compras"},
            # Own copies of the nested objects, so amending one record never changes another.
            "unidadeGestora": _copy_ug(ug), "unidadeGestoraCompras": _copy_ug(ug), "fornecedor": dict(sup),
            "dataAssinatura": _fmt(signed, rng),
            "dataPublicacaoDOU": _fmt(published, rng),
            "dataInicioVigencia": _fmt(start, rng), "dataFimVigencia": _fmt(start + timedelta(days=term), rng),
            "valorInicialCompra": value, "valorFinalCompra": round(value * (1 + ratio), 2),
        }
        if termos:
            self.termos[cid] = [{"numero": f"{k + 1}", "dataPublicacao": (signed + timedelta(days=200 * (k + 1))).isoformat(),
                                 "objetoAditivo": text} for k, text in enumerate(termos)]
        if not self.streaming:
            self.meta[cid] = (org["codigo"], cls, year)
            doc = sup["cnpjFormatado"] or sup["cpfFormatado"]
            self.by_pair[(ug["codigo"], doc)].append((signed, cls, value, kind == "dispensa"))
        if kind == "dispensa":  # also when streaming: a few keys per unit, class and year
            self.dispensa_sums[(ug["codigo"], cls, year)] += value
        return cid

    def plant(self, code: str, cid: int) -> int:
        self.truth.contracts.setdefault(code, []).append(cid)
        self.planted.add(cid)
        return cid

    def day(self, year: int, lo: int = 0, hi: int = 364) -> date:
        d = date(year, 1, 1) + timedelta(days=self.rng.randint(lo, hi))
        while d.weekday() >= 5:
            d -= timedelta(days=1)
        return min(d, LAST_DAY) if d.year == year else date(year, 1, 4)

    def value(self, cls: str) -> float:
        return CLASSES[cls][1] * math.exp(self.rng.gauss(0, CLASSES[cls][2]))

    def clean(self, org: dict[str, Any], year: int) -> None:
        rng = self.rng
        cls = rng.choices(_CLASS_NAMES, weights=_CLASS_WEIGHTS)[0]
        value, signed, ug = self.value(cls), self.day(year), rng.choice(org["ugs"])
        # Before 2024 the old law's lower limit may apply, so a clean dispensa stays under it too.
        limit = (LIMITS_OLD if year < 2024 else LIMITS_NEW[year])[0 if CLASSES[cls][3] else 1]
        if value <= 0.7 * limit and rng.random() < 0.55 and (
                self.dispensa_sums[(ug["codigo"], cls, year)] + value <= 0.9 * limit):
            kind = "dispensa"
        elif cls in ("software", "capacitacao") and value < 95_000 and rng.random() < 0.5:
            kind = "inexigibilidade"
        else:
            kind = "pregao"
        for _ in range(40):
            sup = rng.choice(org["pool"])
            if self.streaming or not self.conflicts(ug["codigo"], sup["cnpjFormatado"] or sup["cpfFormatado"], signed, cls, value, kind == "dispensa"):
                break
        else:
            sup = self.supplier()
        ratio = 0.0
        if rng.random() < 0.25:
            ratio = rng.uniform(0.0, 0.45) if cls == "reforma" else rng.uniform(-0.05, 0.2)
        pub: int | None = rng.randint(1, 9) if rng.random() < 0.99 else None
        self.make(org, ug, sup, cls, signed, value, kind=kind, ratio=ratio, pub_days=pub)

    # --- planted anomalies (fresh suppliers, so no planted pattern touches a clean contract) ---
    def plant_contract_level(self, orgs: list[dict[str, Any]], n: int, big_years: list[int], busy: set[tuple[str, int]]) -> None:
        rng = self.rng
        # Outliers need many honest peers: big órgão-years with contracts, away from the fabricated
        # Benford values (whose spread would widen the peer groups) whenever another órgão exists.
        big = [(o, y) for o in orgs if o["big"] and not any(o["codigo"] == b for b, _ in busy) for y in big_years]
        big = big or [(o, y) for o in orgs if o["big"] for y in big_years if (o["codigo"], y) not in busy]
        for _ in range(n):
            org, year = rng.choice(orgs), rng.choice(YEARS)
            cls = rng.choice(_CLASS_NAMES)
            ratio = rng.uniform(0.6, 1.5) if cls == "reforma" else rng.uniform(0.35, 1.2)
            # A first term under a year: no prorrogação can explain the growth.
            self.plant("amendment_over_limit", self.make(org, rng.choice(org["ugs"]), self.supplier(), cls,
                                                         self.day(year), self.value(cls), ratio=ratio,
                                                         vigencia_days=rng.randint(120, 330),
                                                         termos=[f"Acréscimo quantitativo de {round(ratio * 100)} % do objeto"]))
            # Outliers go to big órgão-years (many peers, and one huge value does not dominate the year).
            org, year = rng.choice(big)
            cls = rng.choice([c for c in _CLASS_NAMES if CLASSES[c][1] <= 250_000])
            value = CLASSES[cls][1] * math.exp(CLASSES[cls][2] * rng.uniform(6.5, 8.5))
            self.plant("price_outlier", self.make(org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year), value))
            org, year = rng.choice(orgs), rng.choice(YEARS)
            # Old-law contracts are late against art. 61 (5th business day of the next month + 20
            # days is at most ~45 weekdays away); new-law ones against art. 94's business days.
            old = year < 2024 and rng.random() < 0.4
            small, ug = rng.uniform(3_000, 12_000), self.dispensa_ug(org, "expediente", year, 12_000)
            if ug is not None and rng.random() < 0.5:
                cid = self.make(org, ug, self.supplier(), "expediente", self.day(year), small, kind="dispensa",
                                old_law=old, pub_days=rng.randint(70, 110) if old else rng.randint(16, 35))
            else:
                cls = rng.choice(_CLASS_NAMES)
                cid = self.make(org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year), self.value(cls),
                                old_law=old, pub_days=rng.randint(70, 110) if old else rng.randint(28, 70))
            self.plant("late_publication", cid)
            org, year = rng.choice(orgs), rng.choice(YEARS)
            if rng.random() < 0.5:
                cid = self.make(org, rng.choice(org["ugs"]), self.supplier(), "software", self.day(year),
                                rng.uniform(150_000, 1_500_000), kind="inexigibilidade")
            else:
                cls = rng.choice(["medicamentos", "limpeza", "locacao_veiculos"])
                cid = self.make(org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year),
                                rng.uniform(150_000, 2_000_000), kind="dispensa", inciso="VIII")
            self.plant("direct_award_high_value", cid)
        for _ in range(max(3, n // 2)):
            org, year = rng.choice(orgs), rng.choice(YEARS)
            ug, sup, cls = rng.choice(org["ugs"]), self.supplier(), rng.choice(_CLASS_NAMES)
            first, value = self.day(year, 0, 320), self.value(cls)
            text = rng.choice(CLASSES[cls][0]) + rng.choice(_SUFFIXES)
            copy = rng.choice([text.upper(), text, text.replace("ç", "c").replace("ã", "a").replace("é", "e")])
            self.plant("duplicate_contract", self.make(org, ug, sup, cls, first, value, objeto=text))
            second = first + timedelta(days=rng.randint(1, 25))
            self.plant("duplicate_contract", self.make(org, ug, sup, cls, second, value * rng.uniform(0.97, 1.03), objeto=copy))
            self.plant_split(rng.choice(orgs), year)

    def dispensa_ug(self, org: dict[str, Any], cls: str, year: int, value: float) -> dict[str, Any] | None:
        """A unit whose by-value dispensas of ``cls`` in ``year`` stay under the lower limit with ``value`` more."""
        limit = (LIMITS_OLD if year < 2024 else LIMITS_NEW[year])[0 if CLASSES[cls][3] else 1]
        fits = [u for u in org["ugs"] if self.dispensa_sums.get((u["codigo"], cls, year), 0.0) + value <= 0.9 * limit]
        return self.rng.choice(fits) if fits else None

    def plant_split(self, org: dict[str, Any], year: int) -> None:
        rng = self.rng
        cls = rng.choice(["expediente", "mobiliario", "veiculos_manutencao", "manutencao_predial"])
        old = year < 2024 and rng.random() < 0.3
        limit = (LIMITS_OLD if old else LIMITS_NEW[year])[0 if CLASSES[cls][3] else 1]
        k, first = rng.randint(2, 3), self.day(year, 0, 250)
        days = [first] + sorted(first + timedelta(days=rng.randint(3, 85)) for _ in range(k - 1))
        # A unit and class with no other dispensa that year, so the art. 75 §1º sum only holds the plant.
        free = [u for u in org["ugs"] if self.dispensa_sums.get((u["codigo"], cls, year), 0.0) == 0.0]
        if rng.random() < 0.6:  # each just under the limit
            values = [limit * rng.uniform(0.82, 0.98) for _ in range(k)]
        else:  # together above the limit
            values = [limit * rng.uniform(0.45, 0.75) for _ in range(k)]
            if sum(values) <= 1.05 * limit:
                values = [v * 1.1 * limit / sum(values) for v in values]
        ug, sup = rng.choice(free or org["ugs"]), self.supplier()
        for d, v in zip(days, values, strict=True):
            self.plant("split_below_dispensa", self.make(org, ug, sup, cls, d, v, kind="dispensa", old_law=old))

    def plant_sanctions(self, orgs: list[dict[str, Any]], n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng, records = self.rng, []
        for _ in range(n):
            org, sup = rng.choice(orgs), self.supplier(pf=rng.random() < 0.1)
            start = date(2021, 2, 1) + timedelta(days=rng.randint(0, 1700))
            end = None if rng.random() < 0.3 else start + timedelta(days=rng.randint(365, 1100))
            last = min(end or LAST_DAY, LAST_DAY)
            for _ in range(rng.randint(1, 3)):
                d = start + timedelta(days=rng.randint(0, (last - start).days))
                cls = rng.choice(_CLASS_NAMES)
                self.plant("sanctioned_supplier", self.make(org, rng.choice(org["ugs"]), sup, cls, d, self.value(cls)))
            if start > date(2021, 3, 1):  # the same supplier before its sanction: must not flag
                cls = rng.choice(_CLASS_NAMES)
                self.make(org, rng.choice(org["ugs"]), sup, cls, start - timedelta(days=rng.randint(20, 50)), self.value(cls))
            records.append(self.barring_sanction(sup, start, end, org["nome"]))
        for org in orgs:  # expired sanctions of suppliers who keep contracting: must not flag
            for sup in rng.sample(org["pool"], k=min(2, len(org["pool"]))):
                start = date(2016, 1, 1) + timedelta(days=rng.randint(0, 1400))
                records.append(self.sanction(sup, start, min(start + timedelta(days=rng.randint(200, 700)), date(2020, 12, 31)), None, False))
        for _ in range(3 * n):  # people who never contract here
            start = date(2018, 1, 1) + timedelta(days=rng.randint(0, 3000))
            records.append(self.sanction(self.supplier(), start, None if rng.random() < 0.3 else start + timedelta(days=730), None, False))
        ceis = [r for r in records if r.pop("_lista") == "CEIS"]
        cnep = [r for r in records if r not in ceis]
        return ceis, cnep

    def barring_sanction(self, sup: dict[str, Any], start: date, end: date | None, own_orgao: str) -> dict[str, Any]:
        """A CEIS record that bars a federal contract: inidoneidade, a federal impedimento, a suspensão
        by the contracting órgão itself, or a nationwide judicial prohibition."""
        choice = self.rng.randrange(4)
        if choice == 0:
            return self.sanction(sup, start, end, None, False, tipo="Inidoneidade - Lei 14.133/2021", lista="CEIS",
                                 orgao=("Controladoria-Geral da União", "FEDERAL"))
        if choice == 1:
            return self.sanction(sup, start, end, None, False, tipo="Impedimento - Lei 14.133/2021", lista="CEIS",
                                 orgao=("Ministério da Gestão e da Inovação em Serviços Públicos", "FEDERAL"))
        if choice == 2:
            return self.sanction(sup, start, end, own_orgao, False, tipo="Suspensão - Lei de Licitações", lista="CEIS",
                                 orgao=(own_orgao, "FEDERAL"))
        return self.sanction(sup, start, end, None, True, tipo="Proibição - Lei de Improbidade", lista="CEIS",
                             orgao=("Tribunal Regional Federal da 1ª Região", "FEDERAL"))

    def sanction(self, sup: dict[str, Any], start: date, end: date | None, same_orgao: str | None, national: bool, *,
                 tipo: str | None = None, lista: str | None = None, orgao: tuple[str, str] | None = None) -> dict[str, Any]:
        rng = self.rng
        lista = lista or ("CNEP" if rng.random() < 0.3 else "CEIS")
        doc = sup["cnpjFormatado"] or sup["cpfFormatado"]
        self.sanction_ids.append(doc)
        tipo = tipo or (rng.choice(["Impedimento/proibição de contratar com prazo determinado", "Suspensão - Lei de Licitações",
                                    "Declaração de Inidoneidade"]) if lista == "CEIS" else "Multa - Lei Anticorrupção")
        if orgao is None:
            name = same_orgao or rng.choice(["Controladoria-Geral da União", "Tribunal de Contas da União",
                                             "Prefeitura Municipal de Campinas", "Governo do Estado de Minas Gerais"])
            sphere = "MUNICIPAL" if "Prefeitura" in name else ("ESTADUAL" if "Estado" in name else "FEDERAL")
            orgao = (name, sphere)
        record = {
            "_lista": lista, "id": 900_000 + len(self.sanction_ids),
            "dataInicioSancao": start.strftime("%d/%m/%Y"), "dataFimSancao": end.strftime("%d/%m/%Y") if end else None,
            "dataPublicacaoSancao": start.strftime("%d/%m/%Y"),
            "tipoSancao": {"descricaoResumida": tipo, "descricaoPortal": tipo},
            "orgaoSancionador": {"nome": orgao[0], "poder": "Executivo", "esfera": orgao[1],
                                 "siglaUf": rng.choice(["DF", "SP", "MG", "RJ", "BA"])},
            "fundamentacao": [{"codigo": "1", "descricao": _BASIS.get(tipo, "Lei 14.133/2021, art. 156")}],
            "sancionado": {"codigoFormatado": doc, "nome": sup["nome"]},
            "pessoa": {"id": sup["id"], "cpfFormatado": sup["cpfFormatado"], "cnpjFormatado": sup["cnpjFormatado"], "nome": sup["nome"],
                       "razaoSocialReceita": sup["razaoSocialReceita"], "nomeFantasiaReceita": sup["nomeFantasiaReceita"],
                       "numeroInscricaoSocial": "", "tipo": sup["tipo"]},
            "abrangenciaDefinidaDecisaoJudicial": "Todas as esferas em todo o território nacional" if national else "No âmbito do órgão sancionador",
            "numeroProcesso": f"00190.{rng.randint(1, 999_999):06d}/{start.year}-{rng.randint(10, 99)}",
        }
        if lista == "CNEP":
            record["valorMulta"] = round(rng.uniform(10_000, 5_000_000), 2)
        return record

    # --- lawful look-alikes: each resembles one indicator's pattern and must not trip it -------
    def lookalike(self, code: str, cid: int) -> int:
        self.truth.lookalikes.setdefault(code, []).append(cid)
        self.planted.add(cid)
        return cid

    def plant_lookalikes(self, orgs: list[dict[str, Any]], n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        ceis: list[dict[str, Any]] = []
        cnep: list[dict[str, Any]] = []
        for _ in range(n):
            # Prorrogued continuous service: 2-5 years of vigência, value growing with the term
            # (Lei 14.133 arts. 106-107; Lei 8.666 art. 57 II), at most 15 % more per year.
            org, year = rng.choice(orgs), rng.choice([2021, 2022, 2023])
            cls, months = rng.choice(["limpeza", "vigilancia"]), rng.randint(24, 60)
            ratio = months / 12 * rng.uniform(1.0, 1.15) - 1
            self.lookalike("amendment_over_limit", self.make(
                org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year), self.value(cls), ratio=ratio,
                vigencia_days=round(months * 30.4375), objeto=CLASSES[cls][0][0],
                termos=["Prorrogação do prazo de vigência por 12 meses"] * (months // 12 - 1) + ["Reajuste anual de preços"]))
            # Two emergency dispensas (art. 75 VIII / art. 24 IV) of one supplier, 80-100 % of the by-value limit.
            org, year = rng.choice(orgs), rng.choice(YEARS)
            ug, sup, first = rng.choice(org["ugs"]), self.supplier(), self.day(year, 0, 250)
            old = year < 2024 and rng.random() < 0.3
            limit = (LIMITS_OLD if old else LIMITS_NEW[year])[1]
            for k, cls in enumerate(("medicamentos", "alimentacao")):
                fund = f"{LAW_OLD}, art. 24, inciso IV" if old else f"{LAW_NEW}, art. 75, inciso VIII"
                self.lookalike("split_below_dispensa", self.make(
                    org, ug, sup, cls, first + timedelta(days=20 * k), limit * rng.uniform(0.82, 0.98), kind="dispensa",
                    modal_fund=("Dispensa de Licitação", fund)))
            # Dispensas whose inciso is not given, each above the by-value limit (another ground).
            org, year = rng.choice(orgs), rng.choice(range(2024, 2027))
            ug, sup, first = rng.choice(org["ugs"]), self.supplier(), self.day(year, 0, 250)
            for k in range(2):
                self.lookalike("split_below_dispensa", self.make(
                    org, ug, sup, "mobiliario", first + timedelta(days=15 * k), LIMITS_NEW[year][1] * rng.uniform(1.1, 1.6),
                    kind="dispensa", modal_fund=("Dispensa de Licitação", f"{LAW_NEW}, art. 75")))
            # Two lots of one tender won by one supplier on one day.
            org, year = rng.choice(orgs), rng.choice(YEARS)
            ug, sup, when, cls = rng.choice(org["ugs"]), self.supplier(), self.day(year), rng.choice(["informatica", "mobiliario"])
            value, text = self.value(cls), CLASSES[cls][0][0]
            proc = f"{ug['codigo'][:5]}.{rng.randint(1, 999_999):06d}/{year}-{rng.randint(10, 99)}"
            for lot in (1, 2):
                self.lookalike("duplicate_contract", self.make(
                    org, ug, sup, cls, when, value * rng.uniform(0.98, 1.02), objeto=f"{text} - Lote {lot}", processo=proc))
            # Old-law contract published within art. 61 (5th business day of the next month + 20 days)
            # but more than 20 business days after signature.
            org, year = rng.choice(orgs), rng.choice([2021, 2022, 2023])
            month = rng.randint(1, 10)
            signed = date(year, month, rng.randint(1, 6))
            first_next = date(year, month + 1, 1)
            fifth = _add_weekdays(first_next - timedelta(days=1), 5)  # weekdays only: never later than the law's
            cls = rng.choice(_CLASS_NAMES)
            self.lookalike("late_publication", self.make(
                org, rng.choice(org["ugs"]), self.supplier(), cls, signed, self.value(cls), kind="pregao", old_law=True,
                published=signed + timedelta(days=rng.randint(34, (fifth + timedelta(days=19) - signed).days))))
            # Road conservation: expensive, and not cleaning despite "conservação".
            org, year = rng.choice([o for o in orgs if o["big"]] or orgs), rng.choice(self.big_years)
            self.lookalike("price_outlier", self.make(
                org, rng.choice(org["ugs"]), self.supplier(), "obras", self.day(year), rng.uniform(4e6, 2e7),
                objeto="Serviços de conservação rodoviária de trechos de rodovias federais"))
            # A high-value contract whose modality the Portal does not give.
            org, year = rng.choice(orgs), rng.choice(YEARS)
            cls = rng.choice(["limpeza", "vigilancia", "obras"])
            self.lookalike("direct_award_high_value", self.make(
                org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year), rng.uniform(2e5, 2e6),
                modal_fund=("Não se aplica", None)))
        for k in range(n):
            # Sanction records that do not bar a federal contract: a CNEP fine, a state's or a
            # municipality's impedimento, a suspensão imposed by another órgão.
            org, sup = rng.choice(orgs), self.supplier()
            start = date(2021, 6, 1) + timedelta(days=rng.randint(0, 1500))
            end = start + timedelta(days=rng.randint(365, 900))
            kind = k % 4
            if kind == 0:
                rec = self.sanction(sup, start, end, None, False, tipo="Multa - Lei Anticorrupção", lista="CNEP",
                                    orgao=("Controladoria-Geral da União", "FEDERAL"))
            elif kind == 1:
                rec = self.sanction(sup, start, end, None, False, tipo="Impedimento - Lei 14.133/2021", lista="CEIS",
                                    orgao=("Governo do Estado de Minas Gerais", "ESTADUAL"))
            elif kind == 2:
                rec = self.sanction(sup, start, end, None, False, tipo="Impedimento - Lei 14.133/2021", lista="CEIS",
                                    orgao=("Prefeitura Municipal de Campinas", "MUNICIPAL"))
            else:
                rec = self.sanction(sup, start, end, None, False, tipo="Suspensão - Lei de Licitações", lista="CEIS",
                                    orgao=("Ministério da Defesa", "FEDERAL"))
            (cnep if rec.pop("_lista") == "CNEP" else ceis).append(rec)
            when = start + timedelta(days=rng.randint(0, min((end - start).days, (LAST_DAY - start).days)))
            cls = rng.choice(_CLASS_NAMES)
            self.lookalike("sanctioned_supplier", self.make(org, rng.choice(org["ugs"]), sup, cls, when, self.value(cls)))
        return ceis, cnep

    def plant_concentration(self, org: dict[str, Any], year: int) -> None:
        rng = self.rng
        total = sum(self.contracts[c]["valorInicialCompra"] for c, m in self.meta.items() if m[0] == org["codigo"] and m[2] == year)
        share_value, sup, ug = total * rng.uniform(1.6, 2.4), self.supplier(), rng.choice(org["ugs"])
        weights = [rng.uniform(0.5, 1.5) for _ in range(12)]
        for w in weights:
            cls = rng.choice(["limpeza", "vigilancia", "locacao_veiculos"])
            self.plant("supplier_concentration", self.make(org, ug, sup, cls, self.day(year), share_value * w / sum(weights)))
        self.truth.orgao_years.setdefault("supplier_concentration", []).append((org["codigo"], year))

    def plant_benford(self, org: dict[str, Any], year: int) -> None:
        # Fabricated numbers: first digits uniform instead of Benford, magnitudes kept.
        for cid, (o, _cls, y) in self.meta.items():
            if o == org["codigo"] and y == year and cid not in self.planted and self.rng.random() < 0.8:
                rec = self.contracts[cid]
                v = rec["valorInicialCompra"]
                new = self.rng.uniform(1, 10) * 10 ** math.floor(math.log10(v))
                rec["valorInicialCompra"], rec["valorFinalCompra"] = round(new, 2), round(rec["valorFinalCompra"] * new / v, 2)
                self.planted.add(cid)
        self.truth.orgao_years.setdefault("benford_deviation", []).append((org["codigo"], year))


_BASIS = {"Multa - Lei Anticorrupção": "Lei 12.846/2013, art. 6º, I",
          "Suspensão - Lei de Licitações": "Lei 8.666/1993, art. 87, III",
          "Declaração de Inidoneidade": "Lei 8.666/1993, art. 87, IV",
          "Inidoneidade - Lei 14.133/2021": "Lei 14.133/2021, art. 156, IV",
          "Impedimento - Lei 14.133/2021": "Lei 14.133/2021, art. 156, III",
          "Proibição - Lei de Improbidade": "Lei 8.429/1992, art. 12"}


def _licitacao(rec: dict[str, Any]) -> dict[str, Any]:
    signed = rec["dataAssinatura"]
    d = date.fromisoformat(signed) if "-" in signed else date(int(signed[6:]), int(signed[3:5]), int(signed[:2]))
    opened = d - timedelta(days=15 + rec["id"] % 45)
    return {"id": rec["id"] + 1_000_000_000, "dataAbertura": opened.isoformat(),
            "dataPublicacao": (opened - timedelta(days=8 + rec["id"] % 22)).isoformat(),
            "modalidadeLicitacao": rec["modalidadeCompra"], "valor": rec["valorInicialCompra"], "situacaoCompra": "Homologada",
            "licitacao": {"numero": rec["compra"]["numero"], "objeto": rec["objeto"], "numeroProcesso": rec["numeroProcesso"]},
            "unidadeGestora": rec["unidadeGestora"]}


def generate_dataset(seed: int = 7, *, scale: float = 1.0) -> SimDataset:
    """A seeded data set: ~10 000 contracts over 20 órgãos at ``scale=1``, every anomaly planted."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    b = _Builder(seed, scale)
    rng = b.rng
    orgs = b.orgaos(max(4, round(20 * math.sqrt(scale))))
    big_years = [2022, 2023, 2024, 2025] if scale >= 0.5 else [2024, 2025]
    # Benford is evaluated from 1 000 values an órgão-year (Nigrini): the two big órgãos provide
    # those years. 1 050+ a year keeps the sampling noise of a clean órgão-year's MAD well under
    # 0.012; a small data set fills only the planted órgão-year so, and keeps the others smaller.
    full = {(0, big_years[1]), (1, big_years[-1])} if scale >= 0.5 else {(0, 2024)}
    for index, org in enumerate(orgs):
        for year in YEARS:
            if org["big"]:
                wide = scale >= 0.5 or (index, year) in full
                count = (max(1050, round(1100 * scale)) if wide else max(320, round(800 * scale))) if year in big_years else 0
            else:
                count = max(12, round(rng.gauss(38, 8) * scale))
            for _ in range(count):
                b.clean(org, year)
    benford = [(orgs[0], big_years[1]), (orgs[1], big_years[-1])] if scale >= 0.5 else [(orgs[0], 2024)]
    b.plant_contract_level(orgs, max(6, round(40 * scale)), big_years, {(o["codigo"], y) for o, y in benford})
    ceis, cnep = b.plant_sanctions(orgs, max(4, round(25 * scale)))
    b.big_years = big_years
    look_ceis, look_cnep = b.plant_lookalikes(orgs, max(8, round(30 * scale)))
    ceis += look_ceis
    cnep += look_cnep
    regular = [o for o in orgs if not o["big"]]
    for org in rng.sample(regular, k=min(3, len(regular))):
        b.plant_concentration(org, rng.choice(YEARS))
    for org, year in benford:
        b.plant_benford(org, year)
    contracts = [b.contracts[c] for c in sorted(b.contracts)]
    b.truth.clean = [c for c in sorted(b.contracts) if c not in b.planted]
    for ids in b.truth.contracts.values():
        ids.sort()
    for pairs in b.truth.orgao_years.values():
        pairs.sort()
    orgaos = [{"codigo": o["codigo"], "descricao": o["nome"].upper()} for o in orgs]
    # /orgaos-siafi also lists órgãos with no contracts, as the real one does.
    orgaos += [{"codigo": f"{91_001 + i}", "descricao": f"ORGAO SEM CONTRATOS {i + 1}"} for i in range(5)]
    licitacoes = [_licitacao(r) for r in contracts if r["modalidadeCompra"].startswith(("Pregão", "Concorrência"))]
    return SimDataset(seed=seed, orgaos=sorted(orgaos, key=lambda o: o["codigo"]), contracts=contracts,
                      ceis=ceis, cnep=cnep, licitacoes=licitacoes, ground_truth=b.truth, termos=b.termos)


def big_orgao_contracts(codigo_orgao: str, n: int, seed: int) -> Iterator[dict[str, Any]]:
    """``n`` plain contracts of one órgão, made one at a time (constant memory), ids unique to the órgão."""
    b = _Builder(seed ^ zlib.crc32(codigo_orgao.encode()), 1.0)
    b.streaming = True
    code_digits = digits(codigo_orgao)
    b.next_id = (int(code_digits) % 100_000 if code_digits else zlib.crc32(codigo_orgao.encode()) % 100_000) * 10**8 + 1
    org = b.orgaos(1, code=codigo_orgao, pool=max(50, min(3000, n // 200)))[0]
    org["ugs"] += b.orgaos(1, code=codigo_orgao, pool=1)[0]["ugs"]
    years = list(YEARS)
    for i in range(n):
        b.clean(org, years[i * len(years) // n])
        _cid, rec = b.contracts.popitem()
        yield rec
