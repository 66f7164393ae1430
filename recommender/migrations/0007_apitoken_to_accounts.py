# ApiToken now lives in accounts (accounts/migrations/0001): it leaves recommender's state only;
# its table and rows stay, and accounts' 0002 renames the table.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('recommender', '0006_credential_generation'),
        ('accounts', '0001_apitoken_from_recommender'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='ApiToken')],
            database_operations=[],
        ),
    ]
