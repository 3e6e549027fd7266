import uuid

from . import context


class RequestContextMiddleware:
    """Gives each request an id and records where it came from, for audit rows and logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path.startswith("/api/"):
            source = "api"
        elif path.startswith("/p/"):
            source = "link"
        else:
            source = "web"
        ctx = context.RequestContext(
            request_id=uuid.uuid4(), ip=request.META.get("REMOTE_ADDR") or None, source=source
        )
        token = context.set_current(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = str(ctx.request_id)
        return response


class NoStoreMiddleware:
    """Keeps patient data out of browser and proxy caches: every response to a signed-in user,
    every API response and every patient-link page is `Cache-Control: no-store` (the back
    button on a shared front-desk computer must not show the last patient's chart)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        private = request.path.startswith(("/api/", "/p/")) or (user is not None and user.is_authenticated)
        if private:
            response["Cache-Control"] = "no-store"
        return response
