from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        # A page that is not a whole number from 1 is bad input (400); a page past the end is
        # not found (404, as DRF answers). Sent empty (``?page=``) it is no number either: the
        # schema says integer, and a client that sends nothing should send no parameter.
        if request.query_params.get(self.page_query_param) == "":
            raise ValidationError({self.page_query_param: ["A page number: a whole number from 1."]})
        number = super().get_page_number(request, paginator)
        if number == 1 or number in self.last_page_strings:
            return number
        text = str(number)
        if not (text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= 1):
            raise ValidationError({self.page_query_param: ["A page number: a whole number from 1."]})
        return text

    def get_page_size(self, request):
        # A page size that is not a whole number from 1 is bad input (400), not the default in
        # silence; a larger one than max_page_size is capped.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        text = raw.strip()
        if not (text.isascii() and text.isdigit() and int(text[:12]) >= 1):
            raise ValidationError({self.page_size_query_param: ["A page size: a whole number from 1."]})
        return min(int(text[:12]), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Number of results per page (capped at {self.max_page_size})."
        return parameters
