from django import forms
from django.contrib.auth import password_validation

from clinic.roles import Role


class _NewPasswordForm(forms.Form):
    """A new password, typed twice (the set-up link and the password change share it)."""

    new_password = forms.CharField(
        label="New password",
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password_again = forms.CharField(
        label="New password again",
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if "new_password" in self.fields and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "The two passwords are not the same.")
        return data


class LinkSetUpForm(_NewPasswordForm):
    """The set-up link's page: what the link's purpose asks for (see services.account_link_redeem)."""

    field_order = ["current_password", "new_password", "new_password_again", "code"]

    current_password = forms.CharField(
        label="Your current password", strip=False, max_length=256, widget=forms.PasswordInput
    )
    code = forms.CharField(label="Code from your authenticator app", max_length=16)

    def __init__(self, *args, needs_current: bool, needs_password: bool, needs_code: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_current:
            del self.fields["current_password"]
        if not needs_password:
            del self.fields["new_password"], self.fields["new_password_again"]
        if not needs_code:
            del self.fields["code"]


class PasswordChangeForm(_NewPasswordForm):
    field_order = ["current_password", "new_password", "new_password_again"]

    current_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class InviteForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z", max_length=150, help_text="Letters, digits and @ . + - _ only."
    )
    title = forms.CharField(max_length=20, required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False, help_text="Their own work address: the set-up link goes there.")
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)
    delivery = forms.ChoiceField(
        choices=[("email", "Email the set-up link to them"), ("show", "Show me the link to hand over")],
        initial="email",
        widget=forms.RadioSelect,
    )


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)


class DeliveryForm(forms.Form):
    delivery = forms.ChoiceField(choices=[("email", "email"), ("show", "show")], required=False)
    reason = forms.CharField(max_length=200, required=False)

    @property
    def send_email(self) -> bool:
        return self.cleaned_data.get("delivery") != "show"
