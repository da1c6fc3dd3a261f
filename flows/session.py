"""The state of one running flow for one client (stored as JSON), and the events that move it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SessionState:
    flow_id: str
    flow_version: int
    state: str  # key of the state whose question is pending
    priority: int  # effective priority (30 when an officer started it)
    officer_started: bool
    started_at: datetime
    asked_at: datetime  # when the pending question was (last) sent
    seq: int = 0  # bumps each time a new question is asked; timers carry it
    misfits: tuple[str, ...] = ()  # replies to the pending question that did not parse
    reprompted: bool = False  # the pending question was re-sent by a Reprompt
    answers: Mapping[str, Any] = field(default_factory=dict)  # answered values by question_key
    unanswered: tuple[str, ...] = ()  # question_keys that ended unanswered
    raised: tuple[str, ...] = ()  # "SEVERITY:reason" of findings already raised (no repeats)
    sent: tuple[str, ...] = ()  # safety message keys already sent in this session
    params: Mapping[str, Any] = field(default_factory=dict)  # caller params ({when}, {place})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, Mapping):
                v = dict(v)
            out[f.name] = v
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        kw: dict[str, Any] = dict(data)
        for name in ("started_at", "asked_at"):
            kw[name] = datetime.fromisoformat(kw[name])
        for name in ("misfits", "unanswered", "raised", "sent"):
            kw[name] = tuple(kw.get(name, ()))
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> SessionState:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class Reply:
    """An inbound text from the client (after global intents found nothing to act on)."""

    text: str


@dataclass(frozen=True)
class Reprompt:
    """The reprompt timer fired; `seq` from its SetTimer (None: assume current)."""

    seq: int | None = None


@dataclass(frozen=True)
class Expire:
    """The expire timer fired; `seq` from its SetTimer (None: assume current)."""

    seq: int | None = None


Event = Reply | Reprompt | Expire
