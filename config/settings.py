"""Service settings: environment variables (also read from a `.env` file), validated at start.

A wrong or half-set configuration raises `ConfigError` naming the variable, so the service never
starts in a state where, say, Twilio is half configured and SMS silently goes nowhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from config.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
TWILIO_DEFAULT_API = "https://api.twilio.com"
TELEGRAM_DEFAULT_API = "https://api.telegram.org/bot"


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Rate:
    """At most `count` events per `per` seconds."""

    count: float
    per: float

    @property
    def per_second(self) -> float:
        return self.count / self.per


@dataclass(frozen=True)
class Settings:
    db_path: Path  # SQLite file; with db_url set, only its folder is used (key file, exports)
    public_url: str | None
    timezone: str
    mode: str  # "demo" or "production"
    simulator: bool
    secret_key: str | None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str = TWILIO_DEFAULT_API
    telegram_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str = TELEGRAM_DEFAULT_API
    telegram_rate: Rate = Rate(25, 1)
    telegram_chat_rate: Rate = Rate(1, 1)
    # Telegram allows a group chat about 20 messages a minute (on top of the per-chat rate).
    telegram_group_rate: Rate = Rate(20, 60)
    twilio_rate: Rate = Rate(1, 1)  # segments per second per sender
    send_timeout: float = 15.0
    retry_base: float = 2.0
    retry_cap: float = 600.0
    # No longer ends retries (see README): ordinary rows retry for `retry_horizon`, safety rows
    # until sent. Still parsed so an existing .env keeps working.
    max_attempts: int = 8
    metrics_token: str | None = None  # GET /metrics with "Authorization: Bearer <token>"
    # Reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto we believe; empty:
    # believe no one, the peer address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    retry_horizon: float = 72 * 3600.0  # seconds an ordinary message keeps being retried
    # O2R_DB as a postgresql:// URL: PostgreSQL, several instances may share it (bot/core/pg.py).
    db_url: str | None = None
    # Seconds a claim (outbox row being sent, timer being run) is held before another instance
    # may take it over: longer than any send or handler takes, short enough for a RED's chain.
    claim_lease: float = 60.0
    # How many instances share the database: each sends at 1/instances of every provider rate
    # (O2R_*_RATE), so together they stay within the provider's limits (README: PostgreSQL).
    instances: int = 1
    safety_retry_cap: float = 300.0  # the longest wait between two tries of a safety message
    ack_deadlines: Mapping[str, timedelta] = field(
        default_factory=lambda: {
            "red": timedelta(minutes=15),
            "amber": timedelta(hours=4),
            "routine": timedelta(days=1),
        }
    )

    def share(self, rate: Rate) -> Rate:
        """This instance's part of a provider rate when `instances` share the database."""
        return rate if self.instances == 1 else Rate(rate.count / self.instances, rate.per)

    @property
    def twilio_enabled(self) -> bool:
        return self.twilio_account_sid is not None

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def has_provider(self) -> bool:
        return self.twilio_enabled or self.telegram_enabled

    def public(self, path: str) -> str:
        """The URL a provider calls for `path`; what Twilio signs."""
        if not self.public_url:
            raise ConfigError("O2R_PUBLIC_URL is needed to build webhook URLs")
        return self.public_url.rstrip("/") + path


def _database(env: Mapping[str, str]) -> tuple[Path, str | None]:
    """O2R_DB: a SQLite file path (default var/o2r.db) or a postgresql:// URL; with a URL the
    key file and exports live in O2R_VAR_DIR (default var/)."""
    raw = (env.get("O2R_DB") or "").strip()
    if raw.startswith(("postgresql://", "postgres://")):
        var = Path(env.get("O2R_VAR_DIR") or ROOT / "var")
        return var / "o2r.db", raw
    if "://" in raw:
        raise ConfigError("O2R_DB: give a file path (SQLite) or a postgresql:// URL")
    return Path(raw or ROOT / "var" / "o2r.db"), None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, var: str) -> timedelta:
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{var}: {text!r} is not a duration like 15m, 4h, 1d (units s, m, h, d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_rate(text: str, var: str) -> Rate:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)?\s*([smh])\s*$", text)
    if not m:
        raise ConfigError(f"{var}: {text!r} is not a rate like 25/s, 1/s or 20/m")
    count = float(m.group(1))
    per = float(m.group(2) or 1) * _UNITS[m.group(3)]
    if count <= 0:
        raise ConfigError(f"{var}: the rate must be above zero")
    return Rate(count, per)


