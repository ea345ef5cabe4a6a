from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MallConfig(AppConfig):
    name = "hcm.mall"
    label = "mall"
    verbose_name = _("Checkup mall")

    def ready(self) -> None:
        from hcm.mall.models import Order
        from hcm.mall.selectors import cart_item_count, unpaid_order_count
        from hcm.mall.tasks import ensure_schedules
        from hcm.patients import mypage
        from hcm.payments.payables import register_payable

        register_payable(
            Order,
            on_paid="hcm.mall.services.order_paid",
            on_refunded="hcm.mall.services.order_refunded",
            on_payment_started="hcm.mall.services.order_payment_started",
        )
        post_migrate.connect(ensure_schedules, sender=self)
        mypage.register_count("unpaid_orders")(unpaid_order_count)
        mypage.register_count("cart_items")(cart_item_count)
