"""AWS API calls for the job-service types: errors become TriggerError with a failure category."""

from __future__ import annotations

from contextlib import contextmanager

from .. import clients
from ..models import FailureCategory
from ..redaction import clean_text
from . import TriggerError

_TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "ConcurrentRunsExceededException",
    "InternalServerError",
    "InternalServerException",
    "InternalServiceException",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "EC2ThrottledException",
    "ResourceConflictException",
}


def classify(exc: Exception) -> str:
    """TRANSIENT for throttling, 5xx and network errors; TIMEOUT for timeouts; PERMANENT otherwise."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return FailureCategory.TIMEOUT
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return (
            FailureCategory.TRANSIENT
            if clients.error_code(exc) in _TRANSIENT_CODES or status >= 500
            else FailureCategory.PERMANENT
        )
    return FailureCategory.TRANSIENT  # BotoCoreError: endpoint unreachable, connection closed, ...


@contextmanager
def aws_errors(prefix: str):
    """Turn a botocore error raised inside the block into TriggerError("<prefix>: <error>")."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise TriggerError(f"{prefix}: {clean_text(exc)}", classify(exc)) from None


def call(prefix: str, service: str, operation: str, **request) -> dict:
    """One API call (`operation` as boto3 names it); an error raises TriggerError("<prefix>: <Operation> failed: ...")
    with its category."""
    client = clients.client(service)
    with aws_errors(f"{prefix}: {client.meta.method_to_api_mapping[operation]} failed"):
        return getattr(client, operation)(**request)
