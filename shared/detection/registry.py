"""The list of indicators, in the handbook's order, and the detector version derived from them.

``DETECTOR_VERSION`` is stored on every investigation. It hashes each indicator's code and formula
version, every threshold of the configuration, and the data tables (legal limits, text rules), so
changing any of them yields a new version and re-analysis writes new investigations instead of
overwriting old ones.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from shared.detection.base import IndicatorSpec
from shared.detection.indicators import (
    amendment_over_limit,
    benford_deviation,
    direct_award_high_value,
    duplicate_contract,
    late_publication,
    price_outlier,
    sanctioned_supplier,
    split_below_dispensa,
    supplier_concentration,
)
from shared.detection.text import load_table

if TYPE_CHECKING:
    from shared.detection.config import DetectionConfig

SUITE_VERSION = "2"

REGISTRY: tuple[IndicatorSpec, ...] = (
    sanctioned_supplier.SPEC,
    amendment_over_limit.SPEC,
    split_below_dispensa.SPEC,
    price_outlier.SPEC,
    duplicate_contract.SPEC,
    direct_award_high_value.SPEC,
    late_publication.SPEC,
    supplier_concentration.SPEC,
    benford_deviation.SPEC,
)
BY_CODE: dict[str, IndicatorSpec] = {spec.code: spec for spec in REGISTRY}
DATA_TABLES = ("legal.json", "text.json")


def detector_version(config: DetectionConfig) -> str:
    """``<suite>.<hash>``: the same for the same formulas, thresholds and tables, different otherwise."""
    material = {
        "indicators": [[spec.code, spec.version] for spec in REGISTRY],
        "config": config.model_dump(mode="json"),
        "tables": {name: load_table(name) for name in DATA_TABLES},
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{SUITE_VERSION}.{digest[:12]}"
