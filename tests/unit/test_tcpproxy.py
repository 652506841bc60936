"""tests/tcpproxy.py: through the proxy while it is up; refused (and open connections dropped) once cut;
through again on the same port once restored."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.tcpproxy import TCPProxy


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(1024), b"")],
                             daemon=True).start()  # fmt: skip

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _say(port: int, text: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(text)
        return sock.recv(1024)


def test_cut_refuses_and_drops_then_restore_reconnects(echo: int) -> None:
    proxy = TCPProxy("127.0.0.1", echo).start()
    try:
        assert _say(proxy.port, b"one") == b"one"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        held.sendall(b"x")
        assert held.recv(10) == b"x"
        proxy.cut()
        assert held.recv(10) == b""  # the open connection is dropped
        held.close()
        with pytest.raises(ConnectionRefusedError):
            _say(proxy.port, b"two")
        proxy.restore()
        assert _say(proxy.port, b"three") == b"three"
        assert proxy.cuts == 1 and proxy.connections == 3
    finally:
        proxy.stop()
