"""The dunning services: the policy, the pass, reminders by hand, disputes, pauses, the daily
worker job, and two passes at once from separate processes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from django.utils import translation

from facturier.billing.models import (
    AuditEvent,
    Company,
    Customer,
    Invoice,
    OutboxMessage,
    Reminder,
    ReminderLevel,
)
from facturier.billing.services import (
    InvalidInput,
    LineData,
    NotAllowed,
    credit_note_create,
    invoice_issue,
    invoices_issue,
    payment_record,
)
from facturier.billing.services.actors import Actor
from facturier.billing.services.dunning import (
    LevelData,
    customer_reminders_pause,
    default_levels,
    invoice_dispute_set,
    reminder_level_change,
    reminder_policy,
    reminder_policy_set,
    reminder_schedule,
    reminder_send_now,
    reminders_run,
)
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from tests.actors import SYS
from tests.guards import guards_lifted
from tests.processes import Children, facturier_command

D = Decimal
ISSUE = date(2027, 3, 1)
DUE = ISSUE + timedelta(days=30)  # the company's default terms


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages and default names are asserted in English (the catalog makes them French)."""
    with translation.override("en"):
        yield


def at(day: date, hour: int = 9) -> Any:
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), tick=False)


@pytest.fixture
def issue(make_draft: Callable[..., Invoice]) -> Callable[..., Invoice]:
    """Issue an invoice on ISSUE (due on DUE), 1 000 € excl. VAT = 1 200 € by default."""

    def make(price: str = "1000", **kwargs: Any) -> Invoice:
        lines = [LineData(description="Service", quantity=D(1), unit_price=D(price))]
        with at(ISSUE):
            return invoice_issue(make_draft(lines, **kwargs), actor=SYS)

    return make


def run_on(day: date, **kwargs: Any) -> Any:
    """The pass as the worker runs it on `day` (a run never sends ahead of its own today)."""
    with at(day):
        return reminders_run(as_of=day, **kwargs)


def state() -> tuple[Any, ...]:
    """Everything the dunning services may write."""
    return (
        list(Reminder.objects.values_list("invoice_id", "level", "manual").order_by("pk")),
        OutboxMessage.objects.filter(kind="email.reminder").count(),
        AuditEvent.objects.count(),
        list(ReminderLevel.objects.values_list("level", "days", "enabled", "name")),
        list(Invoice.objects.values_list("disputed", flat=True).order_by("pk")),
        list(Customer.objects.values_list("reminders_paused", flat=True).order_by("pk")),
    )


# -- the policy -----------------------------------------------------------------------------


def test_the_default_policy_is_created_on_first_use(company: Company) -> None:
    assert not ReminderLevel.objects.exists()
    levels = reminder_policy(company)
    rows = [(lv.level, lv.days, lv.enabled, lv.formal_notice, lv.attach_invoice) for lv in levels]
    assert rows == [
        (1, -3, False, False, True),
        (2, 7, True, False, True),
        (3, 15, True, False, True),
        (4, 30, True, True, True),
    ]
    assert [lv.copy_sales_rep for lv in levels] == [False, False, True, True]
    assert reminder_policy(company) == levels  # read, not created again
    assert ReminderLevel.objects.count() == 4


