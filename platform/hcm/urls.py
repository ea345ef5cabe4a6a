"""Admin at /admin/, API under /api/v1/<hospital>/, OpenAPI at /api/schema/ and /api/docs/."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from hcm.hospitals.api import StaffSignOutEverywhereView, StaffSignOutView, StaffTokenView
from hcm.lowcode.api import build_urlpatterns


def healthz(request):
    """A bare view: liveness probe, and the benchmark's baseline."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/staff/token/", StaffTokenView.as_view(), name="staff-token"),
    path("api/v1/staff/token/sign-out/", StaffSignOutView.as_view(), name="staff-sign-out"),
    path("api/v1/staff/token/sign-out-everywhere/", StaffSignOutEverywhereView.as_view(), name="staff-sign-out-all"),
    path("api/v1/<slug:hospital>/", include("hcm.content.urls")),
    path("api/v1/<slug:hospital>/public/", include("hcm.catalog.api")),
    path("api/v1/<slug:hospital>/patient/", include("hcm.patients.api")),
    path("api/v1/<slug:hospital>/patient/", include("hcm.wallet.api")),
    path("api/v1/<slug:hospital>/patient/", include("hcm.mall.api")),
    path("api/v1/<slug:hospital>/patient/", include("hcm.outpatient.api")),
    path("api/v1/<slug:hospital>/patient/", include("hcm.reports.api")),
    path("api/v1/<slug:hospital>/reports/", include("hcm.reports.push")),
    path("api/v1/<slug:hospital>/", include("hcm.appointments.api")),
    path("api/v1/<slug:hospital>/payments/", include("hcm.payments.api")),
    path("api/v1/<slug:hospital>/", include("hcm.distribution.api")),
    *build_urlpatterns(),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "hcm.lowcode.errors.json_400"
handler403 = "hcm.lowcode.errors.json_403"
handler404 = "hcm.lowcode.errors.json_404"
handler500 = "hcm.lowcode.errors.json_500"
