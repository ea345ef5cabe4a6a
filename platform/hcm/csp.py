"""Content-Security-Policy on every response (django-csp), with the admin's one exception.

The policy is `CONTENT_SECURITY_POLICY` in settings: scripts from this origin only, never an
inline one. Swagger UI keeps to it because /api/docs/ is drf-spectacular's split view (its
start-up script is a separate request). The admin cannot: django-unfold is built on Alpine.js,
whose standard build evaluates the `x-data` and `x-on` expressions in unfold's templates with
`new Function`, so admin pages also allow 'unsafe-eval' (still no inline script, no other origin).
"""

from csp.constants import UNSAFE_EVAL
from csp.middleware import CSPMiddleware, PolicyParts
from django.urls import reverse


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(reverse("admin:index")):
            update = dict(parts.update or {})
            update["script-src"] = [*update.get("script-src", []), UNSAFE_EVAL]
            parts.update = update
        return parts