def test_replace_the_policy(company: Company) -> None:
    events = AuditEvent.objects.count()
    levels = [
        LevelData(1, "  Rappel  ", 10),
        LevelData(2, "Mise en demeure", 45, copy_sales_rep=True, formal_notice=True),
    ]
    rows = reminder_policy_set(company, levels, by=SYS)
    assert [(r.level, r.name, r.days, r.formal_notice) for r in rows] == [
        (1, "Rappel", 10, False),
        (2, "Mise en demeure", 45, True),
    ]
    event = AuditEvent.objects.order_by("pk").last()
    assert event is not None and event.action == "reminder_policy.updated"
    assert event.data["levels"][1]["days"] == 45
    assert AuditEvent.objects.count() == events + 1
    reminder_policy_set(company, levels, by=SYS)  # the same again: nothing to record
    assert AuditEvent.objects.count() == events + 1


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([], "levels: a policy needs at least one level"),
        ([LevelData(1, "a", 7), LevelData(2, "b", 7)], "must come after level 1's (J+7)"),
        ([LevelData(1, "a", 15), LevelData(2, "b", 7)], "level 2: its day (J+7) must come after"),
        (
            [LevelData(1, "a", 30, formal_notice=True), LevelData(2, "b", 45)],
            "the formal notice must be the last level",
        ),
        (
            [LevelData(1, "a", 30, formal_notice=True), LevelData(2, "b", 45, formal_notice=True)],
            "the formal notice must be the last level",
        ),
        ([LevelData(1, " ", 7)], "levels[1].name: a name of 1 to 100 characters"),
        ([LevelData(1, "a", True)], "levels[1].days: must be a whole number"),  # type: ignore[arg-type]
        ([LevelData(1, "a", 7), LevelData(3, "b", 9)], "levels must be numbered 1 to 2"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(
    company: Company, levels: list[LevelData], message: str
) -> None:
    reminder_policy(company)
    before = state()
    with pytest.raises(InvalidInput) as error:
        reminder_policy_set(company, levels, by=SYS)
    assert message in str(error.value)
    assert state() == before


def test_change_one_level(company: Company) -> None:
    reminder_level_change(company, 3, days=20, by=SYS)
    reminder_level_change(company, 1, enabled=True, name="Petit rappel", by=SYS)
    rows = [(r.level, r.days, r.enabled, r.name) for r in reminder_policy(company)]
    assert rows[0] == (1, -3, True, "Petit rappel") and rows[2] == (3, 20, True, "Second reminder")
    before = state()
    for level, changes, message in [
        (3, {"days": 5}, "level 3: its day (J+5) must come after level 2's (J+7)"),
        (9, {"days": 5}, "no level 9"),
        (2, {"formal_notice": True}, "formal notice must be the last level"),
        (2, {"colour": "red"}, "unknown field colour"),
    ]:
        with pytest.raises(InvalidInput, match=re.escape(message)):
            reminder_level_change(company, level, by=SYS, **changes)
    assert state() == before


# -- the pass -------------------------------------------------------------------------------


def test_each_level_on_its_day_with_its_outbox_message(company: Company, issue: Any) -> None:
    inv = issue()
    assert run_on(DUE + timedelta(days=6)).total_sent == 0
    with at(DUE + timedelta(days=7), hour=8):
        summary = reminders_run(as_of=DUE + timedelta(days=7))
    assert dict(summary.sent) == {2: 1}
    reminder = Reminder.objects.get()
    assert (reminder.invoice_id, reminder.level, reminder.manual) == (inv.pk, 2, False)
    assert (reminder.sent_on, reminder.days_late, reminder.amount_due) == (
        DUE + timedelta(days=7), 7, D("1200.00"),
    )  # fmt: skip
    assert (reminder.penalty, reminder.indemnity) == (D("0.00"), D("0.00"))
    msg = reminder.message
    assert msg is not None
    assert (msg.kind, msg.key, msg.payload, msg.invoice_id, msg.status, msg.company_id) == (
        "email.reminder", f"reminder:{reminder.pk}", {"reminder_ids": [reminder.pk]}, inv.pk,
        "pending", company.pk,
    )  # fmt: skip
    assert msg.next_attempt_at == datetime(2027, 4, 7, 8, tzinfo=UTC)
    # Again the same day, and the next days: nothing more until level 3.
    for offset in (7, 8, 14):
        assert run_on(DUE + timedelta(days=offset)).total_sent == 0
    assert dict(run_on(DUE + timedelta(days=15)).sent) == {3: 1}
    assert dict(run_on(DUE + timedelta(days=30)).sent) == {4: 1}
    assert run_on(DUE + timedelta(days=90)).total_sent == 0
    assert list(Reminder.objects.values_list("level", flat=True).order_by("pk")) == [2, 3, 4]
    assert OutboxMessage.objects.filter(kind="email.reminder").count() == 3


def test_the_formal_notice_states_penalties_and_the_indemnity_to_a_business(
    company: Company, customer: Customer, consumer: Customer, issue: Any
) -> None:
    business = issue()  # 1 200,00 €
    private = issue("500", customer=consumer)  # 600,00 €
    partly = issue()
    with at(ISSUE):
        payment_record(
            customer=customer, amount=D("200.00"), received_on=ISSUE, method="transfer",
            allocations=[(partly, D("200.00"))], actor=SYS,
        )  # fmt: skip
    # The pass was down from J+1 to J+40: the formal notice only, 40 days late.
    summary = run_on(DUE + timedelta(days=40))
    assert dict(summary.sent) == {4: 3}
    assert summary.skipped == {"superseded": 6}
    got = {
        r.invoice_id: (r.level, r.days_late, r.amount_due, r.penalty, r.indemnity)
        for r in Reminder.objects.all()
    }
    # 1200 × 12.15 % × 40 / 365 = 15.978… ; 600 × … = 7.989… ; 1000 × … = 13.315…
    assert got == {
        business.pk: (4, 40, D("1200.00"), D("15.98"), D("40.00")),
        private.pk: (4, 40, D("600.00"), D("7.99"), D("0.00")),
        partly.pk: (4, 40, D("1000.00"), D("13.32"), D("0.00") + D("40.00")),
    }
    # The superseded levels are never sent afterwards.
    assert run_on(DUE + timedelta(days=41)).total_sent == 0
    schedule = [(s.level, s.status) for s in reminder_schedule(business, DUE + timedelta(days=41))]
    assert schedule == [(1, "off"), (2, "superseded"), (3, "superseded"), (4, "sent")]


def test_the_penalty_uses_the_company_rate(company: Company, issue: Any) -> None:
    company.late_penalty_rate = D("10.00")
    company.save(update_fields=["late_penalty_rate"])
    issue()
    run_on(DUE + timedelta(days=73))
    assert Reminder.objects.get().penalty == D("24.00")  # 1200 × 10 % × 73 / 365


def test_what_stops_reminders(
    company: Company, customer: Customer, consumer: Customer, issue: Any
) -> None:
    paid, disputed, credited, paused = issue(), issue(), issue(), issue(customer=consumer)
    with at(ISSUE):
        payment_record(
            customer=customer, amount=D("1200.00"), received_on=ISSUE, method="transfer",
            allocations=[(paid, D("1200.00"))], actor=SYS,
        )  # fmt: skip
    invoice_dispute_set(disputed, disputed=True, by=SYS)
    with at(ISSUE + timedelta(days=1)):
        note = credit_note_create(credited, actor=SYS, reason="Annulée")
    customer_reminders_pause(consumer, paused=True, by=SYS)
    summary = run_on(DUE + timedelta(days=7))
    assert summary.total_sent == 0
    assert summary.skipped == {"disputed": 1, "paused": 1}
    assert not Reminder.objects.exists()
    assert note.pk not in [o.invoice_id for o in summary.outcomes]
    day = DUE + timedelta(days=7)
    for inv in (disputed, paid, paused):
        inv.refresh_from_db()
    assert [s.status for s in reminder_schedule(disputed, day)] == ["off", *["disputed"] * 3]
    assert [s.status for s in reminder_schedule(paid, day)] == ["off", *["paid"] * 3]
    assert [s.status for s in reminder_schedule(paused, day)] == ["off", *["paused"] * 3]
    assert reminder_schedule(note, day) == []
    # Lifting the dispute and the pause: the level due then goes out (and only that one).
    invoice_dispute_set(disputed, disputed=False, by=SYS)
    customer_reminders_pause(consumer, paused=False, by=SYS)
    summary = run_on(DUE + timedelta(days=20))
    assert dict(summary.sent) == {3: 2} and summary.skipped == {"superseded": 2}
    assert {r.invoice_id for r in Reminder.objects.all()} == {disputed.pk, paused.pk}


def test_a_dry_run_changes_nothing(company: Company, issue: Any) -> None:
    issue()
    before = state()
    summary = run_on(DUE + timedelta(days=30), dry_run=True)
    assert dict(summary.sent) == {4: 1} and summary.skipped == {"superseded": 2}
    assert state() == before
    assert not ReminderLevel.objects.exists()  # not even the default policy is written


def test_a_disabled_policy_sends_nothing(company: Company, issue: Any) -> None:
    reminder_policy_set(
        company, [LevelData(1, "Rappel", 7, enabled=False)], by=SYS
    )  # fmt: skip
    issue()
    assert run_on(DUE + timedelta(days=100)).total_sent == 0


# -- by hand --------------------------------------------------------------------------------


def test_send_now(company: Company, customer: Customer, issue: Any) -> None:
    inv = issue()
    customer_reminders_pause(customer, paused=True, by=SYS)  # a person may still remind
    reminder = reminder_send_now(inv, by=Actor.system("cli:anne"), today=DUE + timedelta(days=3))
    assert (reminder.manual, reminder.level, reminder.days_late, reminder.created_by) == (
        True, None, 3, "cli:anne",
    )  # fmt: skip
    assert reminder.message is not None and reminder.message.key == f"reminder:{reminder.pk}"
    event = AuditEvent.objects.order_by("pk").last()
    assert event is not None and event.action == "invoice.reminder_sent"
    # A reminder by hand uses up no level: the pass still sends level 2 on its day.
    customer_reminders_pause(customer, paused=False, by=SYS)
    assert dict(run_on(DUE + timedelta(days=7)).sent) == {2: 1}


def test_send_now_is_refused_with_nothing_changed(
    company: Company, customer: Customer, make_draft: Any, issue: Any
) -> None:
    draft = make_draft()
    paid, disputed, credited = issue(), issue(), issue()
    with at(ISSUE):
        payment_record(
            customer=customer, amount=D("1200.00"), received_on=ISSUE, method="transfer",
            allocations=[(paid, D("1200.00"))], actor=SYS,
        )  # fmt: skip
    invoice_dispute_set(disputed, disputed=True, by=SYS)
    with at(ISSUE + timedelta(days=1)):
        note = credit_note_create(credited, actor=SYS, reason="Annulée")
    before = state()
    for inv, message in [
        (draft, "a draft cannot be reminded"),
        (paid, f"{paid.number} is paid"),
        (credited, f"{credited.number} is paid (or cancelled by a credit note)"),
        (note, f"{note.number} is a credit note"),
        (disputed, f"{disputed.number} is disputed: clear the dispute"),
    ]:
        with pytest.raises(NotAllowed, match=re.escape(message)):
            reminder_send_now(inv, by=SYS, today=DUE)
    assert state() == before


# -- disputes and pauses --------------------------------------------------------------------


def test_dispute_flag(company: Company, make_draft: Any, issue: Any) -> None:
    inv = issue()
    events = AuditEvent.objects.count()
    invoice_dispute_set(inv, disputed=True, by=SYS)
    invoice_dispute_set(inv, disputed=True, by=SYS)  # already: nothing recorded
    inv.refresh_from_db()
    assert inv.disputed
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)[events:])
    assert actions == ["invoice.disputed"]
    invoice_dispute_set(inv, disputed=False, by=SYS)
    assert AuditEvent.objects.order_by("pk").last().action == "invoice.dispute_cleared"  # type: ignore[union-attr]
    with at(ISSUE + timedelta(days=1)):
        note = credit_note_create(inv, actor=SYS, reason="x")
    draft = make_draft()
    before = state()
    with pytest.raises(NotAllowed, match="only an issued invoice"):
        invoice_dispute_set(draft, disputed=True, by=SYS)
    with pytest.raises(NotAllowed, match="a credit note cannot be disputed"):
        invoice_dispute_set(note, disputed=True, by=SYS)
    assert state() == before


