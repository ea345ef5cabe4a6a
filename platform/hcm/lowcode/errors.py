"""One error shape for the whole API: {"code", "message", "fields"}.

`message` is for the patient (Simplified Chinese by default, through gettext); `code` is
stable for client developers; `fields` maps input names to their messages.
"""

import functools

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hcm.lowcode.throttling import throttled_message


class ApiError(exceptions.APIException):
    """A refusal with a stable code; subclasses fix the status and default message."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = gettext_lazy("The request could not be processed.")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        self.error_code = code or self.default_code
        self.fields = fields or {}


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = gettext_lazy("The request conflicts with the current state.")


class TooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = gettext_lazy("The request body is too large.")


class BadRequest(ApiError):
    default_code = "bad_request"
    default_detail = gettext_lazy("The request is invalid.")


class DomainError(Exception):
    """A service's refusal: a stable `code`, a message for the patient, the API status to answer.

    Services raise it (or a subclass) without knowing about HTTP; the API turns it into the
    one error shape and the admin shows its message.
    """

    status = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None, status: int | None = None):
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.code
        self.fields = fields or {}
        if status is not None:
            self.status = status


_DEFAULT_CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [msg for value in detail.values() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for value in detail for msg in _flatten(value)]
    return [str(detail)]


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _fields_value(value) for key, value in detail.items()}
    return {}


def _fields_value(value):
    if isinstance(value, dict):
        return {key: _fields_value(item) for key, item in value.items()}
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [_fields_value(item) for item in value]
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def exception_handler(exc, context):
    """DRF exception handler producing the one error shape; Django errors are converted first."""
    if isinstance(exc, DomainError):
        exc = _api_error(exc)
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        exc = Conflict(_("This item is still in use and cannot be deleted."), code="in_use")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        exc = _suspicious(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = error_body(code=exc.error_code, message=str(exc.detail), fields=exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        messages = _flatten(exc.detail)
        summary = messages[0] if len(messages) == 1 else _("Please correct the highlighted fields.")
        if isinstance(exc.detail, dict) and set(exc.detail) == {"non_field_errors"}:
            summary, fields = messages[0], {}
        body = error_body(code="invalid", message=summary, fields=fields)
    else:
        code = next((c for cls, c in _DEFAULT_CODES.items() if isinstance(exc, cls)), "error")
        body = error_body(code=code, message=_default_message(exc))
    return Response(body, status=response.status_code, headers=_headers(response))


def _suspicious(exc: SuspiciousOperation) -> ApiError:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), too many fields or files, a bad host (400)."""
    return TooLarge() if isinstance(exc, RequestDataTooBig) else BadRequest()


def _api_error(error: DomainError) -> ApiError:
    api_error = ApiError(error.message, code=error.code, fields=error.fields)
    api_error.status_code = error.status
    return api_error


def _default_message(exc) -> str:
    messages = {
        exceptions.NotAuthenticated: _("Please sign in first."),
        exceptions.AuthenticationFailed: _("Sign-in failed or has expired; please sign in again."),
        exceptions.PermissionDenied: _("You do not have permission to do this."),
        exceptions.NotFound: _("The requested item does not exist."),
        exceptions.MethodNotAllowed: _("This operation is not supported."),
        exceptions.Throttled: throttled_message(getattr(exc, "wait", None)),
        exceptions.ParseError: _("The request body could not be read."),
        exceptions.UnsupportedMediaType: _("Unsupported request format."),
    }
    return next((str(m) for cls, m in messages.items() if isinstance(exc, cls)), str(exc.detail))


def _headers(response) -> dict:
    return {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _json_error(error: ApiError) -> JsonResponse:
    body = error_body(code=error.error_code, message=str(error.detail), fields=error.fields)
    return JsonResponse(body, status=error.status_code)


def json_400(request, exception=None):
    """Django's 400 (a body over the size limit, too many fields, a bad host): the API shape under /api/."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    return _json_error(_suspicious(exception) if isinstance(exception, SuspiciousOperation) else BadRequest())


def json_403(request, exception=None):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(
        error_body(code="permission_denied", message=_("You do not have permission to do this.")), status=403
    )


def json_404(request, exception=None):
    """404 outside DRF views: the API shape under /api/, Django's page elsewhere."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body(code="not_found", message=_("The requested item does not exist.")), status=404)


def json_500(request):
    if not _is_api(request):
        return defaults.server_error(request)
    return JsonResponse(
        error_body(code="server_error", message=_("The service is temporarily unavailable; please try again later.")),
        status=500,
    )


def allow_methods(*methods: str):
    """For plain Django views under /api/: another method is a 405 in the error shape (with Allow)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = JsonResponse(
                    error_body(code="method_not_allowed", message=_("This operation is not supported.")), status=405
                )
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
