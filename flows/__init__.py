"""Conversation flows: pure logic, no I/O (the caller passes `now` and applies the effects).

model      Flow / State / answer specs (declarative, versioned, acyclic)
builtin/   the shipped flows;  registry  get(id, version) / latest(id) / all_flows()
engine     start / step / end / crisis / callback / decide_start -> Step(session, effects)
session    SessionState (JSON) and the events Reply / Reprompt / Expire
effects    Say, SaveAnswer, SaveScore, RaiseFinding, SetTimer, CancelTimers, UpdateClient,
           FlowEnded
parsers    reply parsing;  intents  global intents (crisis first);  crisis  contacts + phrases
scales     instruments and scoring;  risk  §5.5 escalation rules;  client  ClientView, History
"""
