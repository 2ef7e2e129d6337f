"""The spa's admin site: Django's, open to staff only once they have given their second factor."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SpaAdminSite(admin.AdminSite):
    site_header = "Spa Booking administration"
    site_title = "Spa Booking admin"
    index_title = "Run the spa"

    def has_permission(self, request: HttpRequest) -> bool:
        # clients.staff_sessions sends an unverified staff session to the second-factor
        # page before it gets here; the admin holds its own door shut as well.
        verified = getattr(request.user, "is_verified", None)
        return super().has_permission(request) and verified is not None and verified()


class SpaAdminConfig(AdminConfig):
    default_site = "spa_booking.admin_site.SpaAdminSite"
