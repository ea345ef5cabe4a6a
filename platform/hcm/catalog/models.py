"""The checkup catalog (MISSION A4): categories, examination items, products and packages.

Categories and products follow the website's publishing workflow (draft -> published ->
archived); a product is for sale only while it and its category are published.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import transition

from hcm.content.models import Publishable, PublishState, has_required_content
from hcm.lowcode.transitions import condition

MIN_PRICE = Decimal("0.01")
MAX_AGE = 150


def category_icon_path(category: "Category", filename: str) -> str:
    return f"catalog/{category.hospital.code}/icons/{filename}"


def product_cover_path(product: "Product", filename: str) -> str:
    return f"catalog/{product.hospital.code}/covers/{filename}"


def product_image_path(image: "ProductImage", filename: str) -> str:
    return f"catalog/{image.product.hospital.code}/gallery/{filename}"


class CheckedOnSave(models.Model):
    """Validation and constraints checked before every write.

    The generated staff API does not run model validation: without this, a duplicate code or
    an original price below the price would fail in the database (a 500) instead of answering
    400 with the field named. The database constraints remain the last word.
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.clean()
        self.validate_constraints()
        super().save(*args, **kwargs)


class Category(CheckedOnSave, Publishable):
    name = models.CharField(_("name"), max_length=50)
    icon = models.ImageField(_("icon"), upload_to=category_icon_path, blank=True)

    publish_requires = ("name",)

    class Meta(Publishable.Meta):
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="catalog_category_unique_name")]

    def __str__(self) -> str:
        return self.name


class ExamItem(CheckedOnSave, models.Model):
    """One examination a package includes (blood count, ECG, abdominal ultrasound...)."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=50, blank=True, help_text=_("The item's code in the HIS, if any."))
    description = models.TextField(_("description"), blank=True)
    clinical_significance = models.TextField(_("clinical significance"), blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0, help_text=_("Smaller comes first."))

    class Meta:
        verbose_name = _("examination item")
        verbose_name_plural = _("examination items")
        ordering = ["sort_order", "pk"]
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="catalog_examitem_unique_name")]

    def __str__(self) -> str:
        return self.name


@condition(_("A package needs at least one examination item before it can be published."))
def package_has_items(product: "Product") -> bool:
    # all() rather than exists(): staff lists prefetch the items, so this reads no row twice.
    return product.kind != Product.Kind.PACKAGE or bool(product.exam_items.all())


class Product(CheckedOnSave, Publishable):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single checkup item")
        PACKAGE = "package", _("Checkup package")

    class Gender(models.TextChoices):
        ANY = "any", _("Any gender")
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("product code"), max_length=50, help_text=_("Unique within the hospital (SKU)."))
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(MIN_PRICE)], help_text=_("Yuan.")
    )
    original_price = models.DecimalField(
        _("original price"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Shown struck through; not lower than the price."),
    )
    cover = models.ImageField(_("cover image"), upload_to=product_cover_path, blank=True)
    exam_items = models.ManyToManyField(
        ExamItem, blank=True, related_name="products", verbose_name=_("examination items")
    )
    gender = models.CharField(_("suitable gender"), max_length=8, choices=Gender.choices, default=Gender.ANY)
    age_min = models.PositiveSmallIntegerField(
        _("minimum age"), null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)]
    )
    age_max = models.PositiveSmallIntegerField(
        _("maximum age"), null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)]
    )
    suitable_for = models.CharField(_("suitable population"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    notes = models.TextField(_("notes"), blank=True, help_text=_("What to know before the checkup."))
    commission_eligible = models.BooleanField(
        _("earns distribution commission"),
        default=True,
        help_text=_("Whether referrals of this product earn a commission."),
    )

    publish_requires = ("name", "price", "category", "cover")

    class Meta(Publishable.Meta):
        verbose_name = _("checkup product")
        verbose_name_plural = _("checkup products")
        constraints = [
            models.UniqueConstraint(fields=["hospital", "code"], name="catalog_product_unique_code"),
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="catalog_product_price_positive",
                violation_error_message=_("The price must be greater than zero."),
            ),
            models.CheckConstraint(
                condition=Q(original_price__isnull=True) | Q(original_price__gte=F("price")),
                name="catalog_product_original_price_not_lower",
                violation_error_message=_("The original price cannot be lower than the price."),
            ),
            models.CheckConstraint(
                condition=Q(age_min__isnull=True) | Q(age_max__isnull=True) | Q(age_min__lte=F("age_max")),
                name="catalog_product_age_range",
                violation_error_message=_("The minimum age cannot be greater than the maximum age."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The constraints across fields, reported on the field to correct."""
        price, original_price, age_min, age_max = (
            self._meta.get_field(name).to_python(getattr(self, name))
            for name in ("price", "original_price", "age_min", "age_max")
        )
        errors = {}
        if original_price is not None and price is not None and original_price < price:
            errors["original_price"] = _("The original price cannot be lower than the price.")
        if age_min is not None and age_max is not None and age_min > age_max:
            errors["age_max"] = _("The minimum age cannot be greater than the maximum age.")
        if errors:
            raise ValidationError(errors)

    @transition(
        field="state",
        source=[PublishState.DRAFT],
        target=PublishState.PUBLISHED,
        conditions=[has_required_content, package_has_items],
        custom={"label": _("Publish")},
    )
    def publish(self) -> None:
        # The body every publishable content runs, without running the state machine twice.
        Publishable.publish.__wrapped__(self)


class ProductImage(models.Model):
    """A picture of a product's gallery (the cover is on the product itself)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product"))
    image = models.ImageField(_("image"), upload_to=product_image_path)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0, help_text=_("Smaller comes first."))

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.image.name