def test_pause_and_resume(customer: Customer) -> None:
    customer_reminders_pause(customer, paused=True, by=SYS)
    customer.refresh_from_db()
    assert customer.reminders_paused
    assert AuditEvent.objects.order_by("pk").last().action == "customer.reminders_paused"  # type: ignore[union-attr]


# -- the worker's daily job -----------------------------------------------------------------


def test_the_worker_runs_the_pass_once_a_day_from_the_billing_hour(
    company: Company, issue: Any
) -> None:
    from facturier.worker.loop import JOBS, Worker

    assert Worker.remind_due_companies in JOBS
    issue()
    worker = Worker(name="t", stop=threading.Event())
    day = DUE + timedelta(days=7)
    # 05:30 in Paris (summer time: UTC+2) is before the 6 o'clock billing hour.
    with at(day, hour=3):
        assert worker.remind_due_companies() == 0
    assert not Reminder.objects.exists()
    with at(day, hour=4):  # 06:00 in Paris
        assert worker.remind_due_companies() == 1
    with guards_lifted():  # reminders are never deleted: only this test pretends so
        Reminder.objects.all().delete()  # a second pass the same day would send it again…
    with at(day, hour=20):
        assert worker.remind_due_companies() == 0  # …but the day's pass was done
    OutboxMessage.objects.filter(kind="email.reminder").delete()
    with at(day + timedelta(days=1), hour=5):
        assert worker.remind_due_companies() == 1  # the next day: level 2 is still due


