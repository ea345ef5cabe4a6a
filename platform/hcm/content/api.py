"""The one hand-written content endpoint: every floor of the home page in one request."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.content.models import Article, Banner, Department, Doctor, Equipment, Page
from hcm.content.selectors import published_only
from hcm.lowcode.api import HOSPITAL_PARAMETER
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.serializers import serializer_for

HOME_LIMITS = {"banners": 10, "doctors": 50, "equipment": 12, "news": 6, "notices": 10}


def _published(model, hospital):
    return published_only(model.objects.filter(hospital=hospital)).order_by("sort_order", "-published_at", "pk")


def _many(model, rows, context):
    return serializer_for(model, "public", rows=True)(rows, many=True, context=context).data


def home_floors(*, hospital, context) -> dict:
    """The home page, floor by floor; a fixed number of queries whatever the content size."""
    pages = {p.kind: p for p in _published(Page, hospital)}
    doctors = list(_published(Doctor, hospital).select_related("department")[: HOME_LIMITS["doctors"]])
    articles = _published(Article, hospital)
    page_serializer = serializer_for(Page, "public")
    profile = hospital.settings.profile
    return {
        "hospital": {"code": hospital.code, "name": hospital.name, **profile.model_dump(mode="json")},
        "banners": _many(Banner, _published(Banner, hospital)[: HOME_LIMITS["banners"]], context),
        "intro": page_serializer(pages[Page.Kind.INTRO], context=context).data if Page.Kind.INTRO in pages else None,
        "checkup": {
            "intro": page_serializer(pages[Page.Kind.CHECKUP], context=context).data
            if Page.Kind.CHECKUP in pages
            else None,
            "notices": _many(
                Article, articles.filter(kind=Article.Kind.CHECKUP_NOTICE)[: HOME_LIMITS["notices"]], context
            ),
        },
        "experts": _many(Doctor, [d for d in doctors if d.is_expert], context),
        "chief_physicians": _many(Doctor, [d for d in doctors if d.is_chief], context),
        "departments": _many(Department, _published(Department, hospital), context),
        "equipment": _many(Equipment, _published(Equipment, hospital)[: HOME_LIMITS["equipment"]], context),
        "news": _many(Article, articles.filter(kind=Article.Kind.NEWS)[: HOME_LIMITS["news"]], context),
    }


def _home_schema():
    def many(model):
        return serializer_for(model, "public", rows=True)(many=True)

    return inline_serializer(
        "HomePage",
        {
            "hospital": inline_serializer(
                "HomeHospital",
                {
                    "code": serializers.CharField(),
                    "name": serializers.CharField(),
                    "phone": serializers.CharField(),
                    "address": serializers.CharField(),
                    "intro": serializers.CharField(),
                    "logo": serializers.CharField(),
                },
            ),
            "banners": many(Banner),
            "intro": serializer_for(Page, "public")(allow_null=True),
            "checkup": inline_serializer(
                "HomeCheckup",
                {"intro": serializer_for(Page, "public")(allow_null=True), "notices": many(Article)},
            ),
            "experts": many(Doctor),
            "chief_physicians": many(Doctor),
            "departments": many(Department),
            "equipment": many(Equipment),
            "news": many(Article),
        },
    )


class HomeView(HospitalScopedMixin, APIView):
    """Hospital website home page (MISSION A3): banners, intro, checkup, experts, equipment, news."""

    feature = "site"
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(tags=["public · site"], parameters=[HOSPITAL_PARAMETER], responses=_home_schema())
    def get(self, request, hospital: str):
        return Response(home_floors(hospital=self.hospital, context={"request": request}))
