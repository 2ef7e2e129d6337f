import re

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse


@pytest.mark.django_db
def test_password_reset_by_email_lets_the_client_choose_a_new_password(client, client_account):
    response = client.post(reverse("clients:password_reset"), {"email": "ANA@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("clients:password_reset_sent")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"]
    assert "Reset your" in message.subject
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)

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
def test_password_reset_link_works_once(client, client_account):
    client.post(reverse("clients:password_reset"), {"email": "ana@example.com"})
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(
        set_password_url,
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )

    again = HttpClient().get(link, follow=True)

    assert "This link no longer works" in again.content.decode()


@pytest.mark.django_db
def test_password_reset_for_unknown_email_sends_nothing_and_reveals_nothing(client, client_account):
    response = client.post(reverse("clients:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("clients:password_reset_sent")
    assert mail.outbox == []


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
