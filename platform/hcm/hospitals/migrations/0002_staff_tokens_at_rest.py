"""Staff API tokens move to django-rest-knox (digest at rest, expiry, sign-out).

DRF's `authtoken_token` stored every token in plain text and none expired: the table is
dropped with every token in it (operators sign in again), and its app's migration records,
content type and permissions go with it so that nothing claims the table still exists.
"""

from django.db import migrations


def forget_authtoken(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS authtoken_token")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hospitals", "0001_initial"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forget_authtoken, migrations.RunPython.noop, elidable=True)]
