import pkgutil

import pytest
from pydantic import ValidationError

import shared.detection.indicators as indicators_pkg
from shared.detection import DETECTOR_VERSION, REGISTRY, DetectionConfig, detector_version

HANDBOOK = [
    "sanctioned_supplier", "amendment_over_limit", "split_below_dispensa", "price_outlier", "duplicate_contract",
    "direct_award_high_value", "late_publication", "supplier_concentration", "benford_deviation",
]
SECTIONS = ("Definition:", "Formula:", "Legal basis", "Thresholds (settings, handbook defaults):", "Fields read:", "Insufficient data:")


def test_it_lists_the_nine_handbook_indicators_in_order_one_module_each() -> None:
    assert [spec.code for spec in REGISTRY] == HANDBOOK
    modules = sorted(m.name for m in pkgutil.iter_modules(indicators_pkg.__path__))
    assert modules == sorted(HANDBOOK)
    assert {spec.scope for spec in REGISTRY if spec.code in HANDBOOK[-2:]} == {"orgao"}


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.code)
def test_it_documents_every_indicator_with_the_same_sections(spec) -> None:  # type: ignore[no-untyped-def]
    assert spec.doc.startswith(f"{spec.code}:")
    for section in SECTIONS:
        assert section in spec.doc, f"{spec.code} docstring lacks {section!r}"
    assert spec.version and spec.title
    # Every threshold the config has is named in the docstring, so the docs cannot drift silently.
    for name in spec.config_model.model_fields:
        if name != "enabled":
            assert f"``{name}``" in spec.doc, f"{spec.code} docstring does not mention setting {name!r}"


def test_it_changes_the_detector_version_when_a_threshold_changes() -> None:
    assert detector_version(DetectionConfig()) == DETECTOR_VERSION
    changed = DetectionConfig.model_validate({"price_outlier": {"threshold": 3.0}})
    assert detector_version(changed) != DETECTOR_VERSION
    assert detector_version(DetectionConfig.model_validate({"price_outlier": {"threshold": 3.5}})) == DETECTOR_VERSION


def test_it_refuses_unknown_settings_by_name() -> None:
    with pytest.raises(ValidationError, match="treshold"):
        DetectionConfig.model_validate({"price_outlier": {"treshold": 3.0}})
    with pytest.raises(ValidationError, match="no_such_indicator"):
        DetectionConfig.model_validate({"no_such_indicator": {}})


def test_it_keeps_the_handbook_defaults() -> None:
    config = DetectionConfig()
    assert config.amendment_over_limit.cap == 0.25 and config.amendment_over_limit.renovation_cap == 0.5
    assert config.split_below_dispensa.window_days == 90 and config.split_below_dispensa.band_low == 0.8
    assert config.price_outlier.threshold == 3.5 and config.price_outlier.min_peers == 20
    assert (config.duplicate_contract.min_jaccard, config.duplicate_contract.value_tolerance,
            config.duplicate_contract.window_days) == (0.85, 0.05, 30)
    assert config.direct_award_high_value.value_threshold == 100_000
    assert (config.late_publication.max_business_days, config.late_publication.max_business_days_direct) == (20, 10)
    assert (config.supplier_concentration.max_hhi, config.supplier_concentration.max_share,
            config.supplier_concentration.min_contracts) == (2500, 0.5, 10)
    assert (config.benford_deviation.min_values, config.benford_deviation.nonconforming,
            config.benford_deviation.marginal) == (1000, 0.015, 0.012)
