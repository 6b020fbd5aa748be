"""The usage ledger's write path: a durable local spool, then batched COPY into PostgreSQL.

Every accepted request appends its ledger row (and its routing decision) to the spool before
the response completes; a background flusher moves sealed spool segments into PostgreSQL in
batches and deletes them only after commit. The database being away only delays rows; a
killed process leaves its segments for the next start to replay; replays cannot double a row
(primary keys, ON CONFLICT DO NOTHING).
"""

from minerva_core.ledger.records import DecisionRow, LedgerRow
from minerva_core.ledger.spool import Spool
from minerva_core.ledger.writer import LedgerWriter

__all__ = ["DecisionRow", "LedgerRow", "LedgerWriter", "Spool"]
