"""Reading application/x-www-form-urlencoded bodies (the pages' forms and htmx posts)
without python-multipart: a bounded body, parsed by the standard library."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

from minerva_core.errors import InvalidParameterError

MAX_FORM_BYTES = 64 * 1024


class Form(dict[str, str]):
    """Field name -> the last value sent (``all`` has every value, for repeated fields)."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        super().__init__({k: v[-1] for k, v in values.items()})
        self.lists = values

    def all(self, name: str) -> list[str]:
        return list(self.lists.get(name, []))

    def text(self, name: str, default: str = "") -> str:
        return (self.get(name) or default).strip()

    def flag(self, name: str) -> bool:
        return self.get(name, "").lower() in ("1", "on", "true", "yes")


async def read_form(request: Request) -> Form:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", ""):
        raise InvalidParameterError("send the form as application/x-www-form-urlencoded", param="body")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidParameterError(f"the form is larger than {MAX_FORM_BYTES} bytes", param="body")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise InvalidParameterError("the form is not valid UTF-8 urlencoded data", param="body") from None
    return Form(parsed)


__all__ = ["MAX_FORM_BYTES", "Form", "read_form"]
