# The moved ApiToken table takes accounts' name (a rename: rows, indexes and ids stay), and the
# content type recommender.apitoken becomes accounts.apitoken, so the permissions given on it
# and admin's history of tokens follow the model instead of being left stale.

from django.db import migrations


def content_type_to(app_label: str, other: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model('contenttypes', 'ContentType')
        db = schema_editor.connection.alias
        if not ContentType.objects.using(db).filter(app_label=app_label, model='apitoken').exists():
            ContentType.objects.using(db).filter(app_label=other, model='apitoken').update(app_label=app_label)

    return move


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_apitoken_from_recommender'),
        ('recommender', '0007_apitoken_to_accounts'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelTable(name='apitoken', table=None),
        migrations.RunPython(content_type_to('accounts', 'recommender'), content_type_to('recommender', 'accounts')),
    ]
