package dev.outlast.examples.drill;

import java.security.SecureRandom;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The only names the drill creates on a server: a fixed prefix and a run id, so that they can never
 * be a user's ({@code product} and {@code event} are among the commonest table names there are).
 * Tables {@code outlast_drill_<run id>_product} and {@code outlast_drill_<run id>_event}, the index
 * {@code outlast-drill-<run id>-orders}, and the run's directory {@code <out>/<run id>}.
 *
 * @param runId lowercase letters and digits, 1 to 16 of them: a name part in every server's syntax
 */
record DrillNames(String runId) {
  private static final Pattern RUN_ID = Pattern.compile("[a-z0-9]{1,16}");
  private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

  DrillNames {
    if (!RUN_ID.matcher(runId).matches()) {
      throw new IllegalArgumentException(
          "a run id is 1 to 16 lowercase letters and digits, was '" + runId + "'");
    }
  }

  /** A run id of 8 random characters: a clash with an earlier run is for the check to catch. */
  static DrillNames random() {
    SecureRandom r = new SecureRandom();
    StringBuilder id = new StringBuilder(8);
    for (int i = 0; i < 8; i++) {
      id.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
    }
    return new DrillNames(id.toString());
  }

  /** The product table, in MySQL. */
  String product() {
    return "outlast_drill_" + runId + "_product";
  }

  /** The event table: the event store's in PostgreSQL, and the ledger's in MySQL. */
  String event() {
    return "outlast_drill_" + runId + "_event";
  }

  /** The orders index, in Elasticsearch. */
  String index() {
    return "outlast-drill-" + runId + "-orders";
  }

  /** The tables the drill makes in MySQL. */
  List<String> mysqlTables() {
    return List.of(product(), event());
  }
}
