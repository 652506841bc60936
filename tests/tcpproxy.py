"""A TCP proxy on loopback that a test can cut and restore: Vault (or any server) becomes unreachable for the
processes that talk to it through the proxy, without stopping the server (an OpenBao dev server keeps its
data in memory: a stop would lose it).

``cut()`` closes the listening socket (new connections are refused, as from a stopped server) and every
connection open through it (requests in flight fail); ``restore()`` listens on the same port again. Threads
only, so it runs beside the test in the test's own process.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from baton.devstack import free_port


@dataclass
class TCPProxy:
    """``127.0.0.1:<port>`` → *target_host*:*target_port*, while not cut."""

    target_host: str
    target_port: int
    port: int = 0
    connections: int = 0  # accepted since the start, to tell that the flows did go through it
    cuts: int = 0
    _listener: socket.socket | None = None
    _open: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def start(self) -> TCPProxy:
        self.port = self.port or free_port()
        self._listen()
        return self

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or stopped
            try:
                upstream = socket.create_connection((self.target_host, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while this one was being accepted
                    client.close()
                    upstream.close()
                    return
                self.connections += 1
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as if the server had gone away."""
        with self._lock:
            listener, self._listener = self._listener, None
            live = list(self._open)
        if listener is None:
            return
        self.cuts += 1
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        listener.close()
        for sock in live:
            self._close(sock)

    def restore(self) -> None:
        """Listen on the same port again."""
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self.cut()
