"""The detection settings: one model per indicator with the handbook's defaults, unknown keys refused.

``DetectionConfig()`` is the handbook configuration. Build another from a mapping or JSON
(``DetectionConfig.model_validate({...})``); a misspelt indicator or threshold raises a
validation error that names it. Every value feeds the detector version.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.detection.indicators import amendment_over_limit as _amendment
from shared.detection.indicators import benford_deviation as _benford
from shared.detection.indicators import direct_award_high_value as _direct
from shared.detection.indicators import duplicate_contract as _duplicate
from shared.detection.indicators import late_publication as _late
from shared.detection.indicators import price_outlier as _price
from shared.detection.indicators import sanctioned_supplier as _sanctioned
from shared.detection.indicators import split_below_dispensa as _split
from shared.detection.indicators import supplier_concentration as _concentration


class ScoringConfig(BaseModel):
    """How findings combine into a contract's risk score (see shared.detection.scoring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direct_award_boost: float = Field(default=0.25, ge=0, le=1)


class DetectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sanctioned_supplier: _sanctioned.Config = Field(default_factory=_sanctioned.Config)
    amendment_over_limit: _amendment.Config = Field(default_factory=_amendment.Config)
    split_below_dispensa: _split.Config = Field(default_factory=_split.Config)
    price_outlier: _price.Config = Field(default_factory=_price.Config)
    duplicate_contract: _duplicate.Config = Field(default_factory=_duplicate.Config)
    direct_award_high_value: _direct.Config = Field(default_factory=_direct.Config)
    late_publication: _late.Config = Field(default_factory=_late.Config)
    supplier_concentration: _concentration.Config = Field(default_factory=_concentration.Config)
    benford_deviation: _benford.Config = Field(default_factory=_benford.Config)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)

    def for_indicator(self, code: str) -> BaseModel:
        value: BaseModel = getattr(self, code)
        return value
