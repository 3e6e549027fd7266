"""Page forms: drafting a letter, editing its text, sending it."""

from django import forms

from .models import BODY_MAX, SUBJECT_MAX, Letter


class DraftForm(forms.Form):
    kind = forms.ChoiceField(choices=Letter.Kind.choices, label="Kind of letter")
    encounter = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="From the record of",
        help_text="Empty: the latest consultation, operation or toxin session, as the kind needs.",
    )

    def __init__(self, *args, encounters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["encounter"].choices = [
            ("", "The latest one"),
            *(
                (e.pk, f"{e.get_kind_display()}, {e.occurred_at:%-d %b %Y} ({e.clinician.display_name})")
                for e in encounters
            ),
        ]


class EditForm(forms.Form):
    subject = forms.CharField(max_length=SUBJECT_MAX)
    body = forms.CharField(
        max_length=BODY_MAX,
        label="Letter",
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text="Leave a blank line between paragraphs. Lines starting with '-' print as a list.",
        strip=False,
    )


class SendForm(forms.Form):
    to_gp = forms.BooleanField(required=False, label="The GP")
    to_referrer = forms.BooleanField(required=False, label="The referrer")
    to_patient = forms.BooleanField(required=False, label="A copy to the patient")
