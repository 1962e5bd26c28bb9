"""A throwaway PostgreSQL server for tests: Debian's binaries, a temporary directory, 127.0.0.1.

``initdb`` makes a cluster in a new directory under the system's temporary
directory, ``pg_ctl`` starts ``postgres`` on a free 127.0.0.1 port (its unix
socket in the same directory), and ``stop`` shuts it down and removes the
directory. PostgreSQL refuses to run as root, so as root both run as the
``postgres`` user (made by Debian's package; ``nobody`` otherwise), which
owns the directory. Authentication is ``trust``: the server listens on the
loopback only, for the test's life.

The binaries are looked for under ``/usr/lib/postgresql/*/bin`` (the newest
version first), then on ``PATH``. Without them ``PostgresServer`` raises
``PostgresMissing`` naming the package to install: the tests that need a
server fail rather than skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

APT_LINE: Final = "apt-get install -y postgresql"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def server_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    raise PostgresMissing(
        "no PostgreSQL server (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin or on "
        f"PATH: install Debian's package with `{APT_LINE}` (.ci/run does)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when this process is root; None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise PostgresMissing("running as root, and neither a postgres nor a nobody user exists")


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory (see the module doc)."""

    def __init__(self) -> None:
        self.bin = server_bin_dir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="credichain-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.user = _run_as()
        self.started = False

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        uid, gid = (None, None) if self.user is None else self.user
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            user=uid,
            group=gid,
            extra_groups=None if uid is None else [],
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stdout}{result.stderr}{log}"
            )

    def start(self) -> None:
        if self.user is not None:
            os.chown(self.root, *self.user)
        self.root.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.started = True

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
