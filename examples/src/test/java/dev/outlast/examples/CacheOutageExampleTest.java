package dev.outlast.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outlast.examples.cache.CacheOutageExample;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The guide's cache example runs and says what the guide says it says. */
class CacheOutageExampleTest {

  @Test
  void example_answersThroughTheOutage_andAfterARestartDuringIt() throws Exception {
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      CacheOutageExample.main(new String[0]);
    } finally {
      System.setOut(out);
    }
    String printed = captured.toString(StandardCharsets.UTF_8);
    out.print(printed);
    assertThat(printed)
        .contains("warm: LOADED")
        .contains("mysql killed: FRESH")
        .contains("mysql killed, unknown id 3: products: no value for key")
        .contains("service restarted during the outage: STALE")
        .contains("teapot")
        .contains("mysql back: LOADED");
  }
}
