"""Onboarding and consent: consent to messages (recorded with time and wording version),
language, shared phone (-> discreet), preferred channel, daily check-in time, code word.

The shared-phone question comes straight after language so every later text already uses the
discreet wording when needed (§6 rule 4: check phone ownership at enrolment)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flows import questions as q
from flows.builtin.common import YES1_NO2, goto
from flows.language_keyword import OTHER
from flows.model import (
    Choice,
    ChoiceAnswer,
    Flow,
    FreeTextAnswer,
    LanguageAnswer,
    RaiseOn,
    State,
    TimeAnswer,
    states,
)
from flows.parsers import NO_WORDS, YES_WORDS

LANGUAGE = ChoiceAnswer(
    (
        Choice("en", ("english", "en")),
        Choice("other", ("other", "another", "another language", "polish", "urdu", "punjabi",
                         "bengali", "arabic", "romanian", "somali", "kurdish", "portuguese")),
    )
)

SHARED_PHONE = ChoiceAnswer(
    (
        Choice("no", (*NO_WORDS, "just me", "only me", "its mine")),
        Choice("yes", (*YES_WORDS, "shared", "sometimes")),
        Choice("unsure", ("not sure", "dunno", "dont know", "maybe")),
    ),
    on_conflict="unsure",  # unsure reads as shared: discreet wording is the safe side
)

CHANNEL = ChoiceAnswer(
    (
        Choice("sms", ("text", "texts", "sms", "text message", "texting")),
        Choice("telegram", ("telegram", "tg")),
    )
)

ONBOARDING_CONSENT_V1 = Flow(
    id="onboarding_consent",
    version=1,
    kind="onboarding",
    title="Onboarding and consent",
    priority=30,
    when_busy="wait",
    initial="consent",
    states=states(
        # The message key is the consent wording version: a new wording gets a new key.
        State("consent", "onboarding.consent_v1", YES1_NO2, q.CONSENT,
              goto("language", no="no_consent", unanswered="unclear"), client_field="consent"),
        State("language", "onboarding.language", LANGUAGE, q.LANGUAGE, goto("shared_phone"),
              client_field="language", client_values={"en": "en_GB"},
              raises=(RaiseOn("other", "ROUTINE", "language_request"),)),
        State("shared_phone", "onboarding.shared_phone", SHARED_PHONE, q.SHARED_PHONE,
              goto("channel"), client_field="discreet",
              client_values={"no": False, "yes": True, "unsure": True}),
        State("channel", "onboarding.channel", CHANNEL, q.CHANNEL, goto("checkin_time"),
              client_field="preferred_channel"),
        State("checkin_time", "onboarding.checkin_time", TimeAnswer("08:00", "21:00"),
              q.CHECKIN_TIME, goto("codeword"), client_field="checkin_time"),
        State("codeword", "onboarding.codeword", FreeTextAnswer(optional=True, max_len=24),
              q.CODEWORD, goto("done"), client_field="codeword"),
        State("done", "onboarding.done"),
        State("no_consent", "onboarding.no_consent"),
        State("unclear", "onboarding.unclear"),
    ),
    reprompt_after=timedelta(hours=3),
    expire_after=timedelta(hours=24),
    safety=False,
    requires_consent=False,
)

# Version 2 (issue 17): the language question lists the languages that have catalogs, each named
# in itself, by number; the answer is the locale itself. Version 1 stays for sessions that were
# asked "1 English, 2 another language" before it shipped.
ONBOARDING_CONSENT_V2 = replace(
    ONBOARDING_CONSENT_V1,
    version=2,
    states={**ONBOARDING_CONSENT_V1.states, "language": State(
        "language", "onboarding.language_list", LanguageAnswer(), q.LANGUAGE,
        goto("shared_phone"), client_field="language",
        # "other" (a language we have no texts for) leaves the language and tells the officer
        raises=(RaiseOn(OTHER, "ROUTINE", "language_request"),))},
)
