"""Patients as the API sees them: the WeChat account signed in at one hospital."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WechatAccount(models.Model):
    """A WeChat user of one hospital's official account (an openid is per app, so per hospital).

    It is the principal of the patient API scope: `request.user` there is a WechatAccount.
    """

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="wechat_accounts", verbose_name=_("hospital")
    )
    openid = models.CharField(_("openid"), max_length=64)
    nickname = models.CharField(_("nickname"), max_length=64, blank=True)
    avatar_url = models.CharField(_("avatar"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    is_patient = True
    is_active = True
    is_authenticated = True
    is_anonymous = False

    class Meta:
        verbose_name = _("WeChat account")
        verbose_name_plural = _("WeChat accounts")
        constraints = [models.UniqueConstraint(fields=["hospital", "openid"], name="wechat_account_unique_openid")]

    def __str__(self) -> str:
        return self.nickname or self.openid
