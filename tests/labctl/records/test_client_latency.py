"""An open-loop client's latency: quantiles by nearest rank, every one a value measured."""

from labctl.records.client_latency import ClientLatency, nearest_rank


def test_the_quantiles_are_values_measured_not_interpolated() -> None:
    values = [0.001 * i for i in range(1, 1001)]
    assert nearest_rank(values, 0.5) == values[499] and nearest_rank(values, 0.999) == values[998]
    assert nearest_rank([], 0.99) is None


def test_a_window_with_one_long_stall_in_a_hundred_answers() -> None:
    latency = ClientLatency.of(100.0, 101, [0.3] + [0.002] * 99, errors=1)
    assert (latency.sent, latency.answered, latency.errors) == (101, 100, 1)
    assert latency.p50_seconds == 0.002 and latency.p99_seconds == 0.002
    assert latency.p999_seconds == 0.3 and latency.max_seconds == 0.3
    empty = ClientLatency.of(10.0, 5, [], errors=5)
    assert empty.p50_seconds is None and empty.max_seconds is None
