-- routing_decisions rows are written through the same durable spool as the ledger and may be
-- replayed after a crash: one decision per request, so a replay cannot double it.

DROP INDEX routing_decisions_request;
CREATE UNIQUE INDEX routing_decisions_request ON routing_decisions (request_id);
