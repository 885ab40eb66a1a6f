-- The catalog and the ledger, in MySQL (MariaDB).
CREATE TABLE product (
  id BIGINT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  price_cents BIGINT NOT NULL
);
CREATE TABLE account_event (
  stream VARCHAR(100) NOT NULL,
  seq BIGINT NOT NULL,
  payload VARBINARY(2000) NOT NULL,
  PRIMARY KEY (stream, seq)
);
