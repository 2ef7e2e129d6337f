from django.contrib.auth import views as auth_views
from django.urls import path

from . import invitations, views

app_name = "clients"

urlpatterns = [
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/sent/", views.sign_up_sent, name="sign_up_sent"),
    path("sign-up/<uidb64>/<token>/", views.confirm_sign_up, name="confirm_sign_up"),
    path("log-in/", views.LoginView.as_view(), name="login"),
    path("log-out/", views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/details/", views.edit_contact_details, name="edit_contact_details"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/my-data/", views.my_data, name="my_data"),
    path("account/my-data/download/", views.my_data_download, name="my_data_download"),
    path("account/delete-my-data/", views.request_erasure, name="request_erasure"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="clients/password_reset_sent.html"),
        name="password_reset_sent",
    ),
    path(
        "invitation/<uidb64>/<token>/",
        invitations.AcceptInvitationView.as_view(),
        name="accept_invitation",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
