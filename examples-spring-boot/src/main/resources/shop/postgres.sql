-- The event store, in PostgreSQL: the ledger's events, copied by change data capture.
CREATE TABLE account_event (
  stream VARCHAR(100) NOT NULL,
  seq BIGINT NOT NULL,
  payload BYTEA NOT NULL,
  PRIMARY KEY (stream, seq)
);
