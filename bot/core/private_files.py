"""Owner-only files and folders for data at rest, whatever the process umask.

The database, its WAL/SHM files, backups and the secrets key file hold police and health data:
no other local user may read them. Modes are set explicitly with chmod after creation (a
`mode=` argument alone is masked by the umask), and SQLite gives the -wal and -shm files the
database file's own mode, so creating the database 0600 first keeps its companions 0600 too.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.paths import PROJECT_ROOT

DEFAULT_VAR = PROJECT_ROOT / "var"
FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) as 0700. An existing folder is left as it is:
    it may be shared (say /tmp), and it is the operator's to choose."""
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, DIR_MODE)


def private_file(path: Path) -> None:
    """Make sure `path` exists and is 0600 (an existing file is tightened, never emptied)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def private_sqlite(path: Path) -> None:
    """The database file (created if missing) and any companions it already has, all 0600;
    the default `var/` folder 0700 even if an earlier version made it 0755."""
    if str(path) == ":memory:":
        return
    private_dir(path.parent)
    if path.parent.resolve() == DEFAULT_VAR:
        os.chmod(path.parent, DIR_MODE)
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, FILE_MODE)
