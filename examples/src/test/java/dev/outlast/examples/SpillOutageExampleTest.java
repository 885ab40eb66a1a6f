package dev.outlast.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.examples.buffer.SpillOutageExample;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The guide's spill-queue example runs and says what the guide says it says. */
class SpillOutageExampleTest {

  @Test
  void example_publishesThroughTheOutage_andEveryEventArrivesOnceInOrder() throws Exception {
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      SpillOutageExample.main(new String[0]);
    } finally {
      System.setOut(out);
    }
    String printed = captured.toString(StandardCharsets.UTF_8);
    out.print(printed);
    assertThat(printed)
        .contains("healthy: backlog 0")
        .contains("postgres back: backlog 0, dead letters 1")
        .contains("table: 3000 rows, 3000 distinct orders, in publish order: true");
    Matcher killed =
        Pattern.compile(
                "postgres killed: 1000 events published in \\d+ ms, none failed; backlog (\\d+)")
            .matcher(printed);
    assertThat(killed.find()).as(printed).isTrue();
    assertThat(Long.parseLong(killed.group(1))).isEqualTo(1000);
  }
}
