"""Page forms: starting a consent, signing (patient and clinician), withdrawing, editing a form."""

from django import forms

from .exceptions import SignatureInvalid
from .models import SECTIONS, PatientConsent, Procedure, Side
from .signatures import png_from_data_url

Method = PatientConsent.SignatureMethod


class StartForm(forms.Form):
    procedure = forms.ChoiceField(choices=Procedure.choices)
    side = forms.ChoiceField(choices=[("", "Not applicable"), *Side.choices], required=False)
    details = forms.CharField(
        max_length=300,
        required=False,
        label="What exactly is planned",
        help_text="Printed on the form, e.g. 'left DAO excision with a test of the lower lip first'.",
    )


class SignatureForm(forms.Form):
    """A drawn signature (the pad's PNG) or, from the keyboard, the typed name and a confirmation."""

    name = forms.CharField(max_length=200, label="Full name of the person signing")
    method = forms.ChoiceField(
        choices=[(Method.DRAWN, "Draw my signature"), (Method.TYPED, "Type my name instead")],
        initial=Method.DRAWN,
        widget=forms.RadioSelect,
        label="How to sign",
    )
    signature = forms.CharField(required=False, widget=forms.HiddenInput)
    typed_confirm = forms.BooleanField(
        required=False, label="I confirm that typing my name above is my signature"
    )

    def __init__(self, *args, consenting: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if consenting:
            self.fields["agree"] = forms.BooleanField(
                label="I have read this form, I have been able to ask questions, and I consent to the "
                "procedure described."
            )

    def clean(self):
        data = super().clean()
        method = data.get("method")
        if method == Method.DRAWN:
            try:
                data["png"] = png_from_data_url(data.get("signature", ""))
            except SignatureInvalid as exc:
                self.add_error(None, exc.detail)
        elif method == Method.TYPED:
            data["png"] = None
            if not data.get("typed_confirm"):
                self.add_error("typed_confirm", "Tick this box to sign with your typed name.")
        return data


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label="Why is consent withdrawn"
    )


class TemplateForm(forms.Form):
    title = forms.CharField(max_length=200)
    change_note = forms.CharField(max_length=300, required=False, label="What changed in this version")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, heading in SECTIONS:
            self.fields[name] = forms.CharField(
                label=heading, max_length=20_000, widget=forms.Textarea(attrs={"rows": 6})
            )
        self.order_fields(["title", *(name for name, _ in SECTIONS), "change_note"])
