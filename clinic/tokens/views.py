"""The signed-in staff member's API tokens page: list, revoke one, revoke all.

Server-rendered; with htmx the forms swap the table in place, without it they post and come
back to the page.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clinic.views import capability_required

from . import services


def _page(request):
    """The page; for htmx, the table alone (with the message of what was just done)."""
    template = "registration/_api_tokens_table.html" if request.htmx else "registration/api_tokens.html"
    context = {
        "tokens": services.api_tokens_live(user=request.user),
        "ttl_hours": services.token_ttl().total_seconds() / 3600,
    }
    return render(request, template, context)


def _after(request):
    return _page(request) if request.htmx else redirect("tokens:list")


@capability_required()
def token_list(request):
    return _page(request)


@capability_required()
@require_POST
def token_revoke(request, pk: int):
    try:
        token = services.api_token_revoke(token_id=pk, actor=request.user)
    except services.ApiTokenNotFound:
        # Someone else's token, or one already gone: the same answer, so ids reveal nothing.
        messages.error(request, "That token no longer works (or is not yours).")
        return _after(request)
    label = f" “{token.label}”" if token.label else ""
    messages.success(request, f"Token {token.shown_prefix}…{label} revoked.")
    return _after(request)


@capability_required()
@require_POST
def token_revoke_all(request):
    count = services.api_token_revoke_all(user=request.user, actor=request.user)
    messages.success(
        request, f"{count} token{'s' if count != 1 else ''} revoked." if count else "No tokens to revoke."
    )
    return _after(request)
