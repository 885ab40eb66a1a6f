package dev.outlast.examples.spring;

import java.util.List;

/**
 * An account's history, and which source gave it.
 *
 * @param account whose
 * @param source "event-store" or "ledger"
 * @param entries in sequence order
 */
record History(String account, String source, List<Entry> entries) {
  History {
    entries = List.copyOf(entries);
  }

  /**
   * One event of the account's stream.
   *
   * @param sequence its place in the stream, from 1
   * @param event what happened, as stored (JSON)
   */
  record Entry(long sequence, String event) {}
}
