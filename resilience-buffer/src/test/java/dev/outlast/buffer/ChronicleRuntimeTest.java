package dev.outlast.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build gives every test JVM what Chronicle Queue needs on JDK 17+ (module exports and opens)
 * and keeps its usage analytics off; this proves both in a real queue round trip.
 */
class ChronicleRuntimeTest {

  @Test
  void queueRoundTrip_worksWithTheBuildsJvmFlags(@TempDir Path dir) {
    try (ChronicleQueue queue = ChronicleQueue.singleBuilder(dir).build();
        ExcerptAppender appender = queue.createAppender()) {
      for (int i = 0; i < 1_000; i++) {
        appender.writeText("event-" + i);
      }
      ExcerptTailer tailer = queue.createTailer();
      for (int i = 0; i < 1_000; i++) {
        assertThat(tailer.readText()).isEqualTo("event-" + i);
      }
      assertThat(tailer.readText()).isNull();
    }
  }

  @Test
  void analytics_areOffAndNotOnTheClassPath() {
    assertThat(System.getProperty("chronicle.analytics.disable")).isEqualTo("true");
    assertThatThrownBy(() -> Class.forName("net.openhft.chronicle.analytics.Analytics"))
        .isInstanceOf(ClassNotFoundException.class);
  }
}
