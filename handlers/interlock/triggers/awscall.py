"""AWS API calls for the job-service types: errors become TriggerError with a failure category."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ApiCall:
    """The AWS API call a start makes: `operation` as boto3 names it, `parameters` resolved (templates expanded)."""

    prefix: str  # how errors of this call begin ("glue trigger")
    service: str
    operation: str
    parameters: dict

    def prepare(self) -> None:
        """Nothing to resolve before the call (the job services take no secret references)."""

    def describe(self) -> dict:
        """The call as data: `target` is `<service>:<Operation>`; a blob parameter (a Lambda payload) as text."""
        operation = "".join(word.capitalize() for word in self.operation.split("_"))
        parameters = {
            name: value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            for name, value in self.parameters.items()
        }
        return {"target": f"{self.service}:{operation}", "parameters": parameters}

    def send(self) -> dict:
        return call(self.prefix, self.service, self.operation, **self.parameters)
