"""Secrets at rest (TOTP seeds): Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a
key derived from O2R_SECRET_KEY by HKDF-SHA256, so a copy of the database alone cannot mint
second-factor codes.

Without O2R_SECRET_KEY (demo mode only; production refuses to start without it) the key
material is a random file `secret.key` next to the database, created 0600.
"""

from __future__ import annotations

import base64
import functools
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.core.private_files import private_file

if TYPE_CHECKING:
    from bot.core.db import Tx
    from config.settings import Settings

PREFIX = "f1:"  # marks a sealed value; anything else in a sealed column is legacy plain text
KEY_FILE = "secret.key"
# Different info strings give independent keys from one O2R_SECRET_KEY.
PURPOSE_TOTP = b"o2r/totp-secrets/v1"


class SealError(ValueError):
    """A sealed value could not be opened: a different O2R_SECRET_KEY, or tampering."""


def key_material(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.db_path).parent / KEY_FILE
    if not path.exists():
        private_file(path)
        path.write_text(secrets.token_urlsafe(48), encoding="ascii")
    return path.read_text(encoding="ascii").strip()


@functools.lru_cache(maxsize=8)
def _fernet(material: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(settings: Settings, plain: str, purpose: bytes = PURPOSE_TOTP) -> str:
    return PREFIX + _fernet(key_material(settings), purpose).encrypt(plain.encode()).decode()


def unseal(settings: Settings, stored: str, purpose: bytes = PURPOSE_TOTP) -> str:
    if not is_sealed(stored):
        raise SealError("value is not sealed")
    try:
        return _fernet(key_material(settings), purpose).decrypt(
            stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise SealError("cannot open a sealed value: was O2R_SECRET_KEY changed?") from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


async def seal_legacy_totp(tx: Tx) -> int:
    """Seal TOTP seeds stored in plain text by earlier versions; once at open, in one
    transaction. Returns how many were sealed."""
    rows = await tx.all("SELECT staff_id, secret FROM staff_totp WHERE secret NOT LIKE 'f1:%'")
    for staff_id, secret in rows:
        await tx.execute("UPDATE staff_totp SET secret = ? WHERE staff_id = ? AND secret = ?",
                         (seal(tx.settings, secret), staff_id, secret))
    return len(rows)
