"""The root of the tree and the errors of the platform's own machinery: settings, database,
credentials, flow launches, the shared limits store.

Part of ``minerva_core.errors`` (the tree is in its docstring); import from there."""

from __future__ import annotations

class MinervaError(Exception):
    """Base of every error Minerva raises on purpose."""


class ConfigError(MinervaError):
    pass


class DatabaseError(MinervaError):
    pass


class EmbeddedDatabaseError(DatabaseError):
    pass


class MigrationError(DatabaseError):
    pass


class MigrationChecksumError(MigrationError):
    pass


class CredentialError(MinervaError):
    pass


class NoSecretKeysError(CredentialError):
    pass


class InvalidSecretKeyError(CredentialError):
    pass


class DecryptionError(CredentialError):
    pass


class CredentialNotFoundError(CredentialError):
    pass


class FlowLaunchError(MinervaError):
    """A flow run could not be started (the subprocess did not start, or the Prefect API
    refused the deployment run)."""


class SharedLimitsUnavailable(MinervaError):
    pass


__all__ = ['MinervaError', 'ConfigError', 'DatabaseError', 'EmbeddedDatabaseError', 'MigrationError', 'MigrationChecksumError', 'CredentialError', 'NoSecretKeysError', 'InvalidSecretKeyError', 'DecryptionError', 'CredentialNotFoundError', 'FlowLaunchError', 'SharedLimitsUnavailable']
