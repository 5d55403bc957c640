"""User-facing errors: one line that says what is wrong and what to do."""


class CrmwhError(Exception):
    """An error caused by input or configuration, reported without a stack trace."""
