"""Database engine and sessions: SQLite in WAL mode by default, PostgreSQL (psycopg 3) by URL.

SQLite pragmas, set on every connection: `journal_mode=WAL` (readers never block the writer),
`synchronous` FULL by default (the WAL is fsynced at each commit, so a committed reading survives a
power cut; group commit keeps that cheap), `busy_timeout` 10 s, `foreign_keys=ON`, a 64 MiB page
cache, in-memory temporary tables, and the WAL file truncated to 64 MiB when it is reset.

Checkpoints: SQLite normally copies the WAL back into the database (a checkpoint, with an fsync) inside
whichever commit crosses 1000 pages, which stalls that commit, and every request waiting on it, for
tens of milliseconds. The service turns that off (`wal_autocheckpoint=0`) and runs PASSIVE checkpoints
from a thread of its own (`WalCheckpointer`), which never block the writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from aggregator.errors import AggregatorError
from aggregator.tables import Base
from base.errors import ConfigError

log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` use psycopg 3; anything else is passed through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(
    url: str,
    synchronous: str = "FULL",
    pool_size: int = 8,
    schema: str | None = None,
    autocheckpoint: bool = True,
) -> Engine:
    """An engine for `url`; `schema` sets PostgreSQL's search_path (tests use a throwaway schema);
    `autocheckpoint=False` leaves SQLite checkpoints to a `WalCheckpointer`."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            f"invalid database URL {url!r}: {exc}; e.g. sqlite:///results/aggregator.db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, synchronous, autocheckpoint)
    connect_args: dict[str, Any] = {}
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args=connect_args
    )


def _sqlite_engine(url: str, database: str | None, synchronous: str, autocheckpoint: bool) -> Engine:
    if not database or database == ":memory:":
        raise ConfigError("SQLite needs a file (WAL mode and several connections): use sqlite:///path.db")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA journal_size_limit=67108864")
        if not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    return engine


def create_schema(engine: Engine) -> None:
    """Creates the tables that do not exist yet (no migrations: the schema only grows by new tables)."""
    import aggregator.evidence_tables  # noqa: F401  (registers the tamper-evidence tables on `Base`)

    Base.metadata.create_all(engine)


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # health check: any failure means "not ok"
        log.warning("database ping failed: %s", exc)
        return False


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` every `interval_s` on its own connection (SQLite only)."""

    def __init__(self, engine: Engine, interval_s: float = 0.5) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.checkpoint()

    def checkpoint(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # a failed checkpoint is retried next time; the WAL keeps the data
            log.warning("WAL checkpoint failed: %s", exc)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.checkpoint()


class Database:
    """The engine plus a session factory; `session()` commits on success and rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)
        self._checkpointer: WalCheckpointer | None = None

    @classmethod
    def connect(
        cls, url: str, synchronous: str = "FULL", schema: str | None = None, autocheckpoint: bool = True
    ) -> Database:
        """Opens the database and creates missing tables. With `autocheckpoint=False` (the service),
        call `start_checkpointer()`."""
        engine = make_engine(url, synchronous, schema=schema, autocheckpoint=autocheckpoint)
        try:
            create_schema(engine)
        except Exception as exc:
            engine.dispose()
            reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
            raise AggregatorError(
                f"cannot open the database {engine.url.render_as_string()}: {reason}; "
                "check AGGREGATOR_DATABASE_URL and that the server is running"
            ) from exc
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._factory() as s, s.begin():
            yield s

    def start_checkpointer(self, interval_s: float = 0.5) -> None:
        if self.dialect == "sqlite" and self._checkpointer is None:
            self._checkpointer = WalCheckpointer(self.engine, interval_s)
            self._checkpointer.start()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()
