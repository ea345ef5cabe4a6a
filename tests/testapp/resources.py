from hcm.lowcode.declarations import ALL_OPERATIONS, Resource, Scope, register
from tests.testapp.models import Note


@register
class NoteResource(Resource):
    model = Note
    feature = "mall"
    list_display = ["title", "state", "hospital"]
    list_filter = ["state", "hospital", "account"]
    import_fields = ["title", "account"]
    select_related = ["account"]
    staff = Scope(fields=["id", "title", "account", "answer", "state"], operations=ALL_OPERATIONS, transitions=True)
    patient = Scope(
        fields=["id", "title", "answer", "state"],
        operations=ALL_OPERATIONS,
        transitions=True,
        owner="account",
    )
