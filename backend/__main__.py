"""The state backend stack: `pulumi up` here once per account, then `pulumi login <backendUrl>`."""
import pulumi

from state_backend import StateBackend, StateBackendArgs, load_backend_settings

settings = load_backend_settings(pulumi.Config())
backend = StateBackend(f"{settings.name_prefix}-state", StateBackendArgs.from_settings(settings))

pulumi.export("backendUrl", backend.backend_url)
pulumi.export("secretsProvider", backend.secrets_provider)
pulumi.export("bucketName", backend.bucket.bucket)
pulumi.export("kmsKeyArn", backend.key.arn)