def parse_ack_deadlines(text: str, var: str = "O2R_ACK_DEADLINES") -> dict[str, timedelta]:
    out: dict[str, timedelta] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in ("red", "amber", "routine"):
            raise ConfigError(f"{var}: {part!r} should look like red=15m, amber=4h or routine=1d")
        out[name] = parse_duration(value, var)
    return out


def _float(env: Mapping[str, str], var: str, default: float, lo: float = 0.0) -> float:
    raw = env.get(var)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var}: {raw!r} is not a number") from None
    if value < lo:
        raise ConfigError(f"{var}: must be at least {lo}")
    return value


def _duration(env: Mapping[str, str], var: str, default: str, lo: float) -> float:
    """A duration like 72h or 5m, in seconds."""
    seconds = parse_duration(env.get(var) or default, var).total_seconds()
    if seconds < lo:
        raise ConfigError(f"{var}: must be at least {lo:g} seconds")
    return seconds


def _url(env: Mapping[str, str], var: str, default: str | None) -> str | None:
    raw = env.get(var) or default
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{var}: {raw!r} is not an http(s) URL")
    return raw


def parse_trusted_proxies(text: str, var: str = "O2R_TRUSTED_PROXIES") -> tuple[str, ...]:
    """'10.0.0.5, 192.168.0.0/24' -> normalised networks; '*' is refused (anyone could then
    claim any address and dodge the per-address sign-in lock-out)."""
    import ipaddress

    out: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(f"{var}: {part!r} is not an IP address or network"
                              " (list the proxies by address; '*' is not allowed)") from None
    return tuple(out)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    """Settings from `.env` (if present) overlaid by the real environment."""
    env: dict[str, str] = {}
    dotenv = env_file if env_file is not None else ROOT / ".env"
    if dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    env = {k: v for k, v in env.items() if k.startswith("O2R_")}

    mode = env.get("O2R_MODE", "demo").strip().lower()
    if mode not in ("demo", "production"):
        raise ConfigError(f"O2R_MODE: {mode!r} must be demo or production")

    tz = env.get("O2R_TIMEZONE", "Europe/London")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"O2R_TIMEZONE: {tz!r} is not a known IANA time zone") from None

    twilio_vars = ("O2R_TWILIO_ACCOUNT_SID", "O2R_TWILIO_AUTH_TOKEN", "O2R_TWILIO_FROM")
    tw = {v: (env.get(v) or "").strip() or None for v in twilio_vars}
    if any(tw.values()) and not all(tw.values()):
        missing = [v for v, x in tw.items() if not x]
        raise ConfigError(f"{missing[0]}: Twilio is half configured; set all of {', '.join(twilio_vars)}")
    sender = tw["O2R_TWILIO_FROM"]
    if sender:
        from bot.core.phones import InvalidPhone, normalise_phone  # late: keeps config import light

        try:
            sender = normalise_phone(sender)
        except InvalidPhone as exc:
            raise ConfigError(f"O2R_TWILIO_FROM: {exc}") from None

    tg_token = (env.get("O2R_TELEGRAM_TOKEN") or "").strip() or None
    tg_secret = (env.get("O2R_TELEGRAM_WEBHOOK_SECRET") or "").strip() or None
    if tg_token and not tg_secret:
        raise ConfigError("O2R_TELEGRAM_WEBHOOK_SECRET: required when O2R_TELEGRAM_TOKEN is set")
    if tg_secret and not tg_token:
        raise ConfigError("O2R_TELEGRAM_TOKEN: required when O2R_TELEGRAM_WEBHOOK_SECRET is set")
    if tg_secret and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", tg_secret):
        raise ConfigError(
            "O2R_TELEGRAM_WEBHOOK_SECRET: use 16-256 characters from A-Z, a-z, 0-9, _ and -"
        )

    public_url = _url(env, "O2R_PUBLIC_URL", None)
    if (tw["O2R_TWILIO_ACCOUNT_SID"] or tg_token) and not public_url:
        raise ConfigError("O2R_PUBLIC_URL: required when Twilio or Telegram is configured")

    secret_key = env.get("O2R_SECRET_KEY") or None
    if mode == "production" and (not secret_key or len(secret_key) < 32):
        raise ConfigError("O2R_SECRET_KEY: production needs a random secret of 32+ characters")

    sim_raw = env.get("O2R_SIMULATOR", "on" if mode == "demo" else "off").strip().lower()
    if sim_raw not in ("on", "off", "1", "0", "true", "false"):
        raise ConfigError(f"O2R_SIMULATOR: {sim_raw!r} must be on or off")
    # A live provider means real people: the demo (invented users, a known password) and the
    # simulator (its /sim/advance moves the clock that runs deadlines) must not run beside it.
    # We refuse to start rather than guess, so the operator decides in plain sight.
    live = [name for name, on in (("Twilio", tw["O2R_TWILIO_ACCOUNT_SID"]),
                                  ("Telegram", tg_token)) if on]
    if live and mode != "production":
        raise ConfigError(
            f"O2R_MODE: {' and '.join(live)} credentials are set, so this service reaches real"
            " people; set O2R_MODE=production (the demo, its simulator and movable clock cannot"
            " run with a real provider), or remove the credentials for the demo")
    if live and sim_raw in ("on", "1", "true"):
        raise ConfigError(
            f"O2R_SIMULATOR: must be off while {' and '.join(live)} is configured (the simulator"
            " moves the clock of a service that sends real messages)")

    metrics_token = (env.get("O2R_METRICS_TOKEN") or "").strip() or None
    if metrics_token and not re.fullmatch(r"[A-Za-z0-9_.~+/=-]{32,256}", metrics_token):
        raise ConfigError("O2R_METRICS_TOKEN: use 32-256 random characters (letters, digits,"
                          " - _ . ~ + / =)")

    deadlines = Settings.__dataclass_fields__["ack_deadlines"].default_factory()  # type: ignore[misc]
    if env.get("O2R_ACK_DEADLINES"):
        deadlines.update(parse_ack_deadlines(env["O2R_ACK_DEADLINES"]))

    db_path, db_url = _database(env)
    return Settings(
        db_path=db_path,
        db_url=db_url,
        public_url=public_url,
        timezone=tz,
        mode=mode,
        simulator=sim_raw in ("on", "1", "true"),
        secret_key=secret_key,
        twilio_account_sid=tw["O2R_TWILIO_ACCOUNT_SID"],
        twilio_auth_token=tw["O2R_TWILIO_AUTH_TOKEN"],
        twilio_from=sender,
        twilio_api_url=_url(env, "O2R_TWILIO_API_URL", TWILIO_DEFAULT_API) or TWILIO_DEFAULT_API,
        telegram_token=tg_token,
        telegram_webhook_secret=tg_secret,
        telegram_api_url=_url(env, "O2R_TELEGRAM_API_URL", TELEGRAM_DEFAULT_API)
        or TELEGRAM_DEFAULT_API,
        telegram_rate=parse_rate(env.get("O2R_TELEGRAM_RATE", "25/s"), "O2R_TELEGRAM_RATE"),
        telegram_chat_rate=parse_rate(
            env.get("O2R_TELEGRAM_CHAT_RATE", "1/s"), "O2R_TELEGRAM_CHAT_RATE"
        ),
        telegram_group_rate=parse_rate(
            env.get("O2R_TELEGRAM_GROUP_RATE", "20/m"), "O2R_TELEGRAM_GROUP_RATE"
        ),
        twilio_rate=parse_rate(env.get("O2R_TWILIO_RATE", "1/s"), "O2R_TWILIO_RATE"),
        send_timeout=_float(env, "O2R_SEND_TIMEOUT", 15.0, lo=0.1),
        retry_base=_float(env, "O2R_RETRY_BASE", 2.0, lo=0.0),
        retry_cap=_float(env, "O2R_RETRY_CAP", 600.0, lo=0.0),
        max_attempts=int(_float(env, "O2R_MAX_ATTEMPTS", 8, lo=1)),
        metrics_token=metrics_token,
        retry_horizon=_duration(env, "O2R_RETRY_HORIZON", "72h", lo=60.0),
        safety_retry_cap=_duration(env, "O2R_SAFETY_RETRY_CAP", "5m", lo=1.0),
        ack_deadlines=deadlines,
        trusted_proxies=parse_trusted_proxies(env.get("O2R_TRUSTED_PROXIES", "")),
        claim_lease=_duration(env, "O2R_CLAIM_LEASE", "60s", lo=5.0),
        instances=int(_float(env, "O2R_INSTANCES", 1, lo=1)),
    )
