"""The console in a thread of the process that drives the run: uvicorn serving `console.app`, the hub
polling beside it, the URL with its access token."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from base.errors import ConfigError
from console.app import create_app
from console.controls import ActionLog, Controls
from console.feed import Aggregator, Feed
from console.hub import Hub
from console.settings import ConsoleSettings
from contracts.deployment import Deployment

log = logging.getLogger(__name__)

MIN_TOKEN = 32


def console_token(settings: ConsoleSettings) -> str:
    """CONSOLE_TOKEN when set (at least 32 characters), else a fresh one."""
    if settings.token is None or not settings.token.get_secret_value():
        return secrets.token_urlsafe(32)
    token = settings.token.get_secret_value()
    if len(token) < MIN_TOKEN or not token.isascii() or not token.isprintable():
        raise ConfigError(
            "CONSOLE_TOKEN: must be at least 32 printable ASCII characters (or unset: generated)"
        )
    return token


@dataclass
class ConsoleServer:
    settings: ConsoleSettings
    aggregator: Aggregator
    deployment: Deployment
    controls: Controls
    actions_file: Path | None
    title: str = "flexsim console"
    token: str = ""
    port: int = 0
    actions: ActionLog = field(init=False)
    hub: Hub = field(init=False)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.token = self.token or console_token(self.settings)
        self.actions = ActionLog(self.actions_file)
        feed = Feed(self.aggregator, self.deployment, self.settings.history_s)
        self.hub = Hub(feed, self._indices, self.settings.poll_s)

    def _indices(self) -> dict[str, int]:
        return {m.address.lower(): m.index for m in self.controls.members()}

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "::", "") else self.settings.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def start(self) -> ConsoleServer:
        app = create_app(
            self.token, self.hub, self.controls, self.aggregator, self.actions, self.title, self.hub.poke
        )
        sock = socket.socket(socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.settings.host, self.settings.port))
        except OSError as exc:
            raise ConfigError(
                f"the console cannot listen on {self.settings.host}:{self.settings.port} ({exc}): "
                "choose another port with --console-port or CONSOLE_PORT"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self.hub.start()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="console-http", daemon=True
        )
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        self.hub.stop()
        self.aggregator.close()
