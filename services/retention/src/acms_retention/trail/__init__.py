"""The audit trail: every audit event stored append-only, hash-chained, and indexed."""
