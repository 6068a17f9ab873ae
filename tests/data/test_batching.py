"""Batching helpers: background prefetching of a stream."""

import pytest


def test_prefetched_keeps_order_and_reraises_where_the_error_was():
    from hybrid.data.batching import prefetched

    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        yield 2
        raise ValueError("bad line 3")

    got = []
    with pytest.raises(ValueError, match="bad line 3"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1, 2]


def test_prefetched_stops_its_thread_when_the_consumer_stops():
    import threading
    import time

    from hybrid.data.batching import prefetched

    stream = prefetched(iter(range(10**9)), depth=1)
    assert next(stream) == 0
    stream.close()  # the consumer went away (e.g. `| head`)
    deadline = time.monotonic() + 2
    while any(t.name == "hybrid-prefetch" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "hybrid-prefetch" for t in threading.enumerate())
