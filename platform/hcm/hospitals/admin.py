"""Admin of hospitals, their configuration versions and operator memberships (hand-written:
the hospital is the tenant itself, so the generated tenant admin does not apply)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from knox.models import AuthToken
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from hcm.hospitals import tenancy
from hcm.hospitals.config import ConfigError
from hcm.hospitals.forms import HospitalConfigForm
from hcm.hospitals.models import ConfigVersion, Hospital, Membership
from hcm.hospitals.services import hospital_config_restore, hospital_config_update
from hcm.lowcode.admin import ObjectIdAdminMixin, TenantAdminMixin


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Hospital)
class HospitalAdmin(ObjectIdAdminMixin, ModelAdmin):
    list_display = ["code", "name", "is_active", "sandbox_status", "config_version", "configuration", "updated_at"]
    search_fields = ["code", "name"]
    readonly_fields = ["sandbox_status", "config_version", "created_at", "updated_at"]
    fields = ["code", "name", "is_active", "sandbox_status", "config_version", "created_at", "updated_at"]
    actions_detail = ["edit_config"]

    def get_queryset(self, request):
        return tenancy.scope_to_operator(super().get_queryset(request), request.user, tenant_field="")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["code", "name"]  # the code is in every URL; the name comes from the config
        return fields

    @display(description=gettext_lazy("Sandbox"))
    def sandbox_status(self, obj: Hospital) -> str:
        """A badge on sandbox hospitals: their patients sign in without WeChat and their WeChat Pay
        key is public, so nobody should take one for a real hospital."""
        if not obj.config or not obj.settings.integrations.wechat.sandbox:  # no config yet on the add form
            return "-"
        if obj.sandbox_enabled:
            text, kind, title = _("Sandbox (demo)"), "warning", _("Sign-in without WeChat and sandbox WeChat Pay.")
        else:
            text, kind = _("Sandbox (refused here)"), "danger"
            title = _("This deployment refuses sandbox hospitals: their sandbox sign-in and payments are off.")
        return render_to_string("unfold/helpers/label.html", {"text": text, "type": kind, "label_title": title})

    def has_add_permission(self, request):
        return tenancy.is_platform_admin(request.user)  # new hospitals are onboarded from YAML

    def has_delete_permission(self, request, obj=None):
        return tenancy.is_platform_admin(request.user)

    def get_urls(self):
        return [
            path("<int:pk>/config/", self.admin_site.admin_view(self.config_view), name="hospitals_hospital_config"),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("Configuration"))
    def configuration(self, hospital: Hospital) -> str:
        """The list's way to the editor (the change page offers it as a button)."""
        url = reverse("admin:hospitals_hospital_config", args=[hospital.pk])
        return format_html('<a href="{}" class="text-primary-600">{}</a>', url, _("Edit configuration"))

    @action(description=gettext_lazy("Edit configuration"), url_path="edit-config", permissions=["change"])
    def edit_config(self, request, object_id):
        return redirect("admin:hospitals_hospital_config", pk=object_id)

    def config_view(self, request, pk: int):
        hospital = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, hospital):
            messages.error(request, _("You do not have permission to do this."))
            return redirect("admin:hospitals_hospital_change", pk)
        form = HospitalConfigForm(request.POST or None, hospital=hospital)
        if request.method == "POST" and form.is_valid():
            change = hospital_config_update(hospital=hospital, config=form.config, author=request.user)
            if change.changed:
                messages.success(
                    request,
                    _("Saved as version %(number)s: %(changes)s")
                    % {"number": change.version.number, "changes": "; ".join(change.changes)},
                )
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("admin:hospitals_hospital_config", pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Configuration of %(name)s") % {"name": hospital.name},
            "opts": self.opts,
            "original": hospital,
            "form": form,
            "versions": hospital.config_versions.select_related("author")[:20],
        }
        return TemplateResponse(request, "hospitals/config_form.html", context)

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            obj = self.permission_object(request, obj)  # Unfold's detail actions pass the URL's id
            if obj is None or not tenancy.can_access_hospital(request.user, obj.pk):
                return False
            if not tenancy.is_platform_admin(request.user):
                return "hospitals.change_hospital" in tenancy.hospital_permissions(request.user, obj.pk)
        return super().has_change_permission(request, obj)


@admin.register(ConfigVersion)
class ConfigVersionAdmin(TenantAdminMixin, ModelAdmin):
    list_display = ["hospital", "number", "source", "author", "created_at"]
    list_filter = ["source", ("hospital", admin.RelatedOnlyFieldListFilter)]
    readonly_fields = ["hospital", "number", "source", "author", "created_at", "diff", "config"]
    actions = ["restore"]
    actions_detail = ["restore_detail"]

    declared_select_related = ("hospital", "author")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # versions are history; restoring makes a new version

    def has_restore_permission(self, request, object_id=None):
        hospital_ids = {h.pk for h in tenancy.hospitals_with_permission(request.user, "hospitals.change_hospital")}
        if object_id is None:
            return bool(hospital_ids)
        return self.get_queryset(request).filter(pk=object_id, hospital_id__in=hospital_ids).exists()

    @action(description=gettext_lazy("Restore this version"), permissions=["restore"])
    def restore(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, _("Choose exactly one version to restore."))
            return None
        self._restore(request, queryset.get())
        return None

    @action(description=gettext_lazy("Restore this version"), url_path="restore", permissions=["restore"])
    def restore_detail(self, request, object_id):
        version = get_object_or_404(self.get_queryset(request), pk=object_id)
        self._restore(request, version)
        return redirect(reverse("admin:hospitals_configversion_changelist"))

    def _restore(self, request, version: ConfigVersion) -> None:
        if not self.has_restore_permission(request, version.pk):
            messages.error(request, _("You do not have permission to do this."))
            return
        try:
            change = hospital_config_restore(version=version, author=request.user)
        except ConfigError as error:
            messages.error(request, _("This version is no longer valid: %(error)s") % {"error": error})
            return
        if change.changed:
            messages.success(
                request,
                _("Version %(old)s restored as version %(new)s.")
                % {"old": version.number, "new": change.version.number},
            )
        else:
            messages.info(request, _("This version is already the current configuration."))


@admin.register(Membership)
class MembershipAdmin(TenantAdminMixin, ModelAdmin):
    """Hospital admins see who works for their hospital; platform admins assign roles."""

    list_display = ["user", "hospital", "role", "created_at"]
    list_filter = ["role", "hospital"]
    search_fields = ["user__username"]
    declared_select_related = ("user", "hospital")

    def get_queryset(self, request):
        if tenancy.is_platform_admin(request.user):
            return ModelAdmin.get_queryset(self, request).select_related(*self.declared_select_related)
        return super().get_queryset(request)


admin.site.unregister(User)
admin.site.unregister(Group)
# knox's own admin is not unfold's, is in English, and can mint tokens: staff tokens are issued
# by signing in and revoked by signing out (or by deactivating the operator) only.
admin.site.unregister(AuthToken)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    inlines = [MembershipInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if tenancy.is_platform_admin(request.user):
            return queryset
        ids = tenancy.visible_hospital_ids(request.user)
        return queryset.filter(memberships__hospital__in=ids).distinct()


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass
