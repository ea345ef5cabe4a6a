"""The hospital website (MISSION A3): banners, pages, departments, doctors, equipment, articles.

Every piece of content follows one publishing workflow: draft -> published -> archived
(and back to draft); only published content is public.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from hcm.lowcode.transitions import condition


class PublishState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


@condition(_("Required content is missing; complete it before publishing."))
def has_required_content(content: "Publishable") -> bool:
    return all(getattr(content, name) for name in content.publish_requires)


class Publishable(FSMModelMixin, models.Model):
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    state = FSMField(_("status"), default=PublishState.DRAFT, choices=PublishState.choices, protected=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0, help_text=_("Smaller comes first."))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    archive_reason = models.CharField(_("archive reason"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    publish_requires: tuple[str, ...] = ()

    class Meta:
        abstract = True
        ordering = ["sort_order", "-published_at", "pk"]

    @transition(
        field="state",
        source=[PublishState.DRAFT],
        target=PublishState.PUBLISHED,
        conditions=[has_required_content],
        custom={"label": _("Publish")},
    )
    def publish(self) -> None:
        self.published_at = timezone.now()
        self.archive_reason = ""

    @transition(
        field="state", source=[PublishState.PUBLISHED], target=PublishState.DRAFT, custom={"label": _("Withdraw")}
    )
    def withdraw(self) -> None:
        pass

    @transition(
        field="state",
        source=[PublishState.DRAFT, PublishState.PUBLISHED],
        target=PublishState.ARCHIVED,
        custom={"label": _("Archive"), "form": "hcm.content.forms.ArchiveForm"},
    )
    def archive(self, reason: str) -> None:
        self.archive_reason = reason

    @transition(
        field="state",
        source=[PublishState.ARCHIVED],
        target=PublishState.DRAFT,
        custom={"label": _("Restore to draft")},
    )
    def restore(self) -> None:
        pass


class Banner(Publishable):
    title = models.CharField(_("title"), max_length=100)
    image = models.ImageField(_("image"), upload_to="banners/", blank=True)
    link_url = models.CharField(
        _("link"), max_length=300, blank=True, help_text=_("A page of the app or a web address.")
    )

    publish_requires = ("title", "image")

    class Meta(Publishable.Meta):
        verbose_name = _("carousel banner")
        verbose_name_plural = _("carousel banners")
        constraints = [models.UniqueConstraint(fields=["hospital", "title"], name="banner_unique_title")]

    def __str__(self) -> str:
        return self.title


class Page(Publishable):
    class Kind(models.TextChoices):
        INTRO = "intro", _("Hospital introduction")
        CHECKUP = "checkup", _("Health checkup centre")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100)
    image = models.ImageField(_("image"), upload_to="pages/", blank=True)
    body = models.TextField(_("body"))

    publish_requires = ("title", "body")

    class Meta(Publishable.Meta):
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        constraints = [models.UniqueConstraint(fields=["hospital", "kind"], name="page_unique_kind")]

    def __str__(self) -> str:
        return self.title


class Department(Publishable):
    name = models.CharField(_("name"), max_length=50)
    intro = models.TextField(_("introduction"), blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)

    publish_requires = ("name",)

    class Meta(Publishable.Meta):
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="department_unique_name")]

    def __str__(self) -> str:
        return self.name


class Doctor(Publishable):
    class Title(models.TextChoices):
        CHIEF = "chief", _("Chief physician")
        ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician")
        ATTENDING = "attending", _("Attending physician")
        RESIDENT = "resident", _("Resident physician")

    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="doctors",
        verbose_name=_("department"),
    )
    name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("title"), max_length=20, choices=Title.choices)
    specialty = models.CharField(_("specialty"), max_length=200, blank=True)
    photo = models.ImageField(_("photo"), upload_to="doctors/", blank=True)
    introduction = models.TextField(_("introduction"), blank=True)
    working_hours = models.CharField(_("working hours"), max_length=200, blank=True)
    is_expert = models.BooleanField(_("on the expert list"), default=False)

    publish_requires = ("name", "title")

    class Meta(Publishable.Meta):
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="doctor_unique_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_chief(self) -> bool:
        return self.title == self.Title.CHIEF


class Equipment(Publishable):
    name = models.CharField(_("name"), max_length=100)
    image = models.ImageField(_("image"), upload_to="equipment/", blank=True)
    description = models.TextField(_("description"), blank=True)

    publish_requires = ("name",)

    class Meta(Publishable.Meta):
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="equipment_unique_name")]

    def __str__(self) -> str:
        return self.name


class Article(Publishable):
    class Kind(models.TextChoices):
        NEWS = "news", _("Health news")
        CHECKUP_NOTICE = "checkup_notice", _("Checkup notes")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NEWS)
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    cover = models.ImageField(_("cover image"), upload_to="articles/", blank=True)
    body = models.TextField(_("body"), blank=True)

    publish_requires = ("title", "body")

    class Meta(Publishable.Meta):
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [models.UniqueConstraint(fields=["hospital", "title"], name="article_unique_title")]

    def __str__(self) -> str:
        return self.title
