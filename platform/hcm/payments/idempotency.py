"""`Idempotency-Key` on pay, refund and recharge requests.

The first successful answer to a key is stored and replayed for a repeat with the same
content; a key reused with different content is refused; a repeat while the first is still
running is told so. A request that failed stores nothing, so it may be retried with its key.
"""

import functools
import hashlib
import hmac
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from hcm.lowcode.errors import DomainError
from hcm.payments.models import IdempotencyKey

HEADER = "Idempotency-Key"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    message = f"{request.method} {request.path}\n{body}".encode()
    # Keyed: bodies may carry a payment password, and a plain digest of one is easy to reverse.
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def idempotent(view_method):
    """Decorate a patient view method (request.user is the WeChat account)."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 64:
            raise DomainError(_("The Idempotency-Key is too long (64 characters at most)."), code="invalid")
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(account=request.user, key=key, fingerprint=fingerprint)
        except IntegrityError:
            record = IdempotencyKey.objects.get(account=request.user, key=key)
            if not hmac.compare_digest(record.fingerprint, fingerprint):
                raise DomainError(
                    _("This Idempotency-Key was already used for a different request."),
                    code="idempotency_key_reused",
                    status=422,
                ) from None
            if record.status_code is None:
                raise DomainError(
                    _("The first request with this Idempotency-Key is still being processed."),
                    code="idempotency_in_progress",
                    status=409,
                ) from None
            return Response(record.body, status=record.status_code, headers={"Idempotent-Replayed": "true"})
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            raise
        if 200 <= response.status_code < 300:
            IdempotencyKey.objects.filter(pk=record.pk).update(status_code=response.status_code, body=response.data)
        else:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
        return response

    return wrapper
