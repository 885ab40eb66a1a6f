package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outlast.core.Guard;
import dev.outlast.core.GuardConfig;
import dev.outlast.core.annotation.Guarded;
import dev.outlast.core.annotation.Outlast;
import dev.outlast.core.annotation.ReadFallback;
import dev.outlast.core.annotation.SpillOnFailure;
import dev.outlast.core.annotation.WiringException;
import dev.outlast.core.spi.Codec;
import dev.outlast.testkit.Unreachable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code @SpillOnFailure}'s logic with an in-process destination: what spills, in which order
 * events arrive, what is thrown, and each misconfiguration. A real broker going down is in {@code
 * resilience-sink-elasticsearch}'s {@code AnnotatedPublisherOutageTest}.
 */
class SpillOnFailureWiringTest {
  interface Publisher {
    @SpillOnFailure(queue = "orders")
    void publish(String event);

    @SpillOnFailure(queue = "orders")
    CompletableFuture<Void> publishAsync(String event);
  }

  /** Writes straight to the destination the queue's sink also writes to. */
  static final class Direct implements Publisher {
    private final TestSink destination;

    Direct(TestSink destination) {
      this.destination = destination;
    }

    @Override
    public void publish(String event) {
      if (event.isEmpty()) {
        throw new IllegalArgumentException("an empty event");
      }
      synchronized (destination) {
        if (destination.state == TestSink.State.DOWN) {
          throw new UncheckedIOException(new IOException("connection refused"));
        }
        destination.events.add(event);
      }
    }

    @Override
    public CompletableFuture<Void> publishAsync(String event) {
      return CompletableFuture.runAsync(() -> publish(event));
    }
  }

  @TempDir Path dir;
  private final TestSink destination = new TestSink();
  private SpillQueue<String> queue;
  private Outlast outlast;

  @BeforeEach
  void open() {
    Guard guard =
        Guard.of(
            "broker",
            GuardConfig.from(GuardConfig.broker())
                .callTimeout(Duration.ofSeconds(1))
                .openWait(Duration.ofMillis(100))
                .maxOpenWait(Duration.ofMillis(200))
                .build());
    queue =
        SpillQueue.<String>builder("orders")
            .directory(dir)
            .codec(Codec.utf8())
            .sink(destination)
            .guard(guard)
            .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(100))
            .build();
    outlast = Outlast.builder().resource("orders", queue).build();
  }

  @AfterEach
  void close() {
    outlast.close();
    queue.close();
  }

  @Test
  void outage_spillsWithoutFailingACall_andEverythingArrivesInOrder() {
    Publisher p = outlast.wrap(Publisher.class, new Direct(destination));
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 900; i++) {
      if (i == 300) {
        destination.state = TestSink.State.DOWN;
      } else if (i == 600) {
        destination.state = TestSink.State.UP; // the backlog is still there: keep behind it
      }
      String e = "e" + i;
      sent.add(e);
      if (i % 2 == 0) {
        p.publish(e);
      } else {
        p.publishAsync(e).join();
      }
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> !queue.holdsBacklog());
    assertThat(destination.events).containsExactlyElementsOf(sent);
    assertThat(queue.metrics().published()).as("events that went through the queue").isPositive();

    // With the backlog gone, calls go straight to the implementation again.
    long published = queue.metrics().published();
    p.publish("after");
    assertThat(queue.metrics().published()).isEqualTo(published);
    assertThat(destination.events).endsWith("after");
  }

  @Test
  void aBadEvent_isThrown_notSpilled() {
    Publisher p = outlast.wrap(Publisher.class, new Direct(destination));
    assertThatThrownBy(() -> p.publish("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> p.publishAsync("").join())
        .hasCauseInstanceOf(IllegalArgumentException.class);
    assertThat(queue.metrics().published()).isZero();
  }

  @Test
  void aPropertyChoosesTheQueue() throws Exception {
    try (SpillQueue<String> other =
            SpillQueue.<String>builder("other")
                .directory(dir.resolve("other"))
                .codec(Codec.utf8())
                .sink(new TestSink())
                .guard(Guard.ofDefaults("other"))
                .build();
        Outlast o =
            Outlast.builder()
                .resource("orders", queue)
                .resource("other", other)
                .properties(Map.of("outlast.spill.Publisher.publish.queue", "other"))
                .build()) {
      destination.state = TestSink.State.DOWN;
      o.wrap(Publisher.class, new Direct(destination)).publish("x");
      assertThat(other.metrics().published()).isEqualTo(1);
      assertThat(queue.metrics().published()).isZero();
    }
  }

  // ---- misconfigurations ----

  interface ReturnsValue {
    @SpillOnFailure(queue = "orders")
    String publish(String event);
  }

  interface ReturnsValueFuture {
    @SpillOnFailure(queue = "orders")
    CompletionStage<String> publish(String event);
  }

  interface TwoParameters {
    @SpillOnFailure(queue = "orders")
    void publish(String key, String event);
  }

  interface UnknownQueue {
    @SpillOnFailure(queue = "ordrs")
    void publish(String event);
  }

  interface NotAQueue {
    @SpillOnFailure(queue = "guard")
    void publish(String event);
  }

  interface WithFallback {
    @Guarded("broker")
    @SpillOnFailure(queue = "orders")
    @ReadFallback(method = "other")
    void publish(String event);

    void other(String event);
  }

  @Test
  void misconfigurations() {
    assertWiring(ReturnsValue.class)
        .hasMessageContaining("ReturnsValue.publish(String): @SpillOnFailure: the method returns")
        .hasMessageContaining("String, and a spilled call has nothing to return")
        .hasMessageContaining("Fix: return void, or CompletableFuture<Void>");
    assertWiring(ReturnsValueFuture.class)
        .hasMessageContaining("a spilled call has no java.lang.String to complete it with")
        .hasMessageContaining("Fix: return CompletionStage<Void>");
    assertWiring(TwoParameters.class)
        .hasMessageContaining("TwoParameters.publish(String, String): @SpillOnFailure: the method")
        .hasMessageContaining("takes 2 parameters");
    assertWiring(UnknownQueue.class)
        .hasMessageContaining(
            "UnknownQueue.publish(String): no spill queue is registered as 'ordrs'")
        .hasMessageContaining("resources registered are [guard, orders]");
    assertWiring(NotAQueue.class)
        .hasMessageContaining("'guard' is a java.lang.String, not a spill queue");
    assertWiring(WithFallback.class)
        .hasMessageContaining("@ReadFallback cannot be combined with @SpillOnFailure");
  }

  private <T> org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertWiring(
      Class<T> type) {
    T impl = Unreachable.implementation(type);
    Outlast o =
        Outlast.builder()
            .guard(Guard.ofDefaults("broker"))
            .resource("orders", queue)
            .resource("guard", "not a queue")
            .build();
    return assertThatThrownBy(() -> o.wrap(type, impl)).isInstanceOf(WiringException.class);
  }
}