# -- the command line -----------------------------------------------------------------------


def cli_run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_run_policy_send_list_and_dispute(company: Company, issue: Any, tmp_path: Path) -> None:
    inv = issue()
    day = (DUE + timedelta(days=7)).strftime("%d/%m/%Y")
    dry = cli_run("reminders", "run", "--as-of", day, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run (nothing changed): would send 1 reminders (level 2: 1)" in dry.output
    assert not Reminder.objects.exists()
    ahead = cli_run("reminders", "run", "--as-of", day)  # today is before that day
    assert ahead.exit_code == 2 and "make it a dry run" in ahead.output
    assert not Reminder.objects.exists()
    with at(DUE + timedelta(days=7)):
        result = cli_run("reminders", "run", "--as-of", day, "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["sent"] == {"2": 1} and data["outcomes"][0]["invoice"] == inv.number
    listed = cli_run("reminders", "list", str(inv.number))
    assert "level 2" in listed.output and "1\xa0200,00\xa0€ due" in listed.output
    assert "level 3 J+15" in listed.output and "planned" in listed.output
    assert "level 2" in cli_run("invoices", "show", str(inv.number)).output

    assert cli_run("invoices", "dispute", str(inv.number)).exit_code == 0
    refused = cli_run("reminders", "send", str(inv.number))
    assert refused.exit_code == 2 and "is disputed" in refused.output
    assert "Disputed by the customer" in cli_run("invoices", "show", str(inv.number)).output
    assert cli_run("invoices", "dispute", str(inv.number), "--clear").exit_code == 0
    assert cli_run("reminders", "send", str(inv.number)).exit_code == 0
    assert Reminder.objects.filter(manual=True).count() == 1

    shown = json.loads(cli_run("reminders", "policy", "--json").output)
    assert [r["days"] for r in shown] == [-3, 7, 15, 30]
    shown[1]["days"] = 10
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(shown))
    assert cli_run("reminders", "policy", "load", str(path)).exit_code == 0
    assert cli_run("reminders", "policy", "set", "--level", "3", "--days", "20").exit_code == 0
    assert [r.days for r in reminder_policy(company)] == [-3, 10, 20, 30]
    assert cli_run("reminders", "policy", "reset").exit_code == 0
    assert [r.days for r in reminder_policy(company)] == [-3, 7, 15, 30]


@pytest.mark.parametrize(
    "args",
    [
        ["reminders", "run", "--as-of", "31/02/2027"],
        ["reminders", "run", "--as-of", "tomorrow"],
        ["reminders", "send", "F2099-00001"],
        ["reminders", "list", "NOPE"],
        ["reminders", "pause", "NOBODY"],
        ["invoices", "dispute", "NOPE"],
        ["reminders", "policy", "set", "--level", "3"],
        ["reminders", "policy", "set", "--level", "3", "--days", "2"],
        ["reminders", "policy", "set", "--level", "7", "--days", "2"],
        ["reminders", "policy", "set", "--level", "2", "--days", "x"],
        ["reminders", "policy", "load", "/nonexistent.json"],
    ],
)
def test_cli_bad_input_exits_2_and_changes_nothing(
    company: Company, issue: Any, args: list[str]
) -> None:
    issue()
    reminder_policy(company)
    before = state()
    result = cli_run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert state() == before


def test_cli_policy_load_refuses_a_bad_file(company: Company, tmp_path: Path) -> None:
    reminder_policy(company)
    before = state()
    bad_days = [{"level": 1, "name": "a", "days": 9}, {"level": 2, "name": "b", "days": 8}]
    for content in [
        "{",
        "{}",
        '[{"level": 1, "name": "a"}]',
        '[{"level": 1, "name": "a", "days": 7, "x": 1}]',
        json.dumps(bad_days),
    ]:
        path = tmp_path / "p.json"
        path.write_text(content)
        result = cli_run("reminders", "policy", "load", str(path))
        assert result.exit_code == 2, (content, result.output)
    assert state() == before
    assert default_levels()[3].formal_notice


# -- two passes at once ---------------------------------------------------------------------


def test_a_pass_with_a_stale_view_rechecks_under_the_lock(
    company: Company, issue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass that listed the invoice before another pass sent its level (the race two
    workers have) reads what was sent again under the invoice's lock and writes nothing."""
    from facturier.billing.services import dunning

    inv = issue()
    day = DUE + timedelta(days=7)
    stale = dunning._candidates(company, reminder_policy(company), day)
    assert stale == [(inv, set())]
    assert run_on(day).total_sent == 1
    monkeypatch.setattr(dunning, "_candidates", lambda *args: stale)
    before = state()
    summary = run_on(day)
    assert summary.total_sent == 0 and summary.skipped == {"already_sent": 1}
    assert state() == before


def test_the_database_refuses_a_second_automatic_reminder_of_a_level(
    company: Company, issue: Any
) -> None:
    from django.db import IntegrityError, transaction

    inv = issue()
    run_on(DUE + timedelta(days=7))
    fields = {"invoice": inv, "sent_on": DUE, "days_late": 7, "amount_due": D(1)}
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(level=2, manual=False, **fields)
    Reminder.objects.create(level=None, manual=True, **fields)  # by hand: any number
    Reminder.objects.create(level=None, manual=True, **fields)


# The concurrent passes are other processes, on the real clock: their days must be past.
PAST_ISSUE = date(2026, 3, 2)
PAST_DUE = PAST_ISSUE + timedelta(days=30)


@pytest.fixture
def many_invoices(company: Company, make_draft: Callable[..., Invoice]) -> Iterator[list[int]]:
    with at(PAST_ISSUE):
        drafts = [make_draft().pk for _ in range(40)]
        result = invoices_issue(drafts, actor=SYS)
    assert not result.refused
    yield drafts


@pytest.mark.django_db(transaction=True)
def test_concurrent_passes_send_each_level_once(
    company: Company, many_invoices: list[int], children: Children
) -> None:
    reminder_policy(company)
    days = [PAST_DUE + timedelta(days=n) for n in (7, 15, 30)]
    for day in days:
        names = [f"pass{day:%d}-{i}" for i in range(3)]
        for name in names:
            children.start(
                name, facturier_command("reminders", "run", "--as-of", day.isoformat(), "--json")
            )
        codes = children.wait_all(timeout=120)
        assert set(codes.values()) == {0}, children.report()
        sent = [json.loads((children.workdir / f"{n}.out").read_text()) for n in names]
        assert sum(sum(s["sent"].values()) for s in sent) == len(many_invoices)
        children.procs.clear()
    pairs = list(Reminder.objects.values_list("invoice_id", "level"))
    assert sorted(pairs) == sorted((pk, lv) for pk in many_invoices for lv in (2, 3, 4))
    # One customer: one email per level (a statement of account), naming each reminder once.
    messages = OutboxMessage.objects.filter(kind="email.reminder")
    assert messages.count() == 3
    named = sorted(pk for m in messages for pk in m.payload["reminder_ids"])
    assert named == sorted(Reminder.objects.values_list("pk", flat=True))
    assert not Reminder.objects.filter(message__isnull=True).exists()
