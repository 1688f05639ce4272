"""Use cases of the identity service, one module per area. They never commit: the
request edge owns the transaction."""
