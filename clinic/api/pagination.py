from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        # A page that is not a whole number from 1 is bad input (400); a page past the end is
        # not found (404, as DRF answers).
        number = super().get_page_number(request, paginator)
        if number == 1 or number in self.last_page_strings:
            return number
        text = str(number)
        if not (text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= 1):
            raise ValidationError({self.page_query_param: ["A page number: a whole number from 1."]})
        return text
