"""Writes. Every change to CRM data goes through a function here, from the API and the admin alike.

Conventions: ``<entity>_<action>``, keyword-only arguments, ``@transaction.atomic``.

The functions live in the modules of this package (access, customers, opportunities, revenue,
bulk, idempotency, write_context, history, snapshots);
every public name is re-exported here, so callers import from ``crm.services``.
"""

from .access import (
    EDITOR_PERMISSIONS,
    EDITORS_GROUP,
    GROUP_PERMISSIONS,
    READER_PERMISSIONS,
    READERS_GROUP,
    api_user_ensure,
    crm_groups_ensure,
)
from .bulk import rows_write
from .customers import (
    CUSTOMER_CID_MAX,
    CUSTOMER_CID_MIN,
    CUSTOMER_FIELDS,
    CUSTOMER_WRITABLE_FIELDS,
    customer_create,
    customer_update,
    customer_validate,
)
from .history import (
    change_purge,
    change_record,
    change_record_many,
    change_sequence,
    recorded_fields,
    row_values,
)
from .idempotency import (
    IDEMPOTENCY_CLAIM_TIMEOUT,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_RETENTION,
    IdempotencyClaim,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotentCreate,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_digest,
    idempotency_key_purge,
    idempotency_key_release,
    idempotency_request_fingerprint,
    opportunity_create_idempotent,
)
from .opportunities import (
    OPPORTUNITY_WRITABLE_FIELDS,
    OpportunityChanged,
    est_monthly_revenue_problem,
    opportunity_create,
    opportunity_delete,
    opportunity_reference_errors,
    opportunity_update,
    opportunity_update_validate,
    opportunity_validate,
    opportunity_version,
    vocabulary_message,
)
from .revenue import (
    UpsertAction,
    revenue_actual_upsert,
    revenue_actual_validate,
    revenue_target_upsert,
    revenue_target_validate,
)
from .snapshots import SnapshotResult, forecast_snapshot_take
from .write_context import WriteContext, write_context, write_context_current

__all__ = [
    "CUSTOMER_CID_MAX",
    "CUSTOMER_CID_MIN",
    "CUSTOMER_FIELDS",
    "CUSTOMER_WRITABLE_FIELDS",
    "EDITORS_GROUP",
    "EDITOR_PERMISSIONS",
    "GROUP_PERMISSIONS",
    "IDEMPOTENCY_CLAIM_TIMEOUT",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "IDEMPOTENCY_KEY_RETENTION",
    "OPPORTUNITY_WRITABLE_FIELDS",
    "READERS_GROUP",
    "READER_PERMISSIONS",
    "IdempotencyClaim",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "IdempotentCreate",
    "OpportunityChanged",
    "SnapshotResult",
    "UpsertAction",
    "WriteContext",
    "api_user_ensure",
    "change_purge",
    "change_record",
    "change_record_many",
    "change_sequence",
    "crm_groups_ensure",
    "customer_create",
    "customer_update",
    "customer_validate",
    "est_monthly_revenue_problem",
    "forecast_snapshot_take",
    "idempotency_key_claim",
    "idempotency_key_complete",
    "idempotency_key_digest",
    "idempotency_key_purge",
    "idempotency_key_release",
    "idempotency_request_fingerprint",
    "opportunity_create",
    "opportunity_create_idempotent",
    "opportunity_delete",
    "opportunity_reference_errors",
    "opportunity_update",
    "opportunity_update_validate",
    "opportunity_validate",
    "opportunity_version",
    "recorded_fields",
    "revenue_actual_upsert",
    "revenue_actual_validate",
    "revenue_target_upsert",
    "revenue_target_validate",
    "row_values",
    "rows_write",
    "vocabulary_message",
    "write_context",
    "write_context_current",
]
