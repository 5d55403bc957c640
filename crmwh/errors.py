"""User-facing errors: one line that says what is wrong and what to do."""


class CrmwhError(Exception):
    """An error caused by input or configuration, reported without a stack trace."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message ('' when it has none): long messages stay one line in
    reports, audit rows and progress output."""
    return (str(exc).strip().splitlines() or [""])[0]
