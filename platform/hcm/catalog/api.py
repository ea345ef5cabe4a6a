"""The one hand-written catalog endpoint: a product's detail with its items and gallery nested
(the generated public scope lists products; its rows cannot nest related rows).

Mounted under /api/v1/<hospital>/public/.
"""

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hcm.catalog.models import ExamItem, Product, ProductImage
from hcm.catalog.selectors import product_for_sale
from hcm.lowcode.api import ERROR_RESPONSE, HOSPITAL_PARAMETER
from hcm.lowcode.scoping import HospitalScopedMixin
from hcm.lowcode.serializers import ModelSerializer, serializer_for


class ExamItemPublicSerializer(ModelSerializer):
    class Meta:
        model = ExamItem
        fields = ["id", "name", "description", "clinical_significance"]


class ProductImagePublicSerializer(ModelSerializer):
    class Meta:
        model = ProductImage
        fields = ["id", "image"]


_ProductRow = serializer_for(Product, "public")


class ProductDetailSerializer(_ProductRow):
    """A list row plus what the product page shows: description, notes, items, gallery."""

    exam_items = ExamItemPublicSerializer(many=True, read_only=True)
    images = ProductImagePublicSerializer(many=True, read_only=True)

    class Meta(_ProductRow.Meta):
        fields = [*_ProductRow.Meta.fields, "description", "notes", "exam_items", "images"]
        read_only_fields = fields


class ProductDetailView(HospitalScopedMixin, APIView):
    """A checkup product or package on sale, with the examination items it includes."""

    feature = "mall"
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["public · products"],
        parameters=[HOSPITAL_PARAMETER],
        responses={200: ProductDetailSerializer, 404: ERROR_RESPONSE},
    )
    def get(self, request, hospital: str, pk: int):
        product = product_for_sale(hospital=self.hospital, product_id=pk)
        if product is None:
            raise NotFound(_("The requested item does not exist."))
        context = {"request": request, "hospital": self.hospital}
        return Response(ProductDetailSerializer(product, context=context).data)


urlpatterns = [
    path("products/<int:pk>/", ProductDetailView.as_view(), name="catalog-product-detail"),
]
