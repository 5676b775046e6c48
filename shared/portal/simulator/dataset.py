"""The seeded generator of the simulated Portal data set, with planted red flags and their answers.

:func:`generate_dataset` builds órgãos, unidades gestoras, suppliers and several years of contracts
(log-normal values per object class, pregões, dispensas, inexigibilidades, amendments), CEIS/CNEP
sanctions and licitações, all as JSON-ready dicts with the real API's field names. It then plants
each of the nine handbook anomalies and records which ids (or ``(órgão, year)`` pairs) carry them
in :class:`GroundTruth`. Clean contracts are generated so that they do not form the planted
patterns by accident (no two dispensas of one supplier at one UG within 120 days, no near-copies),
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
        self.streaming = False  # big_orgao_contracts: no indexes, records handed out one by one

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
             inciso: str | None = None, old_law: bool | None = None) -> int:
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
            modal, fund = "Concorrência", f"{LAW_NEW}, art. 28, inciso II"
        else:
            modal = rng.choice(["Pregão", "Pregão - Registro de Preço"])
            fund = "Lei nº 10.520/2002" if old_law else f"{LAW_NEW}, art. 28, inciso I"
        text = objeto or rng.choice(CLASSES[cls][0]) + rng.choice(_SUFFIXES)
        start = signed + timedelta(days=rng.randint(0, 10))
        value = round(value, 2)
        num = f"{rng.randint(1, 999):05d}/{year}"
        proc = f"{ug['codigo'][:5]}.{rng.randint(1, 999_999):06d}/{year}-{rng.randint(10, 99)}"
        self.contracts[cid] = {
            "id": cid, "numero": num, "objeto": text, "numeroProcesso": proc, "fundamentoLegal": fund,
            "situacaoContrato": "Ativo" if start.year >= 2025 else rng.choice(["Ativo", "Encerrado"]),
            "modalidadeCompra": modal,
            "compra": {"numero": f"{rng.randint(1, 999):05d}/{year}", "objeto": text, "numeroProcesso": proc,
                       "contatoResponsavel": "Setor de Compras"},
            # Own copies of the nested objects, so amending one record never changes another.
            "unidadeGestora": _copy_ug(ug), "unidadeGestoraCompras": _copy_ug(ug), "fornecedor": dict(sup),
            "dataAssinatura": _fmt(signed, rng),
            "dataPublicacaoDOU": _fmt(_add_weekdays(signed, pub_days), rng) if pub_days is not None else None,
            "dataInicioVigencia": _fmt(start, rng), "dataFimVigencia": _fmt(start + timedelta(days=rng.randint(180, 1460)), rng),
            "valorInicialCompra": value, "valorFinalCompra": round(value * (1 + ratio), 2),
        }
        if not self.streaming:
            self.meta[cid] = (org["codigo"], cls, year)
            doc = sup["cnpjFormatado"] or sup["cpfFormatado"]
            self.by_pair[(ug["codigo"], doc)].append((signed, cls, value, kind == "dispensa"))
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
        if value <= 0.7 * limit and rng.random() < 0.55:
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
            self.plant("amendment_over_limit", self.make(org, rng.choice(org["ugs"]), self.supplier(), cls,
                                                         self.day(year), self.value(cls), ratio=ratio))
            # Outliers go to big órgão-years (many peers, and one huge value does not dominate the year).
            org, year = rng.choice(big)
            cls = rng.choice([c for c in _CLASS_NAMES if CLASSES[c][1] <= 250_000])
            value = CLASSES[cls][1] * math.exp(CLASSES[cls][2] * rng.uniform(6.5, 8.5))
            self.plant("price_outlier", self.make(org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year), value))
            org, year = rng.choice(orgs), rng.choice(YEARS)
            if rng.random() < 0.5:
                cid = self.make(org, rng.choice(org["ugs"]), self.supplier(), "expediente", self.day(year),
                                rng.uniform(3_000, 12_000), kind="dispensa", pub_days=rng.randint(16, 35))
            else:
                cls = rng.choice(_CLASS_NAMES)
                cid = self.make(org, rng.choice(org["ugs"]), self.supplier(), cls, self.day(year), self.value(cls),
                                pub_days=rng.randint(28, 70))
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

    def plant_split(self, org: dict[str, Any], year: int) -> None:
        rng = self.rng
        cls = rng.choice(["expediente", "mobiliario", "veiculos_manutencao", "manutencao_predial"])
        old = year < 2024 and rng.random() < 0.3
        limit = (LIMITS_OLD if old else LIMITS_NEW[year])[0 if CLASSES[cls][3] else 1]
        k, first = rng.randint(2, 3), self.day(year, 0, 250)
        days = [first] + sorted(first + timedelta(days=rng.randint(3, 85)) for _ in range(k - 1))
        if rng.random() < 0.6:  # each just under the limit
            values = [limit * rng.uniform(0.82, 0.98) for _ in range(k)]
        else:  # together above the limit
            values = [limit * rng.uniform(0.45, 0.75) for _ in range(k)]
            if sum(values) <= 1.05 * limit:
                values = [v * 1.1 * limit / sum(values) for v in values]
        ug, sup = rng.choice(org["ugs"]), self.supplier()
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
            records.append(self.sanction(sup, start, end, org["nome"] if rng.random() < 0.3 else None, rng.random() < 0.3))
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

    def sanction(self, sup: dict[str, Any], start: date, end: date | None, same_orgao: str | None, national: bool) -> dict[str, Any]:
        rng = self.rng
        lista = "CNEP" if rng.random() < 0.3 else "CEIS"
        doc = sup["cnpjFormatado"] or sup["cpfFormatado"]
        self.sanction_ids.append(doc)
        tipo = rng.choice(["Impedimento/proibição de contratar com prazo determinado", "Suspensão - Lei de Licitações",
                           "Declaração de Inidoneidade"]) if lista == "CEIS" else "Multa - Lei Anticorrupção"
        record = {
            "_lista": lista, "id": 900_000 + len(self.sanction_ids),
            "dataInicioSancao": start.strftime("%d/%m/%Y"), "dataFimSancao": end.strftime("%d/%m/%Y") if end else None,
            "dataPublicacaoSancao": start.strftime("%d/%m/%Y"),
            "tipoSancao": {"descricaoResumida": tipo, "descricaoPortal": tipo},
            "orgaoSancionador": {"nome": same_orgao or rng.choice(["Controladoria-Geral da União", "Tribunal de Contas da União", "Prefeitura Municipal de Campinas", "Governo do Estado de Minas Gerais"]),
                                 "poder": "Executivo", "siglaUf": rng.choice(["DF", "SP", "MG", "RJ", "BA"])},
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
    # Benford needs >= 300 values per (órgão, year): the two big órgãos provide those years.
    for org in orgs:
        for year in YEARS:
            if org["big"]:
                # 800 a year keeps the sampling noise of a clean órgão-year's Benford MAD well under 0.015.
                count = max(320, round(800 * scale)) if year in big_years else 0
            else:
                count = max(12, round(rng.gauss(38, 8) * scale))
            for _ in range(count):
                b.clean(org, year)
    benford = [(orgs[0], big_years[1]), (orgs[1], big_years[-1])] if scale >= 0.5 else [(orgs[0], 2024)]
    b.plant_contract_level(orgs, max(6, round(40 * scale)), big_years, {(o["codigo"], y) for o, y in benford})
    ceis, cnep = b.plant_sanctions(orgs, max(4, round(25 * scale)))
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
                      ceis=ceis, cnep=cnep, licitacoes=licitacoes, ground_truth=b.truth)


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
