from django import forms


class CodeForm(forms.Form):
    """The second step of logging in: a code from the app, or one recovery code."""

    code = forms.CharField(label="Code from your authenticator app", max_length=16, required=False)
    recovery_code = forms.CharField(label="Recovery code", max_length=32, required=False)

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("recovery_code"):
            raise forms.ValidationError("Enter the code from your authenticator app, or a recovery code.")
        return data

    @property
    def submitted_code(self) -> str:
        return self.cleaned_data.get("code") or self.cleaned_data.get("recovery_code") or ""


class EnrolForm(forms.Form):
    code = forms.CharField(label="Code from your authenticator app", max_length=16)


class ResetForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=200, required=False)
