"""Every form that creates something is sent once (web/once.py): the page carries a one-time
token; the same form sent again (a double click, back and send again) creates nothing and
is answered with what the first one created; a foreign, altered, missing or expired token
is refused and saves nothing. The button that issues asks first, and buttons disable on
submit (static/web/app.js)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from facturier.billing.models import (
    Customer,
    FormToken,
    Invoice,
    Payment,
    PaymentAllocation,
    Refund,
    Subscription,
)
from facturier.billing.services import invoice_issue, payment_record
from facturier.web.once import once_token
from tests.actors import SYS
from tests.web.test_customers import FORM as CUSTOMER_FORM
from tests.web.test_invoices import _new_form as invoice_form
from tests.web.test_payments import _form as payment_form
from tests.web.test_subscriptions import _form as subscription_form

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)
TOKEN = re.compile(r'name="once" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class Case:
    page: str  # where the form is shown
    post: str  # where it is sent
    data: dict[str, Any]
    count: Callable[[], int]  # what a submission creates


def _cases(customer: Customer, make_draft: Any) -> dict[str, Callable[[], Case]]:
    def invoice(issue: bool) -> Case:
        data = invoice_form(customer, **({"issue": "1"} if issue else {"draft": "1"}))
        new = reverse("web:invoice_new")
        return Case(new, new, data, Invoice.objects.count)

    def credit_note() -> Case:
        inv = invoice_issue(make_draft(), actor=SYS)
        data = {"scope": "partial", "description": "Geste", "amount": "10",
                "vat_code": "FR-20", "kind": "services", "reason": "Retard"}  # fmt: skip
        return Case(reverse("web:invoice", args=[inv.pk]),
                    reverse("web:invoice_credit", args=[inv.pk]), data,
                    Invoice.objects.filter(doc_type="credit_note").count)  # fmt: skip

    def payment() -> Case:
        new = reverse("web:payment_new")
        return Case(new, new, payment_form(customer), Payment.objects.count)

    def on_account() -> tuple[Payment, Invoice]:
        pay = payment_record(customer=customer, amount=D("100"), received_on=NOW.date(),
                             method="transfer", actor=SYS)  # fmt: skip
        return pay, invoice_issue(make_draft(), actor=SYS)

    def allocation() -> Case:
        pay, inv = on_account()
        url = reverse("web:payment", args=[pay.pk])
        data = {"invoice": str(inv.pk), "amount": "10"}
        return Case(url, url, data, PaymentAllocation.objects.count)

    def reallocation() -> Case:
        a, b = (invoice_issue(make_draft(), actor=SYS) for _ in range(2))
        pay = payment_record(customer=customer, amount=D("120"), received_on=NOW.date(),
                             method="transfer", allocations=[(a, D("120"))], actor=SYS)  # fmt: skip
        data = {"move-source": str(a.pk), "move-amount": "10", "move-target": str(b.pk)}
        return Case(reverse("web:payment", args=[pay.pk]),
                    reverse("web:payment_reallocate", args=[pay.pk]), data,
                    PaymentAllocation.objects.filter(amount__lt=0).count)  # fmt: skip

    def refund() -> Case:
        payment_record(customer=customer, amount=D("100"), received_on=NOW.date(),
                       method="transfer", actor=SYS)  # fmt: skip
        data = {"customer": str(customer.pk), "amount": "10", "refunded_on": "2026-11-28",
                "method": "transfer", "reference": "REMB"}  # fmt: skip
        url = reverse("web:refund_new")
        return Case(f"{url}?customer={customer.pk}", url, data, Refund.objects.count)

    def credit_use() -> Case:
        _pay, inv = on_account()
        data = {"credit-invoice": str(inv.pk), "credit-amount": "10"}
        return Case(reverse("web:customer", args=[customer.pk]),
                    reverse("web:customer_use_credit", args=[customer.pk]), data,
                    PaymentAllocation.objects.count)  # fmt: skip

    def new_customer() -> Case:
        return Case("/customers/new/", "/customers/new/", CUSTOMER_FORM, Customer.objects.count)

    def subscription() -> Case:
        url = reverse("web:subscription_create")
        return Case(url, url, subscription_form(customer), Subscription.objects.count)

    def user() -> Case:
        data = {"username": "nora", "email": "nora@example.com", "role": "sales",
                "password1": "Sup3r-long-secret", "password2": "Sup3r-long-secret"}  # fmt: skip
        url = reverse("web:settings_users")
        return Case(url, url, data, User.objects.count)

    return {
        "customer": new_customer, "invoice draft": lambda: invoice(False),
        "invoice create and issue": lambda: invoice(True), "credit note": credit_note,
        "payment": payment, "allocation": allocation, "reallocation": reallocation,
        "refund": refund, "credit use": credit_use, "subscription": subscription, "user": user,
    }  # fmt: skip


FORMS = [
    "customer", "invoice draft", "invoice create and issue", "credit note", "payment",
    "allocation", "reallocation", "refund", "credit use", "subscription", "user",
]  # fmt: skip


def _token(client: Client, url: str) -> str:
    """The token of the first create form on the page (the one each case sends)."""
    page = client.get(url)
    assert page.status_code == 200
    tokens = TOKEN.findall(page.content.decode())
    assert tokens, f"no one-time token on {url}"
    return str(tokens[0])


@pytest.mark.parametrize("name", FORMS)
def test_a_form_sent_twice_creates_once(
    owner_client: Client, customer: Customer, make_draft: Any, name: str
) -> None:
    case = _cases(customer, make_draft)[name]()
    token = _token(owner_client, case.page)
    before = case.count()
    first = owner_client.post(case.post, {**case.data, "once": token})
    assert first.status_code == 302, first.content.decode()[:2000]
    assert case.count() == before + 1
    again = owner_client.post(case.post, {**case.data, "once": token}, follow=True)
    assert case.count() == before + 1  # nothing new
    assert again.redirect_chain[0][0] == first["Location"] or name == "payment"
    html = again.content.decode()
    assert "This form was already sent (28 Nov 2026 11:00): nothing new was created." in html


def test_the_replay_links_what_was_created(owner_client: Client, customer: Customer) -> None:
    token = _token(owner_client, reverse("web:payment_new"))
    owner_client.post(reverse("web:payment_new"), {**payment_form(customer), "once": token})
    payment = Payment.objects.get()
    again = owner_client.post(
        reverse("web:payment_new"), {**payment_form(customer), "once": token}, follow=True
    )
    link = f'<a href="/payments/{payment.pk}/">The payment of €150.00.</a>'
    assert link in again.content.decode()
    assert again.redirect_chain == [(f"/payments/{payment.pk}/", 302)]


def test_a_form_sent_back_with_errors_can_be_sent_again(
    owner_client: Client, customer: Customer
) -> None:
    token = _token(owner_client, reverse("web:payment_new"))
    url = reverse("web:payment_new")
    refused = owner_client.post(url, {**payment_form(customer, amount="0"), "once": token})
    assert refused.status_code == 200 and not Payment.objects.exists()
    assert not FormToken.objects.exists()  # released: the corrected form goes through
    assert owner_client.post(url, {**payment_form(customer), "once": token}).status_code == 302
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("problem", ["missing", "altered", "other user", "other form", "expired"])
def test_a_bad_token_saves_nothing(
    owner_client: Client, owner: User, accountant: User, customer: Customer, problem: str
) -> None:
    url = reverse("web:payment_new")
    token = {
        "missing": "",
        "altered": once_token(owner.pk, "payment")[:-2] + "xx",
        "other user": once_token(accountant.pk, "payment"),
        "other form": once_token(owner.pk, "refund"),
        "expired": once_token(owner.pk, "payment"),
    }[problem]
    later = NOW + timedelta(hours=24, seconds=1) if problem == "expired" else NOW
    with time_machine.travel(later, tick=False):
        owner_client.force_login(owner)  # a day later the session had ended: signed in again
        response = owner_client.post(
            url, {**payment_form(customer), "once": token}, HTTP_REFERER=f"http://testserver{url}",
            follow=True,
        )  # fmt: skip
    assert response.redirect_chain == [(f"http://testserver{url}", 302)]
    assert "This form could not be accepted" in response.content.decode()
    assert not Payment.objects.exists() and not FormToken.objects.exists()


def test_used_tokens_are_pruned_once_expired(
    owner_client: Client, owner: User, customer: Customer
) -> None:
    url = reverse("web:payment_new")
    owner_client.post(url, payment_form(customer))
    first = FormToken.objects.get()
    with time_machine.travel(NOW + timedelta(hours=26), tick=False):
        owner_client.force_login(owner)  # the session ended meanwhile: signed in again
        owner_client.post(url, payment_form(customer, received_on="2026-11-29"))
    assert Payment.objects.count() == 2
    assert list(FormToken.objects.all()) != [first]  # the first one, expired, is gone
    assert FormToken.objects.count() == 1


def test_create_and_issue_asks_first(owner_client: Client, customer: Customer) -> None:
    html = owner_client.get(reverse("web:invoice_new")).content.decode()
    button = re.search(r'<button type="submit" name="issue"[^>]*>', html)
    assert button is not None
    assert 'data-confirm="Issue this invoice? It gets its number and can never change again."' in (
        button.group(0)
    )
    # The draft's own page asks the same way (its whole form carries data-confirm).


def test_buttons_are_disabled_on_submit_by_the_vendored_script(client: Client) -> None:
    from django.contrib.staticfiles import finders

    path = finders.find("web/app.js")
    assert path is not None
    script = open(path, encoding="utf-8").read()  # noqa: SIM115
    assert "function facturierSubmitOnce()" in script and "facturierSubmitOnce();" in script
