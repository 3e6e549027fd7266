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
