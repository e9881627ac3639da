"""An evaluation's models are entrants; its judge endpoint fields match judge jobs' (data kept).

The presentation-order seed becomes ``order_seed`` so that ``seed`` means the judge's sampling seed, as on
judge jobs. Both are renames: no row changes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('evaluation', '0002_criteria_set_moved'),
    ]

    operations = [
        migrations.RenameModel(old_name='EvaluationModel', new_name='Entrant'),
        migrations.RenameField(model_name='evaluation', old_name='seed', new_name='order_seed'),
        migrations.RenameField(model_name='evaluation', old_name='judge_seed', new_name='seed'),
        migrations.AlterField(
            model_name='evaluation',
            name='seed',
            field=models.IntegerField(blank=True, help_text='Sampling seed sent to the judge.', null=True),
        ),
        migrations.AlterField(
            model_name='evaluation',
            name='base_url',
            field=models.URLField(blank=True, help_text='OpenAI-compatible endpoint.', max_length=500),
        ),
        migrations.AlterField(
            model_name='evaluation',
            name='requests_per_minute',
            field=models.FloatField(blank=True, help_text='Empty or 0: no limit.', null=True),
        ),
    ]
