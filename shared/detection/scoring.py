"""How a contract's findings combine into one risk score.

Contract rule: each finding has a score ``s`` in [0, 1] set by its indicator (how far past its
threshold it is). When the contract also has a ``direct_award_high_value`` finding, every other
finding's score is multiplied by ``1 + direct_award_boost`` (0.25 by default, capped at 1): a
large award without competition makes the other flags weigh more. The risk is the probabilistic
union ``1 − Π(1 − sᵢ)``: one strong flag dominates, several weak flags add up, and the result
never exceeds 1. ``supplier_concentration`` is an órgão-level signal carried by the dominant
supplier's contracts at low weight: it is left out of the union and then adds
``concentration_weight × s × (1 − risk)`` (at most 0.02 with the defaults: weight 0.1, contract score at most 0.2), so it orders contracts
of otherwise equal risk but never lifts a contract above one with a barring sanction (score ≥
0.85) or an unexplained acréscimo (≥ 0.5). The same findings always give the same score (rounded
to 4 decimals).
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain import Finding

DIRECT_AWARD = "direct_award_high_value"
CONCENTRATION = "supplier_concentration"


def risk_score(findings: Sequence[Finding], *, direct_award_boost: float = 0.25,
               concentration_weight: float = 0.1) -> float:
    if not findings:
        return 0.0
    boost = 1.0 + direct_award_boost if any(f.indicator == DIRECT_AWARD for f in findings) else 1.0
    remaining = 1.0
    concentration = 0.0
    for finding in findings:
        if finding.indicator == CONCENTRATION:
            concentration = max(concentration, finding.score)
            continue
        weight = 1.0 if finding.indicator == DIRECT_AWARD else boost
        remaining *= 1.0 - min(1.0, finding.score * weight)
    risk = 1.0 - remaining
    risk += concentration_weight * concentration * remaining
    return round(risk, 4)

