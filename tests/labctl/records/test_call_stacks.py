from labctl.records.call_stacks import Stacks
from labctl.records.location import Location

APP = "/srv/app/orders.py"
LIB = "/usr/lib/python3.11/json/encoder.py"


def test_self_time_goes_to_the_innermost_application_frame() -> None:
    stacks = Stacks()
    main = Location("main", APP, 1)
    encode = Location("encode", LIB, 10)
    stacks.counts[(main, Location("render_invoice", APP, 20), encode)] += 70
    stacks.counts[(main, Location("load_orders", APP, 30))] += 30
    top = stacks.top_functions()
    assert [(t.location.function, t.self_pct, t.total_pct) for t in top[:2]] == [
        ("render_invoice", 70.0, 70.0),
        ("load_orders", 30.0, 30.0),
    ]
    assert all(t.location.function != "encode" for t in top)  # library code is never the culprit


def test_speedscope_round_trip() -> None:
    doc = {
        "shared": {"frames": [{"name": "a", "file": APP, "line": 1},
                              {"name": "b", "file": APP, "line": 2}]},
        "profiles": [{"type": "sampled", "samples": [[0, 1], [0, 1], [0]],
                      "weights": [1, 1, 1]}],
    }  # fmt: skip
    stacks = Stacks.from_speedscope(doc)
    assert stacks.samples == 3
    assert stacks.top_functions()[0].location.function == "b"


def test_callers_skip_library_frames_and_share_the_callee_samples() -> None:
    stacks = Stacks()
    main = Location("main", APP, 1)
    send = Location("send", APP, 50)
    retry = Location("retry_call", "/srv/venv/lib/python3.11/site-packages/tenacity/__init__.py", 9)
    stacks.counts[(main, Location("resend_at_once", APP, 40), send)] += 90
    stacks.counts[(main, Location("deliver", APP, 30), retry, send)] += 10
    stacks.counts[(main, Location("other", APP, 60))] += 500  # never calls send: not in the share
    callers = stacks.callers("send")
    assert [(c.location.function, c.samples, c.share_pct) for c in callers] == [
        ("resend_at_once", 90, 90.0),
        ("deliver", 10, 10.0),  # through tenacity: the library frame is skipped
    ]
    assert stacks.callers("absent") == []
