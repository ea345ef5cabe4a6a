from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "hcm.wallet"
    label = "wallet"
    verbose_name = _("Balance cards")

    def ready(self) -> None:
        from hcm.patients import mypage
        from hcm.payments.payables import register_payable
        from hcm.wallet.models import Recharge
        from hcm.wallet.serializers import my_page_balance

        mypage.register_section("balance")(my_page_balance)
        register_payable(
            Recharge, on_paid="hcm.wallet.recharge.recharge_paid", on_closed="hcm.wallet.recharge.recharge_closed"
        )
