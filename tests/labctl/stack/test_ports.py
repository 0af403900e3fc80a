"""Loopback ports: a taken one is seen as taken, and a lab's ports never collide."""

import socket

from labctl.stack.ports import (
    LOOPBACK,
    ServicePorts,
    free_port,
    free_ports,
    is_free,
    preferred_or_free,
)


def test_a_bound_port_is_taken_and_the_preferred_one_gives_way() -> None:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert not is_free(taken)
        instead = preferred_or_free(taken)
        assert instead != taken and is_free(instead)
    assert preferred_or_free(taken) == taken  # free again: the documented one is kept


def test_free_ports_of_one_service_are_distinct() -> None:
    ports = ServicePorts.free()
    chosen = [ports.http, ports.stream, ports.metrics, ports.debug, ports.smtp, ports.smtp_metrics]
    assert len(set(chosen)) == len(chosen)
    assert all(is_free(p) for p in chosen) and is_free(free_port())


def test_free_ports_are_distinct_and_never_one_already_chosen() -> None:
    chosen = ServicePorts.free().all()
    assert len(set(chosen)) == 6
    more = free_ports(20, avoid=chosen)
    assert len(set(more)) == 20 and not set(more) & set(chosen)
