"""Size limits applied while a request's body arrives, never after it has all been read."""

from django.core.files.uploadhandler import TemporaryFileUploadHandler

from .processing import max_bytes, too_large

# Room for the multipart boundaries and the small form fields beside one file.
ENVELOPE_BYTES = 64 * 1024


class UploadTooLarge(Exception):
    pass


def request_too_large(request) -> bool:
    """Whether the declared Content-Length alone is past the limit (nothing read yet)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return declared > max_bytes() + ENVELOPE_BYTES


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams each file to a temporary file and stops the request as soon as one passes the
    largest limit (a body sent without a Content-Length, or a chunked one, is counted too)."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = max_bytes()
        self.received = 0

    def new_file(self, *args, **kwargs):
        self.received = 0
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge
        return super().receive_data_chunk(raw_data, start)


def limit_uploads(request) -> None:
    """Install the limited handler; call before anything reads request.POST or FILES."""
    request.upload_handlers = [LimitedUploadHandler(request)]


def too_large_error():
    return too_large(max_bytes())
