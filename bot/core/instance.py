"""One service per SQLite file, and a port that is free: checked before anything is migrated,
seeded or started, so a second `o2r serve` fails cleanly instead of half-starting on a database
another instance owns."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO


class CannotStart(RuntimeError):
    """Start-up refused; the message says why and what to do."""


_held: list[IO[bytes]] = []  # kept open (and so locked) for the life of the process


def hold_database(db_path: Path) -> None:
    """Take an exclusive lock beside the database file for the life of this process. The kernel
    releases it when the process ends, however it ends (kill -9 included)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock = db_path.with_name(db_path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "r+b")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise CannotStart(
            f"another o2r service is already running on {db_path} (SQLite serves one instance;"
            " stop it first, or use PostgreSQL for several)") from None
    handle.truncate(0)
    handle.write(str(os.getpid()).encode())
    handle.flush()
    _held.append(handle)


def check_port(host: str, port: int) -> None:
    """Refuse early when something already listens on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CannotStart(f"port {port} on {host} is in use ({exc.strerror}); is o2r already"
                              " running? Stop it, or pass --port") from None
