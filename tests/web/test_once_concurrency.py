"""Two submissions of the same form at the same moment (a double click that got through, two
tabs, two web processes): one payment. The second one waits for the first's transaction on
the token's unique key, then finds it used. Runs on SQLite (the writers queue on the
database lock) and on PostgreSQL, where the first submission holds its transaction open
until the second is seen waiting on the key."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.urls import reverse

from facturier.billing import clock
from facturier.billing.models import Customer, FormToken, Payment
from facturier.web.once import once_token
from facturier.web.views import payments as payment_views
from tests.web.conftest import OnceClient
from tests.web.test_payments import _form

pytestmark = pytest.mark.django_db(transaction=True)


def _others_wait_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(cursor.fetchone()[0])


def test_two_submissions_at_once_record_one_payment(
    owner: User, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = clock.company_today(customer.company)
    data = {
        **_form(customer, received_on=today.isoformat()),
        "once": once_token(owner.pk, "payment"),
    }
    clients = [OnceClient(), OnceClient()]
    for client in clients:
        client.force_login(owner)
    record = payment_views.payment_record

    def slow_record(**kwargs: Any) -> Payment:
        payment = record(**kwargs)
        if connection.vendor == "postgresql":
            # Hold this transaction open until the other submission waits on the key.
            deadline = time.monotonic() + 10
            while not _others_wait_on_a_lock():
                assert time.monotonic() < deadline, "the other submission never waited"
                time.sleep(0.01)
        return payment

    monkeypatch.setattr(payment_views, "payment_record", slow_record)
    answers: list[Any] = [None, None]

    def send(i: int) -> None:
        try:
            answers[i] = clients[i].post(reverse("web:payment_new"), data)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [302, 302]
    payment = Payment.objects.get()  # one
    assert payment.amount == Decimal("150.00")
    assert FormToken.objects.get().result_url == f"/payments/{payment.pk}/"
    # One was told it was recorded, the other sent to it as already sent.
    assert sorted(a["Location"] for a in answers) == sorted(
        [f"/payments/{payment.pk}/", f"/payments/?customer={customer.pk}"]
    )
