import pytest

from shared.detection.baselines import PeerGroups, PeerStats, peer_stats


def test_it_computes_robust_statistics_by_hand() -> None:
    stats = peer_stats([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3; |x − 3| = 2, 1, 0, 1, 97 -> MAD 1, mean 20.2; quartiles by linear interpolation: 2 and 4.
    assert stats == PeerStats(n=5, median=3.0, mad=1.0, mean_abs_dev=20.2, q1=2.0, q3=4.0)
    even = peer_stats([4.0, 1.0, 3.0, 2.0])
    assert even.median == 2.5 and even.q1 == 1.75 and even.q3 == 3.25
    with pytest.raises(ValueError):
        peer_stats([])


def test_it_groups_values_by_level_in_one_pass_and_prefers_precomputed_stats() -> None:
    given = PeerStats(n=500, median=10.0, mad=1.0, mean_abs_dev=1.2, q1=9.0, q3=11.0)
    groups = PeerGroups(2, precomputed={(1, ("x",)): given})
    for v in (1.0, 2.0, 3.0):
        groups.add([("a", 2024), ("x",)], v)
    groups.add([None, ("x",)], 4.0)
    assert groups.count(0, ("a", 2024)) == 3 and groups.stats(0, ("a", 2024)).median == 2.0
    assert groups.count(1, ("x",)) == 500 and groups.stats(1, ("x",)) is given
    assert groups.count(0, ("b", 2024)) == 0
