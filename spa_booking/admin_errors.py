"""Admin pages that write through a domain service show its refusal on the form."""

from django import forms
from django.http import HttpRequest


class ServiceErrorInFormMixin:
    """When save_model's service refuses (one of `service_errors`), the whole save
    rolls back and the same form is shown again with what staff typed and the
    service's message, instead of a 500 page or a false "changed successfully"."""

    service_errors: tuple[type[Exception], ...] = ()

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form_class

        class WithServiceError(form_class):
            def clean(self):
                super().clean()
                raise forms.ValidationError(error.message)

        return WithServiceError

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except self.service_errors as error:
            request._service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)
