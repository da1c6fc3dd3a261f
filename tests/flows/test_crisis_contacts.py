"""Crisis numbers: one configured source, checked against the §5.4 table, never typed into texts.

Martinengo et al. (BMC Med 2019) found apps texting wrong helpline numbers; §5.3 rule 7 asks
for an automated check that every number in the templates matches a single configuration.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.core.texts import render
from config.paths import LOCALE_DIR, PROJECT_ROOT
from flows.crisis import REPLY_CONTACTS, Contact, load_crisis_config

DOC = PROJECT_ROOT.parent / "shared" / "domain" / "scales-and-safety.md"
FLOWS_PO = LOCALE_DIR / "en_GB" / "LC_MESSAGES" / "flows.po"
CONFIG = load_crisis_config()


def doc_text() -> str:
    if not DOC.exists():
        pytest.skip(f"domain notes not found at {DOC}: cannot cross-check crisis numbers")
    return DOC.read_text(encoding="utf-8")


def section_54(text: str) -> str:
    start = text.index("### 5.4")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def table_rows(section: str) -> dict[str, str]:
    """Service cell -> the whole row, from the §5.4 markdown table."""
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 3 and cells[1] != "Service":
            rows[cells[1].replace("**", "").strip()] = line
    return rows


def digits(s: str) -> str:
    return re.sub(r"\D", "", s)


@pytest.mark.parametrize("contact", list(CONFIG.contacts.values()), ids=lambda c: c.id)
def test_configured_number_is_in_its_row_of_the_table(contact: Contact) -> None:
    rows = table_rows(section_54(doc_text()))
    assert contact.service in rows, f"{contact.id}: no §5.4 row for service {contact.service!r}"
    row = rows[contact.service]
    number_cell = row.strip("|").split("|")[2]
    assert digits(contact.number) in digits(number_cell), (contact.id, number_cell)
    if contact.option:
        assert f"option {contact.option}" in row.lower(), contact.id
    if contact.keyword:
        assert contact.keyword in row, contact.id
    if contact.text:
        assert digits(contact.text) in digits(number_cell), contact.id
    if "VERIFY" in row:
        assert not contact.verified, f"{contact.id}: the notes say VERIFY; mark verified = false"


def test_crisis_text_uses_only_verified_contacts() -> None:
    for cid in REPLY_CONTACTS:
        assert CONFIG.contacts[cid].verified, cid


def test_crisis_reply_renders_the_full_template_of_the_notes() -> None:
    m = re.search(r'Full \(143 chars\): "([^"]+)"', section_54(doc_text()))
    assert m, "full crisis template not found in §5.4"
    text = render("crisis.reply", CONFIG.message_params())
    assert text == m.group(1)
    assert len(text) <= 160


def test_no_crisis_number_is_typed_into_any_flow_text() -> None:
    with FLOWS_PO.open("rb") as fh:
        catalog = read_po(fh, locale="en_GB")
    numbers = {digits(c.number) for c in CONFIG.contacts.values()}
    numbers |= {digits(c.text) for c in CONFIG.contacts.values() if c.text}
    for msg in catalog:
        if not msg.id:
            continue
        body = re.sub(r"\{[^}]*\}", " ", str(msg.string))
        runs = re.findall(r"\d[\d ]*\d|\d", body)
        for run in runs:
            assert digits(run) not in numbers, f"{msg.id}: {run!r} must come from crisis.toml"
        assert not re.search(r"\d{3,}", body.replace(" ", "")), (
            f"{msg.id}: a 3+ digit number in a text; numbers belong in config/crisis.toml")


def test_crisis_texts_are_built_from_params() -> None:
    for key in ("crisis.reply", "crisis.ack", "crisis.ack_overdose", "safety.tolerance"):
        params = {**CONFIG.message_params(), "first_name": "Sam", "officer_first_name": "Jo"}
        text = render(key, params)
        assert CONFIG.contacts["emergency"].number in text, key
        changed = render(key, {**params, "emergency": "EMERGENCY-NUMBER"})
        assert "EMERGENCY-NUMBER" in changed, key
