package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outlast.buffer.spi.Outcome;
import dev.outlast.buffer.spi.Sink;
import dev.outlast.core.Guard;
import dev.outlast.core.health.Health;
import dev.outlast.core.health.Importance;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sink whose failures and rejections quote a credential (a URL with a password, as a client
 * library's message may): the password reaches no log line, no health report, no dead letter and no
 * file of the queue.
 */
class QueueSecretsTest {
  private static final String PASSWORD = "hunter2-s3cr3t";

  @TempDir Path dir;

  private volatile boolean down = true;

  private final Sink<String> sink =
      batch -> {
        if (down) {
          return CompletableFuture.failedFuture(
              new IOException("cannot reach http://app:" + PASSWORD + "@10.0.0.7:9200/_bulk"));
        }
        List<Outcome> out = new ArrayList<>();
        for (var d : batch) {
          out.add(
              d.event().startsWith("bad")
                  ? Outcome.reject("refused by jdbc:mysql://db/x?user=app&password=" + PASSWORD)
                  : Outcome.ok());
        }
        return CompletableFuture.completedFuture(out);
      };

  @Test
  void aPasswordInSinkFailures_leavesNoTrace() throws Exception {
    PrintStream stderr = System.err;
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
    String health;
    List<DeadLetter<String>> dead;
    try (SpillQueue<String> q = SpillQueueTest.builder("secrets", dir.resolve("q"), sink).build()) {
      for (int i = 0; i < 20; i++) {
        q.publish("event-" + i);
      }
      await().until(() -> q.metrics().sinkState() == Guard.State.OPEN);
      health = Health.builder().check(q.health(Importance.CORE)).build().snapshot().toJson();
      assertThat(health).contains("10.0.0.7");
      down = false;
      q.publish("bad one");
      await().untilAsserted(() -> assertThat(q.metrics().deadLetters()).isEqualTo(1));
      dead = q.deadLetters();
    } finally {
      System.setErr(stderr);
    }
    assertThat(log.toString(StandardCharsets.UTF_8))
        .contains("circuit breaker OPEN")
        .doesNotContain(PASSWORD);
    assertThat(health).doesNotContain(PASSWORD);
    assertThat(dead.get(0).reason()).contains("password=").doesNotContain(PASSWORD);
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1))
              .as(f.toString())
              .doesNotContain(PASSWORD);
        }
      }
    }
  }
}
