"""Two-factor authentication for staff: a TOTP authenticator app and single-use recovery codes
(django-otp). See docs/security.md, "Two-factor authentication"."""
