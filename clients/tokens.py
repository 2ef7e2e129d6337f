"""The one-use secrets in the links of account emails."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class SignUpTokenGenerator(PasswordResetTokenGenerator):
    """The link that finishes signing up: it works until the account is active (so once),
    for PASSWORD_RESET_TIMEOUT, like a password reset link."""

    key_salt = "clients.tokens.SignUpTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.is_active}{user.password}{timestamp}"


sign_up_token_generator = SignUpTokenGenerator()
