"""Calendar-feed pages: the private .ics feed itself (no login: the token is the credential) and
the page where a provider, or a schedule manager, copies or revokes feed URLs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from clinic.audit import audit_record
from clinic.permissions import is_staff_member

from . import feeds
from .models import Provider, Room


@require_GET
def calendar_feed(request, token: str):
    feed = feeds.feed_for_token(token)
    if feed is None:
        raise Http404
    body = feeds.feed_calendar(feed=feed)
    # Whoever holds the URL read these appointments: recorded like any other read.
    audit_record(actor=None, action="calendar_feed.fetched", target=feed.owner)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
def feed_list(request):
    if not is_staff_member(request.user):
        raise PermissionDenied
    manager = request.user.has_perm(feeds.MANAGE_PERMISSION)
    providers = Provider.objects.select_related("user").filter(is_active=True)
    if not manager:
        providers = providers.filter(user=request.user)
    rooms = Room.objects.select_related("location").filter(is_active=True) if manager else Room.objects.none()
    base = request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "scheduling/feeds.html",
        {
            "providers": [(p, base + feeds.feed_path(p)) for p in providers],
            "rooms": [(r, base + feeds.feed_path(r)) for r in rooms],
            "manager": manager,
        },
    )


@login_required
@require_POST
def feed_rotate(request, kind: str, pk: int):
    model = {"provider": Provider, "room": Room}.get(kind)
    if model is None:
        raise Http404
    owner = get_object_or_404(model, pk=pk)
    if not is_staff_member(request.user) or not feeds.feed_url_visible_to(user=request.user, owner=owner):
        raise PermissionDenied
    feeds.feed_token_rotate(owner=owner, actor=request.user)
    messages.success(
        request, f"New feed URL for {owner}. The old URL no longer works: subscribe again with the new one."
    )
    return redirect("scheduling:feeds")
