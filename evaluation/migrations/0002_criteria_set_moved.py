"""Point at the criteria app's CriteriaSet (same table: state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('criteria', '0001_initial'),
        ('evaluation', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='clinicianstudy',
                    name='criteria_set',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='criteria.criteriaset'),
                ),
                migrations.AlterField(
                    model_name='evaluation',
                    name='criteria_set',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='evaluations', to='criteria.criteriaset'),
                ),
            ],
            database_operations=[],
        ),
    ]
