"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106), and the strength rule.

Strength, after NCSC guidance (a deny-list of common passwords over composition rules): at
least MIN_LENGTH characters, and zxcvbn (Dropbox's estimator, which ships frequency lists of
common passwords, words and names, and spots repeats, sequences and keyboard walks) must rate
it at least MIN_SCORE. So `aaaaaaaaaaaa`, `123456789012` and `passwordpassword` are refused.

Hashing costs ~50 ms of CPU: the async variants run it on a small pool of threads of its own
(argon2-cffi releases the GIL), so sign-ins never stall the event loop, webhooks or sending,
and a burst of sign-ins queues there instead of taking the default executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-hash")
MIN_LENGTH = 12
MIN_SCORE = 3  # zxcvbn 0-4; 3 = "safely unguessable" against an offline slow-hash attack
# zxcvbn's matching grows fast with length; beyond this a password is long enough anyway.
CHECKED_PREFIX = 64


class WeakPassword(ValueError):
    pass


def check_strength(password: str, user_inputs: Sequence[str] = ()) -> None:
    """Raise WeakPassword (with a reason a person can act on) unless the password is strong."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password: use at least {MIN_LENGTH} characters")
    words = [w for w in user_inputs if w]
    result = zxcvbn(password[:CHECKED_PREFIX], user_inputs=words)
    if result["score"] < MIN_SCORE:
        hint = result["feedback"].get("warning") or "it is too easy to guess"
        raise WeakPassword(f"password: {hint.rstrip('.').lower()}; try a few unrelated words")


def hash_password(password: str, user_inputs: Sequence[str] = ()) -> str:
    check_strength(password, user_inputs)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check so unknown usernames are not revealed by timing.
        _hasher.hash(password or "x")
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


async def hash_password_async(password: str, user_inputs: Sequence[str] = ()) -> str:
    return await asyncio.get_running_loop().run_in_executor(
        _pool, hash_password, password, tuple(user_inputs))


async def verify_password_async(stored_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _pool, verify_password, stored_hash, password)
