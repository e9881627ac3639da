"""The one error a judge's answer can raise: it breaks the answer contract (a retryable failure)."""


class AnswerParseError(ValueError):
    """The judge's answer does not satisfy its contract. ``kind`` is a stable machine-readable category
    (``malformed_json``, ``invalid_schema``, ``missing_criterion``, or one the answer format adds)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
