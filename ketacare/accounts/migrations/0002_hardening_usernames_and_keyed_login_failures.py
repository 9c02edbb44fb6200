"""Hardening (issue 16, point 2): one normalised spelling per username, and failed sign-ins kept under a keyed
digest of the name instead of its text. The old failure rows (plain text, transient throttle state) are dropped."""

from django.db import migrations, models


def normalise_usernames(apps, schema_editor):
    from ketacare.accounts.usernames import normalize_username

    apps.get_model("accounts", "LoginFailure").objects.all().delete()  # transient; their usernames are plain text
    User = apps.get_model("accounts", "User")
    taken = set(User.objects.values_list("username", flat=True))
    for user in User.objects.all().only("pk", "username"):
        wanted = normalize_username(user.username)
        if wanted == user.username:
            continue
        if wanted in taken:
            raise RuntimeError(f"users {user.username!r} and {wanted!r} would become one username; rename one first")
        taken.discard(user.username)
        taken.add(wanted)
        User.objects.filter(pk=user.pk).update(username=wanted)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunPython(normalise_usernames, migrations.RunPython.noop),
        migrations.RemoveField(model_name="loginfailure", name="username"),
        migrations.AddField(model_name="loginfailure", name="username_key",
                            field=models.CharField(db_index=True, default="", max_length=64), preserve_default=False),
        migrations.AlterField(model_name="loginfailure", name="ip",
                              field=models.GenericIPAddressField(db_index=True, null=True)),
    ]
