"""Starting the HTTP server: the bind rule (loopback, or an API key), models warmed, uvicorn."""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any

from latentstack.errors import ConfigError
from latentstack.progress import log

if TYPE_CHECKING:
    from latentstack.http.state import Served


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and names that resolve only to them (localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_bind(host: str, api_key: str) -> None:
    """Any address but loopback needs an API key: a server open to the network must not be open to anyone."""
    if not is_loopback(host) and not api_key:
        msg = (f"refusing to listen on {host} without --api-key: anyone who can reach it could use the models; "
               "give --api-key KEY (clients send 'Authorization: Bearer KEY'), or bind 127.0.0.1")
        raise ConfigError(msg)


def check_port(host: str, port: int) -> None:
    """Bind ``host:port`` once, as uvicorn will (address reuse on), so that a port in use is said before the models
    load rather than after."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        msg = f"--host {host} does not resolve ({exc.strerror or exc}): give an address such as 127.0.0.1"
        raise ConfigError(msg) from exc
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            msg = (f"cannot listen on {host}:{port} ({exc.strerror or exc}): another server may hold it; "
                   "choose another --port, or stop that server")
            raise ConfigError(msg) from exc


#: Seconds the requests under way get to finish once the server is told to stop (a long answer would otherwise hold
#: Ctrl-C up for as long as it takes to write).
STOP_GRACE_S = 3


def warm(served: Served) -> None:
    """Load the generator (if any), the default embedder and the named embedding models, the served indexes and
    classifiers now: the first request does not wait."""
    if served.generator is not None:
        served.generator_instance()
    served.batcher(served.embedder)
    for name in served.embedding_models:
        served.batcher(name)
    for name in served.indexes:
        served.collection(name).search("warm up", k=1)
    for name in served.classifiers:
        served.classifier(name)


def serve_http(served: Served, *, host: str = "127.0.0.1", port: int = 8000, api_key: str = "",
               cors_origins: tuple[str, ...] = (), warm_up: bool = True, stop_grace: int = STOP_GRACE_S) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM): the requests under way get ``stop_grace`` seconds to finish, then
    their answers stop at their next token and the process exits once none is inside the model."""
    import uvicorn

    from latentstack.http.app import build_app
    from latentstack.http.streaming import answers_ended

    check_bind(host, api_key)
    check_port(host, port)
    if warm_up:
        warm(served)
    log(f"serving http://{host}:{port} (OpenAPI page at /docs); Ctrl-C stops it")
    uvicorn.run(build_app(served, api_key=api_key, cors_origins=cors_origins), host=host, port=port,
                log_level="warning", timeout_keep_alive=5, limit_concurrency=256,
                timeout_graceful_shutdown=stop_grace)
    answers_ended(30)


class InThread:
    """The app served by uvicorn on a thread, on a free loopback port (for tests and ``bench serve``)."""

    def __init__(self, app: Any, timeout_s: float = 30.0) -> None:
        import threading
        import time

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            msg = f"the server on {self.url} did not start within {timeout_s} s"
            raise RuntimeError(msg)

    def stop(self) -> None:
        """Ask uvicorn to finish and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(10)
