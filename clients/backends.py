"""Logging in with email and password, and finding the logged-in user on each request."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ClientAwareBackend(ModelBackend):
    """Django's ModelBackend, except that it loads the user's client profile with the user.

    Nearly every page a client sees needs their profile (their appointments, their
    screening, the booking form), so one query per request finds both; and every page
    asks whether the user is a therapist (clients.two_factor.needs_second_factor).
    """

    def get_user(self, user_id):
        User = get_user_model()
        try:
            user = User._default_manager.select_related("client", "therapist").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


BACKEND = f"{ClientAwareBackend.__module__}.{ClientAwareBackend.__qualname__}"
