from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "hcm.wallet"
    label = "wallet"
    verbose_name = _("Balance cards")

    def ready(self) -> None:
        from hcm.patients import mypage
        from hcm.wallet.serializers import my_page_balance

        mypage.register_section("balance")(my_page_balance)
