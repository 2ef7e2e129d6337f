import datetime

import pytest
import time_machine
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from appointments.models import Notice
from tests.clients.emails import emails_to, link_in
from tests.factories import ClientFactory
from tests.notices import deliver_owed_notices


@pytest.mark.django_db
def test_password_reset_by_email_lets_the_client_choose_a_new_password(client, client_account):
    response = client.post(reverse("clients:password_reset"), {"email": "ANA@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("clients:password_reset_sent")
    [message] = emails_to("ana@example.com")
    assert "Reset your" in message.subject
    assert message.extra_headers["Message-ID"].startswith("<notice-")
    link = link_in(message)

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )

    assert done.status_code == 302
    client_account.user.refresh_from_db()
    assert client_account.user.check_password("a-brand-new-passphrase")
    login = HttpClient().post(
        reverse("clients:login"),
        {"username": "ana@example.com", "password": "a-brand-new-passphrase"},
    )
    assert login.status_code == 302


@pytest.mark.django_db
def test_the_reset_email_leaves_from_the_outbox_not_during_the_request(client, client_account):
    client.post(reverse("clients:password_reset"), {"email": "ana@example.com"})

    # Nothing waits for the mail server, so a known address answers as fast as an unknown.
    assert mail.outbox == []
    notice = Notice.objects.get()
    assert (notice.kind, notice.user, notice.sent_at) == (
        "password_reset",
        client_account.user,
        None,
    )
    assert str(notice) == f"Password reset link for account #{client_account.user.pk}"


@pytest.mark.django_db
def test_the_link_is_made_when_the_email_leaves_and_works_from_then(client, client_account):
    asked = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(asked, tick=False) as clock:
        client.post(reverse("clients:password_reset"), {"email": "ana@example.com"})
        # The mail server was down for longer than a link lives.
        clock.shift(datetime.timedelta(hours=4))
        [message] = emails_to("ana@example.com")
        clock.shift(datetime.timedelta(hours=2))

        page = client.get(link_in(message), follow=True)

    assert "Choose a new password" in page.content.decode()


@pytest.mark.django_db
def test_password_reset_link_works_once(client, client_account):
    client.post(reverse("clients:password_reset"), {"email": "ana@example.com"})
    link = link_in(emails_to("ana@example.com")[0])
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(
        set_password_url,
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )

    again = HttpClient().get(link, follow=True)

    assert "This link no longer works" in again.content.decode()


@pytest.mark.django_db
def test_password_reset_for_unknown_email_sends_nothing_and_reveals_nothing(client, client_account):
    known = client.post(reverse("clients:password_reset"), {"email": "ana@example.com"})
    unknown = client.post(reverse("clients:password_reset"), {"email": "nobody@example.com"})

    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert unknown.url == reverse("clients:password_reset_sent")
    assert [message.to for message in emails_to("nobody@example.com")] == []
    assert Notice.objects.filter(user__email="nobody@example.com").count() == 0


@pytest.mark.django_db
def test_an_account_gets_at_most_three_reset_emails_an_hour(client_account, settings):
    start = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        answers = [
            # From different addresses: the account's own limit.
            ask_for_reset("ana@example.com", address=f"198.51.100.{number}")
            for number in range(settings.SPA_ACCOUNT_EMAILS_PER_HOUR + 2)
        ]
        assert len(emails_to("ana@example.com")) == settings.SPA_ACCOUNT_EMAILS_PER_HOUR

        clock.shift(datetime.timedelta(hours=1, minutes=1))
        ask_for_reset("ana@example.com", address="198.51.100.99")
        assert len(emails_to("ana@example.com")) == settings.SPA_ACCOUNT_EMAILS_PER_HOUR + 1

    # The same answer whether or not an email went out.
    assert {answer.url for answer in answers} == {reverse("clients:password_reset_sent")}


@pytest.mark.django_db
def test_one_address_gets_at_most_ten_reset_emails_an_hour_to_all_accounts(settings):
    for number in range(settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR + 2):
        ClientFactory(user__email=f"client{number}@example.com")
        ask_for_reset(f"client{number}@example.com", address="198.51.100.7")
    ask_for_reset("client0@example.com", address="203.0.113.9")

    deliver_owed_notices()
    assert len(mail.outbox) == settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR + 1
    assert mail.outbox[-1].to == ["client0@example.com"]


@pytest.mark.django_db
def test_behind_the_proxy_the_address_limit_counts_each_visitor(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for number in range(settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR + 1):
        ClientFactory(user__email=f"client{number}@example.com")
        HttpClient().post(
            reverse("clients:password_reset"),
            {"email": f"client{number}@example.com"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
        )

    deliver_owed_notices()
    assert len(mail.outbox) == settings.SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR + 1


@pytest.mark.django_db
def test_the_outbox_keeps_a_keyed_hash_of_the_visitors_address_never_the_address(
    client_account,
):
    ask_for_reset("ana@example.com", address="198.51.100.7")

    requested_from = Notice.objects.get().requested_from
    assert len(requested_from) == 64
    assert "198.51.100.7" not in requested_from


@pytest.mark.django_db
def test_no_reset_email_for_an_account_closed_before_it_left(client, client_account):
    client.post(reverse("clients:password_reset"), {"email": "ana@example.com"})
    client_account.user.is_active = False
    client_account.user.save()

    assert emails_to("ana@example.com") == []
    assert Notice.objects.get().sent_at is not None


def ask_for_reset(email: str, *, address: str):
    return HttpClient().post(
        reverse("clients:password_reset"), {"email": email}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_password_change_needs_the_old_password(logged_in, client_account, password):
    url = reverse("clients:password_change")
    wrong = logged_in.post(
        url,
        {
            "old_password": "not-it",
            "new_password1": "another-passphrase-9",
            "new_password2": "another-passphrase-9",
        },
    )
    assert "Your old password was entered incorrectly." in wrong.content.decode()

    right = logged_in.post(
        url,
        {
            "old_password": password,
            "new_password1": "another-passphrase-9",
            "new_password2": "another-passphrase-9",
        },
    )

    assert right.status_code == 302
    client_account.user.refresh_from_db()
    assert client_account.user.check_password("another-passphrase-9")
