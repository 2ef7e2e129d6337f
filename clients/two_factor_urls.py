from django.urls import path

from . import two_factor_views as views

app_name = "two_factor"

urlpatterns = [
    path("log-in/code/", views.verify, name="verify"),
    path("log-in/set-up/", views.set_up, name="set_up"),
    path("log-in/backup-codes/", views.backup_codes, name="backup_codes"),
    path("account/backup-codes/new/", views.new_backup_codes, name="new_backup_codes"),
]
