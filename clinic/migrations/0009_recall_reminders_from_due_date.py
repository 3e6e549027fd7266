# Reinjection recall reminders are now counted from each patient's own due date rather than
# from the session: the three settings change meaning, so they are replaced (with the new
# defaults: first reminder 3 weeks before the due date, second on it, overdue 4 weeks after)
# rather than renamed. Recalls already open keep the reminders planned for them.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0008_clinic_settings_bounds'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='clinicsettings',
            name='clinic_clinicsettings_recall_weeks_ordered',
        ),
        migrations.RemoveConstraint(
            model_name='clinicsettings',
            name='clinic_clinicsettings_recall_first_reminder_weeks_range',
        ),
        migrations.RemoveConstraint(
            model_name='clinicsettings',
            name='clinic_clinicsettings_recall_second_reminder_weeks_range',
        ),
        migrations.RemoveConstraint(
            model_name='clinicsettings',
            name='clinic_clinicsettings_recall_overdue_weeks_range',
        ),
        migrations.RemoveField(
            model_name='clinicsettings',
            name='recall_first_reminder_weeks',
        ),
        migrations.RemoveField(
            model_name='clinicsettings',
            name='recall_overdue_weeks',
        ),
        migrations.RemoveField(
            model_name='clinicsettings',
            name='recall_second_reminder_weeks',
        ),
        migrations.RemoveField(
            model_name='historicalclinicsettings',
            name='recall_first_reminder_weeks',
        ),
        migrations.RemoveField(
            model_name='historicalclinicsettings',
            name='recall_overdue_weeks',
        ),
        migrations.RemoveField(
            model_name='historicalclinicsettings',
            name='recall_second_reminder_weeks',
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='recall_first_reminder_weeks_before_due',
            field=models.PositiveSmallIntegerField(default=3, help_text='Never sent before the earliest safe date of the next session.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(12)], verbose_name='first reinjection reminder (weeks before the due date)'),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='recall_overdue_weeks_after_due',
            field=models.PositiveSmallIntegerField(default=4, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(26)], verbose_name='reinjection recall overdue (weeks after the due date)'),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='recall_second_reminder_weeks_after_due',
            field=models.PositiveSmallIntegerField(default=0, help_text='0: on the due date. Sent only if the patient has still not booked, and at least a week after the first.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(12)], verbose_name='second reinjection reminder (weeks after the due date)'),
        ),
        migrations.AddField(
            model_name='historicalclinicsettings',
            name='recall_first_reminder_weeks_before_due',
            field=models.PositiveSmallIntegerField(default=3, help_text='Never sent before the earliest safe date of the next session.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(12)], verbose_name='first reinjection reminder (weeks before the due date)'),
        ),
        migrations.AddField(
            model_name='historicalclinicsettings',
            name='recall_overdue_weeks_after_due',
            field=models.PositiveSmallIntegerField(default=4, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(26)], verbose_name='reinjection recall overdue (weeks after the due date)'),
        ),
        migrations.AddField(
            model_name='historicalclinicsettings',
            name='recall_second_reminder_weeks_after_due',
            field=models.PositiveSmallIntegerField(default=0, help_text='0: on the due date. Sent only if the patient has still not booked, and at least a week after the first.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(12)], verbose_name='second reinjection reminder (weeks after the due date)'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('recall_second_reminder_weeks_after_due__lt', models.F('recall_overdue_weeks_after_due'))), name='clinic_clinicsettings_recall_weeks_ordered', violation_error_code='recall_weeks_order', violation_error_message="A recall becomes overdue after its second reminder: the overdue weeks must be more than the second reminder's weeks after the due date."),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('recall_first_reminder_weeks_before_due__gte', 0), ('recall_first_reminder_weeks_before_due__lte', 12)), name='clinic_clinicsettings_recall_first_reminder_weeks_before_due_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('recall_second_reminder_weeks_after_due__gte', 0), ('recall_second_reminder_weeks_after_due__lte', 12)), name='clinic_clinicsettings_recall_second_reminder_weeks_after_due_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('recall_overdue_weeks_after_due__gte', 1), ('recall_overdue_weeks_after_due__lte', 26)), name='clinic_clinicsettings_recall_overdue_weeks_after_due_range'),
        ),
    ]
