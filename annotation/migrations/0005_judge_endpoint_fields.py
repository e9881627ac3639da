"""Judge jobs share the judge endpoint fields with evaluations: same definitions (blank, help text only)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0004_criteria_moved_to_criteria_app'),
    ]

    operations = [
        migrations.AlterField(
            model_name='judgejob',
            name='base_url',
            field=models.URLField(blank=True, help_text='OpenAI-compatible endpoint.', max_length=500),
        ),
        migrations.AlterField(
            model_name='judgejob',
            name='model',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='judgejob',
            name='prompt_template_sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='judgejob',
            name='prompt_version',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='judgejob',
            name='requests_per_minute',
            field=models.FloatField(blank=True, help_text='Empty or 0: no limit.', null=True),
        ),
        migrations.AlterField(
            model_name='judgejob',
            name='seed',
            field=models.IntegerField(blank=True, help_text='Sampling seed sent to the judge.', null=True),
        ),
    ]
