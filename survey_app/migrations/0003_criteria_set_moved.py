"""Point at the criteria app's CriteriaSet (same table: state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('criteria', '0001_initial'),
        ('survey_app', '0002_seed_instrument_and_consent'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='study',
                    name='criteria_set',
                    field=models.ForeignKey(help_text="The criteria participants rate and rank (normally the 'therapeutic' set).", on_delete=django.db.models.deletion.PROTECT, to='criteria.criteriaset'),
                ),
            ],
            database_operations=[],
        ),
    ]
