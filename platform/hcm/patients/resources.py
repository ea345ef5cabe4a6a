from hcm.lowcode.declarations import Resource, register
from hcm.patients.models import WechatAccount


@register
class WechatAccountResource(Resource):
    model = WechatAccount
    list_display = ["nickname", "openid", "hospital", "created_at"]
    list_filter = ["hospital"]
    search_fields = ["nickname", "openid"]
    readonly_fields = ["created_at"]
